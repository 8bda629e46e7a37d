import { KINDS } from '../../devices/index.ts'
import type { KindDefinition, ZoneAggregate } from '../../devices/types.ts'
import type { AlertStore } from '../alerts/store.ts'
import type { Bus } from '../core/bus.ts'
import type { Registry } from '../registry/registry.ts'
import { type Db, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { Overrides } from './catalog.ts'
import { type Clock, RealClock } from './clock.ts'
import {
  type DeviceData,
  type Gates,
  RuleEngine,
  type RuleSnapshot,
  type TriggerData,
  triggerKey,
} from './engine.ts'

/**
 * The rule engine as a hub feature: feeds it from the bus, hands its signals to the alert store, and
 * persists its state — batched, every `flushMs` and at stop, never per reading — so timers in
 * progress and counters survive a restart.
 */

export const RULE_MIGRATIONS = [
  `CREATE TABLE rule_devices (
     device_id TEXT PRIMARY KEY,
     last_seen INTEGER NOT NULL,
     interval_s INTEGER,
     vals TEXT NOT NULL
   );
   CREATE TABLE rule_triggers (
     subject TEXT NOT NULL,
     alert TEXT NOT NULL,
     idx INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (subject, alert, idx)
   );`,
] as const

/** Last-seen times alone (a device repeating itself) are written at most this often; changes every flush. */
const SEEN_FLUSH_MS = 30_000

export interface RuleServiceOptions {
  db: Db
  bus: Bus
  registry: Registry
  alerts: AlertStore
  gates: Gates
  log: Logger
  clock?: Clock
  kinds?: Record<string, KindDefinition>
  flushMs?: number
}

export class RuleService {
  private engine: RuleEngine | undefined
  private readonly off: (() => void)[] = []
  private flushTimer: NodeJS.Timeout | undefined
  private readonly clock: Clock
  private seenFlushedAt = 0

  constructor(private readonly opts: RuleServiceOptions) {
    this.clock = opts.clock ?? new RealClock()
  }

  /** Validates the estate overrides (throws a config error naming the estate, alert and param), restores state, subscribes. */
  start(overrides: Overrides): void {
    const { db, bus, log } = this.opts
    migrate(db, 'rules', RULE_MIGRATIONS)
    const engine = new RuleEngine({
      clock: this.clock,
      kinds: this.opts.kinds ?? KINDS,
      overrides,
      gates: this.opts.gates,
      sink: (signal) => {
        try {
          this.opts.alerts.apply(signal)
        } catch (err) {
          log.error({ err, alert: signal.alert, subject: signal.subject }, 'alert store failed')
        }
      },
    })
    this.engine = engine
    const guard =
      <T>(what: string, fn: (payload: T) => void) =>
      (payload: T) => {
        try {
          fn(payload)
        } catch (err) {
          log.error({ err }, `rule engine failed on ${what}`)
        }
      }
    this.off.push(
      bus.on(
        'reading',
        guard('reading', (r) => engine.reading(r.device, r.values, r.receivedAt)),
      ),
      bus.on(
        'device_event',
        guard('event', (e) => engine.event(e.device, e.type, e.data, e.receivedAt)),
      ),
      bus.on(
        'device_info',
        guard('info', (i) => engine.info(i.device, i.info, i.at)),
      ),
      bus.on(
        'availability',
        guard('availability', (a) => engine.availability(a.device, a.online, a.at)),
      ),
      bus.on(
        'device_added',
        guard('device_added', ({ device }) => engine.addDevice(device)),
      ),
      bus.on(
        'device_removed',
        guard('device_removed', ({ id }) => {
          engine.removeDevice(id)
          // Rare (a person removed the device): forget its rule state at once.
          db.prepare('DELETE FROM rule_devices WHERE device_id = ?').run(id)
          db.prepare('DELETE FROM rule_triggers WHERE subject = ?').run(id)
        }),
      ),
      bus.on(
        'alert',
        guard('alert', ({ alert, entry }) => {
          // A person resolved it: the rule forgets its state and looks again from now.
          if (entry.action === 'resolved' && entry.channel !== 'rule')
            engine.resolved(alert.subject, alert.type)
        }),
      ),
    )
    engine.start(this.opts.registry.list(), this.load())
    for (const alert of this.opts.alerts.openAlerts()) {
      if (alert.condition === 'raised')
        engine.adopt(
          alert.subject,
          alert.type,
          alert.suppressed ? (alert.suppressed_reason ?? 'gated') : null,
        )
    }
    // A silence or maintenance mode that ran out while the hub was down: those alerts are notified now.
    engine.regateAll()
    const flushMs = this.opts.flushMs ?? 1000
    this.flushTimer = setInterval(() => this.flush(), flushMs)
    this.flushTimer.unref()
  }

  stop(): void {
    for (const off of this.off.splice(0)) off()
    clearInterval(this.flushTimer)
    this.engine?.stop()
    this.flush(true)
  }

  /** Parking occupancy per estate and zone (the dashboard reads it through GET /api/zones). */
  zones(estate?: string): ZoneAggregate[] {
    return this.engine?.zoneAggregates(estate) ?? []
  }

  get rules(): RuleEngine | undefined {
    return this.engine
  }

  /** Write what changed since the last flush, in one transaction. */
  flush(final = false): void {
    const engine = this.engine
    const now = this.clock.now()
    const seen = final || now - this.seenFlushedAt >= SEEN_FLUSH_MS
    if (!engine?.dirty(seen)) return
    if (seen) this.seenFlushedAt = now
    const snap = engine.takeSnapshot({ seen })
    const db = this.opts.db
    try {
      db.transaction(() => {
        const upDevice = db.prepare(
          `INSERT INTO rule_devices (device_id, last_seen, interval_s, vals) VALUES (?, ?, ?, ?)
           ON CONFLICT(device_id) DO UPDATE SET last_seen = excluded.last_seen, interval_s = excluded.interval_s, vals = excluded.vals`,
        )
        for (const [id, d] of snap.devices)
          upDevice.run(id, d.last_seen, d.interval_s ?? null, JSON.stringify(d.values))
        const upTrigger = db.prepare(
          `INSERT INTO rule_triggers (subject, alert, idx, state) VALUES (?, ?, ?, ?)
           ON CONFLICT(subject, alert, idx) DO UPDATE SET state = excluded.state`,
        )
        const del = db.prepare('DELETE FROM rule_triggers WHERE subject = ? AND alert = ? AND idx = ?')
        for (const [key, state] of snap.triggers) {
          const [subject, alert, idx] = key.split('\u0000') as [string, string, string]
          if (state) upTrigger.run(subject, alert, Number(idx), JSON.stringify(state))
          else del.run(subject, alert, Number(idx))
        }
      })()
    } catch (err) {
      this.opts.log.error({ err }, 'rule state flush failed')
    }
  }

  private load(): RuleSnapshot {
    const devices = new Map<string, DeviceData>()
    const rows = this.opts.db.prepare('SELECT * FROM rule_devices').all() as {
      device_id: string
      last_seen: number
      interval_s: number | null
      vals: string
    }[]
    for (const r of rows) {
      devices.set(r.device_id, {
        last_seen: r.last_seen,
        interval_s: r.interval_s ?? undefined,
        values: JSON.parse(r.vals),
      })
    }
    const triggers = new Map<string, TriggerData | null>()
    const trows = this.opts.db.prepare('SELECT * FROM rule_triggers').all() as {
      subject: string
      alert: string
      idx: number
      state: string
    }[]
    for (const r of trows) triggers.set(triggerKey(r.subject, r.alert, r.idx), JSON.parse(r.state))
    return { devices, triggers }
  }
}
