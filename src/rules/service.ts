import { KINDS } from '../../devices/index.ts'
import type { KindDefinition, ZoneAggregate } from '../../devices/types.ts'
import type { AlertStore } from '../alerts/store.ts'
import type { Bus, BusEvents, Device, DeviceMessage } from '../core/bus.ts'
import { CatchUpClock, type Clock, RealClock } from '../core/clock.ts'
import { comparePositions, type Position } from '../journal/journal.ts'
import type { Registry } from '../registry/registry.ts'
import { type Db, hasTable, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { Overrides } from './catalog.ts'
import { type DeviceData, type Gates, RuleEngine, type RuleSnapshot, triggerKey } from './engine.ts'
import type { TriggerData } from './state.ts'

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
  // 'consumed': the journal position the rule state above holds every record before, and the time
  // of that flush (written in the same transaction as the state).
  `CREATE TABLE rule_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
] as const

/** Where the previous runs' journalled device messages come from (the history feature's journal). */
export interface ReplaySource {
  previousEnd(): Position | undefined
  replay(
    from: Position,
    deviceOf: (id: string) => Device | undefined,
    onEvent: (e: DeviceMessage) => void,
  ): Promise<number>
  /** The rules have persisted their state up to here: earlier records may be deleted once shipped. */
  hold(pos: Position): void
}

interface Consumed extends Position {
  /** The rule engine's time at that flush: the clock catches up from here. */
  at: number
}

/**
 * The log position the persisted rule state holds every record before (`consumed`), read without a
 * running service: `zhian cluster status` shows the rules' lag from it.
 */
export function persistedPosition(db: Db): Position | undefined {
  if (!hasTable(db, 'rule_meta')) return undefined
  const row = db.prepare("SELECT value FROM rule_meta WHERE key = 'consumed'").get() as
    | { value: string }
    | undefined
  return row ? (JSON.parse(row.value) as Position) : undefined
}

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
  /** A parking zone's display name (the estate file's `zones`), for the text of its alerts. */
  zoneName?: ((estate: string, zone: string) => string | undefined) | undefined
  /** The local time zone of schedules (arming hours), the hub's `ZHIAN_REPORT_TZ`. */
  timeZone?: string | undefined
  /**
   * A cluster follower's copy: the same engine fed by the same bus, for what the dashboards read of it
   * (parking zone occupancy), but it signals nothing and writes nothing — the leader's rules do.
   */
  shadow?: boolean | undefined
}

export class RuleService {
  private engine: RuleEngine | undefined
  private readonly off: (() => void)[] = []
  private flushTimer: NodeJS.Timeout | undefined
  private readonly clock: CatchUpClock
  private seenFlushedAt = 0
  /** The journal position the persisted rule state holds everything before. */
  private consumed: Consumed | undefined
  /** The last delivered record's position (persisted as `consumed` at the next flush). */
  private delivered: Position | undefined
  private source: ReplaySource | undefined

  constructor(private readonly opts: RuleServiceOptions) {
    this.clock = new CatchUpClock(opts.clock ?? new RealClock())
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
      zoneName: this.opts.zoneName,
      timeZone: this.opts.timeZone,
      sink: (signal) => this.signal(signal),
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
        const pos = (payload as { pos?: Position }).pos
        if (pos) this.delivered = pos
      }
    const onReading = guard('reading', (r: BusEvents['reading']) =>
      engine.reading(r.device, r.values, r.receivedAt),
    )
    const onEvent = guard('event', (e: BusEvents['device_event']) =>
      engine.event(e.device, e.type, e.data, e.receivedAt),
    )
    const onInfo = guard('info', (i: BusEvents['device_info']) => engine.info(i.device, i.info, i.at))
    const onAvailability = guard('availability', (a: BusEvents['availability']) =>
      engine.availability(a.device, a.online, a.at),
    )
    this.deliver = (e) => {
      if (e.event === 'reading') {
        this.clock.advanceTo(e.payload.receivedAt)
        onReading(e.payload)
      } else if (e.event === 'device_event') {
        this.clock.advanceTo(e.payload.receivedAt)
        onEvent(e.payload)
      } else if (e.event === 'device_info') {
        this.clock.advanceTo(e.payload.at)
        onInfo(e.payload)
      } else {
        this.clock.advanceTo(e.payload.at)
        onAvailability(e.payload)
      }
    }
    this.off.push(
      bus.on('reading', onReading),
      bus.on('device_event', onEvent),
      bus.on('device_info', onInfo),
      bus.on('availability', onAvailability),
      bus.on(
        'device_added',
        guard('device_added', ({ device }) => engine.addDevice(device)),
      ),
      bus.on(
        'device_removed',
        guard('device_removed', ({ id }) => {
          engine.removeDevice(id)
          if (this.opts.shadow) return
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
    this.consumed = this.meta('consumed') as Consumed | undefined
    // Until catchUp() ends: virtual time from the last flush, so the state restored and the records
    // replayed meet their timers in the order they did before. A shadow replays nothing.
    const startedAt = this.clock.now()
    if (!this.opts.shadow) this.clock.begin(this.consumed?.at ?? startedAt)
    engine.start(this.opts.registry.list(), this.load(), startedAt)
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
    if (this.opts.shadow) return
    const flushMs = this.opts.flushMs ?? 1000
    this.flushTimer = setInterval(() => this.flush(), flushMs)
    this.flushTimer.unref()
  }

  /** Where the journal must keep the previous runs' records for catchUp() (before the journal starts). */
  keepFrom(): Position | undefined {
    return this.consumed
  }

  /**
   * Re-apply every journalled device message the persisted rule state does not yet hold — the last
   * second before a crash, PUBACKed but not yet flushed — on the clock they first met, then go live.
   * Exactly once: the state is the one of `consumed`, and a signal the alert store already holds (same
   * alert, transition and time) is not applied again. Must follow start(), before live traffic;
   * without a source (journal off) it only goes live.
   */
  async catchUp(source?: ReplaySource): Promise<void> {
    const end = source?.previousEnd()
    if (source && end) {
      this.source = source
      if (this.consumed && comparePositions(this.consumed, end) > 0) {
        // The journal was deleted or replaced: its positions no longer mean what they meant.
        this.opts.log.warn('the journal is older than the rule state: nothing to replay')
        this.consumed = undefined
      }
      // No position yet (a new installation, or state kept before positions were): nothing to replay.
      const from = this.consumed ?? end
      this.opts.log.debug({ from, end, clock: this.clock.now() }, 'rules catching up on the journal')
      const replayed = await source.replay(
        { segment: from.segment, offset: from.offset },
        (id) => this.opts.registry.get(id),
        (e) => {
          this.opts.log.debug({ event: e.event, device: e.payload.device.id, pos: e.payload.pos }, 'replayed')
          this.deliver(e)
        },
      )
      if (replayed > 0) this.opts.log.info({ replayed }, 'journalled readings re-applied to the rules')
      this.delivered ??= end
    }
    this.clock.end()
    this.flush(true)
  }

  /** Set in start(): hands one journalled message to the engine as its bus listener would. */
  private deliver: (e: DeviceMessage) => void = () => {}

  /** An engine signal → the alert store; while catching up, only what the store does not hold yet. */
  private signal(signal: Parameters<AlertStore['apply']>[0]): void {
    const { alerts, log } = this.opts
    if (this.opts.shadow) return
    try {
      if (this.clock.catchingUp) {
        const held = alerts.hasTransition(signal)
        log.debug(
          { alert: signal.alert, subject: signal.subject, op: signal.op, at: signal.at, held },
          'catch-up signal',
        )
        if (held) return
      }
      alerts.apply(signal)
    } catch (err) {
      log.error({ err, alert: signal.alert, subject: signal.subject }, 'alert store failed')
    }
  }

  private meta(key: string): unknown {
    const row = this.opts.db.prepare('SELECT value FROM rule_meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined
    return row ? JSON.parse(row.value) : undefined
  }

  private setMeta(key: string, value: unknown): void {
    this.opts.db
      .prepare(
        'INSERT INTO rule_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value))
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
    if (this.opts.shadow) return
    const engine = this.engine
    const now = this.clock.now()
    const seen = final || now - this.seenFlushedAt >= SEEN_FLUSH_MS
    const moved =
      this.delivered !== undefined &&
      (this.consumed === undefined || comparePositions(this.delivered, this.consumed) > 0)
    if (!engine || (!engine.dirty(seen) && !moved)) return
    if (seen) this.seenFlushedAt = now
    const snap = engine.takeSnapshot({ seen })
    const db = this.opts.db
    const consumed: Consumed | undefined = this.delivered && { ...this.delivered, at: now }
    try {
      db.transaction(() => {
        if (consumed) this.setMeta('consumed', consumed)
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
      if (consumed) {
        this.consumed = consumed
        this.source?.hold(consumed)
      }
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
