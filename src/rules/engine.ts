import type {
  CountTrigger,
  EventTrigger,
  HeldTrigger,
  KindDefinition,
  ParamValues,
  RateTrigger,
  RuleContext,
  Severity,
  Text,
  Trigger,
  ZoneAggregate,
  ZoneTrigger,
} from '../../devices/types.ts'
import type { Device } from '../core/bus.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { buildCatalog, type Catalog, type CatalogAlert, type Overrides, resolveOverrides } from './catalog.ts'
import { render } from './template.ts'

/**
 * The rule engine's pure core: per-subject state (a device, or a parking zone), triggers built from
 * the primitives in devices/types.ts, timers from an injected Clock. It does no I/O: it emits
 * RuleSignals (raise / clear) to a sink and hands its state to whoever persists it (snapshot /
 * restore). Per reading it evaluates the alerts of that device's kind only and allocates nothing
 * unless something changes.
 */

export interface RuleSignal {
  /** `unsuppress`: the gate (service mode, silence, maintenance) of a still-raised suppressed alert ended. */
  op: 'raise' | 'clear' | 'unsuppress'
  /** `<kind>.<type>` */
  alert: string
  kind: string
  /** What the alert is about: a device id, or `zone:<estate>:<zone>`. */
  subject: string
  device: Device | undefined
  site: Device['site']
  severity: Severity
  latched: boolean
  crew: string
  title: Text
  message: Text
  values: Record<string, unknown>
  at: number
  /** Why it is recorded but not notified (gating), or null. */
  suppressed: string | null
  /** A cleared trigger of an open alert raised again (or an event repeated). */
  retrigger: boolean
  /** A re-trigger because what the alert is about changed (a new service mode): its severity replaces the old one. */
  changed?: boolean
}

export interface Gates {
  /** A silence or maintenance mode covering this alert now, as a reason, else undefined. */
  suppression(device: Device | undefined, estate: string, alert: string, at: number): string | undefined
  /** The next time after `at` a silence or maintenance mode starts or ends (the engine looks again then). */
  nextChange?(at: number): number | undefined
  /** Call `fn` when a silence or maintenance mode is added, ended or deleted; returns the unsubscribe. */
  watch?(fn: () => void): () => void
}

const IDLE = 0
const PENDING = 1
const RAISED = 2
const CLEARING = 3
type Phase = typeof IDLE | typeof PENDING | typeof RAISED | typeof CLEARING

/** The persisted part of one trigger's state. */
export interface TriggerData {
  phase: Phase
  /** Pending (or raised, for event triggers) since. */
  since: number
  /** Clearing since (or last hit / last rise for count and rate). */
  mark: number
  hits?: number[]
  samples?: [number, number][]
  /** Count triggers with `episode`: when the current episode began (persisted: a movement may span a restart). */
  episodeSince?: number | undefined
}

interface TriggerRt extends TriggerData {
  subject: Subject
  alert: AlertRt
  idx: number
  trigger: Trigger
  timer: TimerHandle | undefined
}

interface AlertRt {
  entry: CatalogAlert
  subject: Subject
  params: ParamValues
  triggers: TriggerRt[]
  raised: boolean
  /** Raised while gated: the reason, until the gate ends (then it is notified). */
  gated: string | null
  /** `retriggerOn`'s value at the last raise (undefined after a restart: taken, not signalled). */
  about: unknown
}

interface Subject {
  key: string
  device: Device | undefined
  site: Device['site']
  kind: KindDefinition
  ctx: RuleContext
  alerts: AlertRt[]
  /** Offline (devices only). */
  offline: AlertRt | undefined
  lastSeen: number
  intervalS: number | undefined
  offlineTimer: TimerHandle | undefined
  /** Zone subjects: the aggregate; devices: the zone they count in. */
  agg: ZoneAggregate | undefined
  zone: Subject | undefined
  counted: boolean | undefined
  /** The kind's `estateFire` was true at the last evaluation (this device reports a fire in its estate). */
  fire: boolean
}

export interface DeviceData {
  last_seen: number
  interval_s: number | undefined
  values: Record<string, unknown>
}

export interface RuleSnapshot {
  devices: Map<string, DeviceData>
  /** key `subject\u0000alert\u0000idx` → state, or null when it went back to idle (delete). */
  triggers: Map<string, TriggerData | null>
}

export interface EngineOptions {
  clock: Clock
  kinds: Record<string, KindDefinition>
  overrides?: Overrides
  sink: (signal: RuleSignal) => void
  gates?: Gates
}

const NO_PARAMS: Record<string, unknown> = {}
const MAX_SAMPLES = 64

export function triggerKey(subject: string, alert: string, idx: number): string {
  return `${subject}\u0000${alert}\u0000${idx}`
}

export class RuleEngine {
  readonly catalog: Catalog
  private readonly byKind = new Map<string, CatalogAlert[]>()
  private readonly params: Map<string, Map<string, ParamValues>>
  private readonly subjects = new Map<string, Subject>()
  private readonly zones = new Map<string, Subject>()
  private readonly byEstate = new Map<string, Set<Subject>>()
  private readonly fires = new Map<string, Set<string>>()
  private readonly dirtyTriggers = new Set<TriggerRt>()
  /** Devices whose values changed (flushed every time) and those only seen (flushed now and then). */
  private readonly dirtyDevices = new Set<Subject>()
  private readonly seenDevices = new Set<Subject>()
  private restored: RuleSnapshot = { devices: new Map(), triggers: new Map() }
  private loading = false
  /** Raised alerts recorded as suppressed: looked at again when their gate may have ended. */
  private readonly gatedAlerts = new Set<AlertRt>()
  private gateTimer: TimerHandle | undefined
  private unwatch: (() => void) | undefined
  /** Offline windows run from here at the earliest: downtime of the hub is not device silence. */
  private startedAt: number
  private readonly clock: Clock
  private readonly sink: (signal: RuleSignal) => void
  private readonly gates: Gates | undefined
  private readonly kinds: Record<string, KindDefinition>

  constructor(opts: EngineOptions) {
    this.clock = opts.clock
    this.sink = opts.sink
    this.gates = opts.gates
    this.kinds = opts.kinds
    this.catalog = buildCatalog(opts.kinds)
    for (const entry of this.catalog.values()) {
      const list = this.byKind.get(entry.kind) ?? []
      list.push(entry)
      this.byKind.set(entry.kind, list)
    }
    // Throws a config error naming overrides.<estate>.<alert>.<param> when the file is wrong.
    this.params = resolveOverrides(this.catalog, opts.overrides ?? {})
    this.startedAt = this.clock.now()
  }

  /** The parameters in force for an alert in an estate (defaults plus the estate's overrides). */
  paramsFor(estate: string, alert: string): ParamValues | undefined {
    return this.params.get(estate)?.get(alert) ?? this.catalog.get(alert)?.defaults
  }

  // ───────────────────────── inputs ─────────────────────────

  /** Load persisted state (may be empty) and watch these devices; zones are evaluated once all are counted. */
  start(devices: Iterable<Device>, snapshot?: RuleSnapshot, startedAt = this.clock.now()): void {
    if (snapshot) this.restored = snapshot
    // Offline windows count from the hub's start, even while the clock catches up on the past.
    this.startedAt = startedAt
    this.unwatch?.()
    this.unwatch = this.gates?.watch?.(() => this.regateAll())
    this.loading = true
    try {
      for (const d of devices) this.addDevice(d)
    } finally {
      this.loading = false
    }
    const at = this.clock.now()
    for (const z of this.zones.values()) this.evaluateZone(z, at)
  }

  /** Start watching a device (offline timer, zone membership); restored state is re-armed relative to its stored times. */
  addDevice(device: Device): void {
    if (this.subjects.has(device.id)) this.removeDevice(device.id)
    const kind = this.kinds[device.kind]
    if (!kind) return
    const at = this.clock.now()
    const saved = this.restored.devices.get(device.id)
    this.restored.devices.delete(device.id)
    const sub = this.newSubject(device.id, device, device.site, kind, saved ? { ...saved.values } : {})
    sub.lastSeen = saved?.last_seen ?? at
    sub.intervalS = saved?.interval_s
    for (const entry of this.byKind.get(device.kind) ?? []) {
      if (entry.zone) continue
      const a = this.newAlert(sub, entry)
      if (entry.offline) sub.offline = a
      else sub.alerts.push(a)
    }
    this.subjects.set(device.id, sub)
    this.estateSet(device.estate).add(sub)
    for (const a of sub.alerts) for (const t of a.triggers) this.rearm(t)
    if (sub.offline?.raised !== true) this.armOffline(sub)
    this.joinZone(sub)
    this.checkFire(sub)
  }

  removeDevice(id: string): void {
    const sub = this.subjects.get(id)
    if (!sub) return
    this.subjects.delete(id)
    this.byEstate.get(sub.site.estate)?.delete(sub)
    this.clock.clearTimer(sub.offlineTimer)
    for (const a of [...sub.alerts, ...(sub.offline ? [sub.offline] : [])]) {
      for (const t of a.triggers) this.clock.clearTimer(t.timer)
      this.gatedAlerts.delete(a)
      if (a.raised && a.entry.fire) this.setFire(sub.site.estate, `${sub.key}/${a.entry.id}`, false)
    }
    if (sub.fire) {
      sub.fire = false
      this.setFire(sub.site.estate, `${sub.key}/state`, false)
    }
    const z = sub.zone
    if (z?.agg) {
      z.agg.total--
      if (sub.counted === true) z.agg.occupied--
      else if (sub.counted === undefined) z.agg.unknown--
      this.updateZone(z)
    }
  }

  /** A validated telemetry message (the hot path). */
  reading(device: Device, values: Record<string, unknown>, at = this.clock.now()): void {
    const sub = this.fresh(device)
    if (!sub) return
    const { s, prev } = sub.ctx
    let changed = false
    for (const k in values) {
      const v = values[k]
      prev[k] = s[k]
      if (s[k] !== v) changed = true
      s[k] = v
    }
    sub.kind.foldReading?.(values, s)
    if (changed) this.dirtyDevices.add(sub)
    this.seen(sub, at)
    sub.ctx.input = values
    sub.ctx.event = undefined
    this.evaluate(sub, at)
    sub.ctx.input = undefined
    if (sub.zone) this.countInZone(sub)
    this.checkFire(sub)
  }

  /** A discrete device event: folded into the state by the kind, then the rules see it. */
  event(device: Device, type: string, data: Record<string, unknown>, at = this.clock.now()): void {
    const sub = this.fresh(device)
    if (!sub) return
    sub.kind.foldEvent?.(type, data, sub.ctx.s)
    this.dirtyDevices.add(sub)
    this.seen(sub, at)
    sub.ctx.event = { type, data }
    this.evaluate(sub, at)
    sub.ctx.event = undefined
    this.checkFire(sub)
  }

  /** Device info (`interval_s` replaces the kind's interval for the offline rule) and availability count as life signs. */
  info(device: Device, info: Record<string, unknown>, at = this.clock.now()): void {
    const sub = this.fresh(device)
    if (!sub) return
    if (typeof info.interval_s === 'number' && info.interval_s !== sub.intervalS) {
      sub.intervalS = info.interval_s
      this.dirtyDevices.add(sub)
      this.clock.clearTimer(sub.offlineTimer)
      sub.offlineTimer = undefined
    }
    this.seen(sub, at)
  }

  availability(device: Device, online: boolean, at = this.clock.now()): void {
    if (!online) return // the will says the TCP link dropped; the heartbeat rule decides (battery devices sleep)
    const sub = this.fresh(device)
    if (sub) this.seen(sub, at)
  }

  /**
   * A person resolved the alert: forget its rule state and look again from now, so a condition that
   * still holds alerts anew after its hold time, and the next event raises a new alert.
   */
  resolved(subject: string, alert: string): void {
    const sub = this.subjects.get(subject) ?? this.zones.get(subject)
    if (!sub) return
    const a = sub.offline?.entry.id === alert ? sub.offline : sub.alerts.find((x) => x.entry.id === alert)
    if (!a) return
    const at = this.clock.now()
    const wasRaised = a.raised
    for (const t of a.triggers) this.reset(t)
    a.raised = false
    this.ungate(a)
    if (wasRaised && a.entry.fire) this.setFire(sub.site.estate, `${subject}/${alert}`, false)
    if (a === sub.offline) {
      sub.lastSeen = Math.max(sub.lastSeen, at)
      this.armOffline(sub)
    } else if (sub.agg) this.evaluateZone(sub, at)
    else this.evaluate(sub, at)
  }

  /**
   * Reconcile with the alert store after a restart: an alert the store holds open and raised is
   * raised here too — even if the last rule-state flush missed it (a crash within a second) — so its
   * clear is not lost. Re-evaluated at once: a condition that is gone clears after its quiet time.
   */
  adopt(subject: string, alert: string, suppressed: string | null = null): void {
    const sub = this.subjects.get(subject) ?? this.zones.get(subject)
    if (!sub) return
    const a = sub.offline?.entry.id === alert ? sub.offline : sub.alerts.find((x) => x.entry.id === alert)
    if (!a) return
    // Still hidden in the store: look again (regateAll) whether its gate ended while the hub was down.
    if (suppressed !== null) {
      a.gated = suppressed
      this.gatedAlerts.add(a)
    }
    if (a.raised) return
    const at = this.clock.now()
    const t = a.triggers[0]!
    this.disarm(t)
    t.phase = RAISED
    t.since = at
    t.mark = at
    a.raised = true
    this.touch(t)
    if (a.entry.fire) this.setFire(sub.site.estate, `${sub.key}/${a.entry.id}`, true)
    if (a === sub.offline) {
      this.clock.clearTimer(sub.offlineTimer)
      sub.offlineTimer = undefined
      return
    }
    this.rearm(t)
    sub.ctx.input = undefined
    sub.ctx.event = undefined
    if (sub.agg) this.evaluateZone(sub, at)
    else this.evaluate(sub, at)
  }

  // ───────────────────────── outputs ─────────────────────────

  /** Parking (or any zone-counted) occupancy per estate and zone. */
  zoneAggregates(estate?: string): ZoneAggregate[] {
    const out: ZoneAggregate[] = []
    for (const z of this.zones.values())
      if (z.agg && (!estate || z.agg.estate === estate)) out.push({ ...z.agg })
    return out.sort((a, b) => a.estate.localeCompare(b.estate) || a.zone.localeCompare(b.zone))
  }

  /** Last known merged state of a device (for tests and the API). */
  stateOf(deviceId: string): Readonly<Record<string, unknown>> | undefined {
    return this.subjects.get(deviceId)?.ctx.s
  }

  /**
   * State changed since the last call: trigger states and changed device values always; devices
   * that were only seen (last-seen time) when `seen` is set, so a chatty device that repeats itself
   * costs one row now and then, not one per flush. `all` = everything (tests, export).
   */
  takeSnapshot(opts: { all?: boolean; seen?: boolean } = {}): RuleSnapshot {
    const all = opts.all === true
    const devices = new Map<string, DeviceData>()
    const triggers = new Map<string, TriggerData | null>()
    if (opts.seen && !all) for (const sub of this.seenDevices) this.dirtyDevices.add(sub)
    const subs = all ? this.subjects.values() : this.dirtyDevices.values()
    for (const sub of subs) {
      devices.set(sub.key, { last_seen: sub.lastSeen, interval_s: sub.intervalS, values: { ...sub.ctx.s } })
    }
    const trigs = all ? this.allTriggers() : this.dirtyTriggers.values()
    for (const t of trigs) {
      const keep =
        t.phase !== IDLE ||
        (t.hits?.length ?? 0) > 0 ||
        (t.samples?.length ?? 0) > 0 ||
        t.episodeSince !== undefined
      triggers.set(
        triggerKey(t.subject.key, t.alert.entry.id, t.idx),
        keep
          ? {
              phase: t.phase,
              since: t.since,
              mark: t.mark,
              ...(t.hits ? { hits: [...t.hits] } : {}),
              ...(t.samples ? { samples: t.samples.map((x) => [x[0], x[1]] as [number, number]) } : {}),
              ...(t.episodeSince !== undefined ? { episodeSince: t.episodeSince } : {}),
            }
          : null,
      )
    }
    for (const sub of this.dirtyDevices) this.seenDevices.delete(sub)
    if (opts.seen || all) this.seenDevices.clear()
    this.dirtyDevices.clear()
    this.dirtyTriggers.clear()
    return { devices, triggers }
  }

  /** Something to flush (with `seen`: also last-seen times). */
  dirty(seen = false): boolean {
    return this.dirtyDevices.size > 0 || this.dirtyTriggers.size > 0 || (seen && this.seenDevices.size > 0)
  }

  /**
   * Look again at every raised alert recorded as suppressed: one whose gate (service mode, silence,
   * maintenance) has ended becomes an ordinary notified alert. Called when gating changes, when a
   * silence or maintenance mode runs out, and after a restart.
   */
  regateAll(at = this.clock.now()): void {
    for (const a of [...this.gatedAlerts]) this.regate(a, at)
    this.armGateTimer(at)
  }

  /** Cancel every timer (the hub is stopping). */
  stop(): void {
    this.unwatch?.()
    this.unwatch = undefined
    this.clock.clearTimer(this.gateTimer)
    this.gateTimer = undefined
    for (const t of this.allTriggers()) {
      this.clock.clearTimer(t.timer)
      t.timer = undefined
    }
    for (const sub of this.subjects.values()) {
      this.clock.clearTimer(sub.offlineTimer)
      sub.offlineTimer = undefined
    }
  }

  // ───────────────────────── evaluation ─────────────────────────

  private evaluate(sub: Subject, at: number): void {
    const alerts = sub.alerts
    for (let i = 0; i < alerts.length; i++) {
      const a = alerts[i]!
      sub.ctx.p = a.params
      const triggers = a.triggers
      for (let j = 0; j < triggers.length; j++) {
        const t = triggers[j]!
        const trig = t.trigger
        switch (trig.primitive) {
          case 'held': {
            const on = trig.when(sub.ctx)
            const off = t.phase >= RAISED ? (trig.clearWhen ? trig.clearWhen(sub.ctx) : !on) : !on
            this.step(t, on, off, this.hold(a, trig), this.quiet(a, trig), at)
            break
          }
          case 'event':
            if (trig.on(sub.ctx)) this.onEventHit(t, trig, at)
            break
          case 'count':
            if (trig.hit?.(sub.ctx) || this.episodeEnded(t, trig, sub.ctx, at)) this.onCountHit(t, trig, at)
            else if (trig.clearWhen?.(sub.ctx)) {
              if (t.phase === RAISED) this.clearTrigger(t, at)
              else if (t.hits?.length) {
                // e.g. a normal trip between door cycles: the tally starts over.
                t.hits = []
                this.touch(t)
              }
            }
            break
          case 'rate':
            this.onSample(t, trig, sub.ctx.input?.[trig.field], at)
            break
        }
      }
      if (a.raised) {
        const about = a.entry.def.retriggerOn
        if (about) this.checkAbout(a, about(sub.ctx), at)
        if (a.gated !== null) this.regate(a, at)
      }
    }
  }

  /** What a raised alert is about changed (inspection → fire return): a re-trigger with the new text and severity. */
  private checkAbout(a: AlertRt, about: unknown, at: number): void {
    if (about === a.about) return
    const first = a.about === undefined
    a.about = about
    if (first) return
    const t = a.triggers.find((x) => x.phase >= RAISED) ?? a.triggers[0]!
    this.raiseAlert(t, at, true, undefined, true)
  }

  /** Why the alert would be suppressed now, or null. */
  private gateOf(a: AlertRt, at: number): string | null {
    const sub = a.subject
    sub.ctx.p = a.params
    return (
      a.entry.def.suppressWhen?.(sub.ctx) ??
      this.gates?.suppression(sub.device, sub.site.estate, a.entry.id, at) ??
      null
    )
  }

  /** A suppressed raised alert whose gate has ended is notified now (signal `unsuppress`). */
  private regate(a: AlertRt, at: number): void {
    if (!a.raised) {
      this.ungate(a)
      return
    }
    const reason = this.gateOf(a, at)
    if (reason !== null) {
      a.gated = reason
      return
    }
    this.ungate(a)
    const t = a.triggers.find((x) => x.phase >= RAISED) ?? a.triggers[0]!
    this.emit('unsuppress', a.subject, a, t, at, null, false)
    // Now an ordinary alert: it counts as a fault (frequent_faults) like any other.
    this.countRaise(a.subject, a.entry.type, at)
  }

  private ungate(a: AlertRt): void {
    a.gated = null
    this.gatedAlerts.delete(a)
  }

  /** One timer for every gated alert: at the next start or end of a silence or maintenance mode. */
  private armGateTimer(at: number): void {
    this.clock.clearTimer(this.gateTimer)
    this.gateTimer = undefined
    if (this.gatedAlerts.size === 0) return
    const due = this.gates?.nextChange?.(at)
    if (due === undefined) return
    this.gateTimer = this.clock.setTimer(due, () => {
      this.gateTimer = undefined
      this.regateAll()
    })
  }

  /** The held / hysteresis state machine shared by device and zone triggers. */
  private step(t: TriggerRt, on: boolean, off: boolean, hold: number, quiet: number, at: number): void {
    if (t.phase === IDLE) {
      if (!on) return
      t.since = at
      if (hold <= 0) {
        this.raiseTrigger(t, at)
        return
      }
      t.phase = PENDING
      this.arm(t, at + hold)
    } else if (t.phase === PENDING) {
      if (on) return
      t.phase = IDLE
      this.disarm(t)
    } else if (t.phase === RAISED) {
      if (!off) return
      if (quiet <= 0) {
        this.clearTrigger(t, at)
        return
      }
      t.phase = CLEARING
      t.mark = at
      this.arm(t, at + quiet)
    } else {
      if (off) return
      t.phase = RAISED
      this.disarm(t)
    }
    this.touch(t)
  }

  private onEventHit(t: TriggerRt, trig: EventTrigger, at: number): void {
    const again = t.phase === RAISED
    t.phase = RAISED
    t.since = at
    const quiet = trig.clearFor ? (t.alert.params[trig.clearFor] ?? 0) : 0
    if (quiet > 0) this.arm(t, at + quiet)
    this.touch(t)
    this.raiseAlert(t, at, again)
  }

  private onCountHit(t: TriggerRt, trig: CountTrigger, at: number): void {
    const p = t.alert.params
    const need = p[trig.count ?? 'count'] ?? 3
    const window = p[trig.window ?? 'window'] ?? 3_600_000
    if (!t.hits) t.hits = []
    const hits = t.hits
    hits.push(at)
    while (hits.length > 0 && (hits[0]! <= at - window || hits.length > need)) hits.shift()
    t.mark = at
    if (t.phase !== RAISED && hits.length >= need) {
      t.since = hits[0]!
      this.raiseTrigger(t, at)
    } else if (t.phase === RAISED && !trig.clearWhen) {
      this.arm(t, at + this.countQuiet(t, trig))
    }
    this.touch(t)
  }

  /** True once per episode that held for at least `confirm` and has just ended (a settled movement, not a spike). */
  private episodeEnded(t: TriggerRt, trig: CountTrigger, ctx: RuleContext, at: number): boolean {
    if (!trig.episode) return false
    const active = trig.episode(ctx)
    if (active) {
      if (t.episodeSince === undefined) {
        t.episodeSince = at
        this.touch(t)
      }
      return false
    }
    if (t.episodeSince === undefined) return false
    const lasted = at - t.episodeSince
    t.episodeSince = undefined
    this.touch(t)
    return lasted >= (trig.confirm ? (t.alert.params[trig.confirm] ?? 0) : 0)
  }

  private countQuiet(t: TriggerRt, trig: CountTrigger): number {
    const p = t.alert.params
    return p[trig.clearFor ?? 'clear_for'] ?? p[trig.window ?? 'window'] ?? 3_600_000
  }

  private onSample(t: TriggerRt, trig: RateTrigger, value: unknown, at: number): void {
    if (typeof value !== 'number') return
    const p = t.alert.params
    const window = p[trig.window] ?? 600_000
    if (!t.samples) t.samples = []
    const samples = t.samples
    samples.push([at, value])
    while (samples.length > 0 && (samples[0]![0] < at - window || samples.length > MAX_SAMPLES))
      samples.shift()
    let min = value
    for (const [, v] of samples) if (v < min) min = v
    this.touch(t)
    if (value - min < (p[trig.rise] ?? Number.POSITIVE_INFINITY)) return
    t.mark = at
    if (t.phase !== RAISED) {
      t.since = at
      this.raiseTrigger(t, at, { rise: value - min })
    } else {
      this.arm(t, at + (p[trig.clearFor ?? 'clear_for'] ?? window))
    }
  }

  private raiseTrigger(t: TriggerRt, at: number, extra?: Record<string, number>): void {
    t.phase = RAISED
    this.disarm(t)
    const trig = t.trigger
    if (trig.primitive === 'count' && !trig.clearWhen) this.arm(t, at + this.countQuiet(t, trig))
    if (trig.primitive === 'rate') this.arm(t, at + (t.alert.params[trig.clearFor ?? 'clear_for'] ?? 600_000))
    this.touch(t)
    this.raiseAlert(t, at, false, extra)
  }

  private clearTrigger(t: TriggerRt, at: number): void {
    t.phase = IDLE
    this.disarm(t)
    if (t.hits) t.hits.length = 0
    this.touch(t)
    const a = t.alert
    if (!a.raised || a.triggers.some((x) => x.phase >= RAISED)) return
    a.raised = false
    this.ungate(a)
    const sub = t.subject
    if (a.entry.fire) this.setFire(sub.site.estate, `${sub.key}/${a.entry.id}`, false)
    this.emit('clear', sub, a, t, at, null, false)
  }

  private raiseAlert(
    t: TriggerRt,
    at: number,
    repeat: boolean,
    extra?: Record<string, number>,
    changed = false,
  ): void {
    const a = t.alert
    const sub = t.subject
    if (a.raised && !repeat) return
    const retrigger = a.raised
    a.raised = true
    const suppressed = this.gateOf(a, at)
    const about = a.entry.def.retriggerOn
    if (about && !changed) a.about = about(sub.ctx)
    // A re-trigger outside the gate makes the store show it again; a new raise under a gate is watched.
    const wasGated = a.gated !== null
    if (suppressed === null) this.ungate(a)
    else if (!retrigger) {
      a.gated = suppressed
      this.gatedAlerts.add(a)
    }
    this.emit('raise', sub, a, t, at, suppressed, retrigger, extra, changed)
    if (!retrigger && a.entry.fire) this.setFire(sub.site.estate, `${sub.key}/${a.entry.id}`, true)
    if (suppressed === null && (!retrigger || wasGated)) this.countRaise(sub, a.entry.type, at)
    if (suppressed !== null && !retrigger) this.armGateTimer(at)
  }

  /** `count` triggers listening for raises of sibling alerts (frequent faults, repeated blockage). */
  private countRaise(sub: Subject, type: string, at: number): void {
    for (const a of sub.alerts) {
      for (const t of a.triggers) {
        const trig = t.trigger
        if (trig.primitive === 'count' && trig.onRaised?.includes(type)) this.onCountHit(t, trig, at)
      }
    }
  }

  private emit(
    op: RuleSignal['op'],
    sub: Subject,
    a: AlertRt,
    t: TriggerRt,
    at: number,
    suppressed: string | null,
    retrigger: boolean,
    extra?: Record<string, number>,
    changed = false,
  ): void {
    const def = a.entry.def
    const ctx = sub.ctx
    ctx.p = a.params
    const vars: Record<string, unknown> = def.vars ? { ...def.vars(ctx) } : {}
    const heldMs = Math.max(0, at - t.since)
    vars.held_s = Math.round(heldMs / 1000)
    vars.held_min = Math.round(heldMs / 60_000)
    vars.held_h = Math.round(heldMs / 3_600_000)
    if (t.hits) vars.count = t.hits.length
    if (extra) Object.assign(vars, extra)
    if (a === sub.offline) vars.silent_min = Math.round((at - sub.lastSeen) / 60_000)
    vars.name = sub.device?.name ?? sub.agg?.zone ?? sub.key
    vars.location = sub.device?.location ?? ''
    const lookup = (key: string) =>
      key in vars ? vars[key] : key in ctx.s ? ctx.s[key] : key in a.params ? a.params[key] : ctx.params[key]
    const values: Record<string, unknown> = { ...ctx.s }
    for (const [k, v] of Object.entries(vars)) {
      if (k !== 'name' && k !== 'location')
        values[k] = typeof v === 'object' && v !== null ? (v as Text).en : v
    }
    this.sink({
      op,
      alert: a.entry.id,
      kind: a.entry.kind,
      subject: sub.key,
      device: sub.device,
      site: sub.site,
      severity: def.severityWhen?.(ctx) ?? def.severity,
      latched: def.latched,
      crew: def.crew,
      title: def.title,
      message: {
        zh: render(def.message.zh, 'zh', lookup, sub.kind.state),
        en: render(def.message.en, 'en', lookup, sub.kind.state),
      },
      values,
      at,
      suppressed,
      retrigger,
      ...(changed ? { changed } : {}),
    })
  }

  // ───────────────────────── offline ─────────────────────────

  private seen(sub: Subject, at: number): void {
    sub.lastSeen = at
    this.seenDevices.add(sub)
    const off = sub.offline
    if (!off) return
    if (off.raised) {
      const t = off.triggers[0]!
      t.phase = IDLE
      this.touch(t)
      off.raised = false
      this.ungate(off)
      this.emit('clear', sub, off, t, at, null, false)
    }
    if (!sub.offlineTimer) this.armOffline(sub)
  }

  private offlineWindow(sub: Subject): number {
    const p = sub.offline!.params
    const interval = (sub.intervalS ?? sub.kind.interval_s) * 1000
    return interval * (p.missed ?? 2) + (p.grace ?? 0)
  }

  /** One timer per device, re-armed lazily: a reading only moves lastSeen, the timer checks it when it fires. */
  private armOffline(sub: Subject): void {
    if (!sub.offline) return
    this.clock.clearTimer(sub.offlineTimer)
    // After a restart every device gets a full window from hub start: the hub being down is not device silence.
    sub.offlineTimer = this.clock.setTimer(
      Math.max(sub.lastSeen, this.startedAt) + this.offlineWindow(sub),
      () => {
        sub.offlineTimer = undefined
        const now = this.clock.now()
        const due = Math.max(sub.lastSeen, this.startedAt) + this.offlineWindow(sub)
        if (now < due) {
          this.armOffline(sub)
          return
        }
        const off = sub.offline!
        if (off.raised) return
        const t = off.triggers[0]!
        t.phase = RAISED
        t.since = sub.lastSeen
        this.touch(t)
        sub.ctx.input = undefined
        this.raiseAlert(t, due, false)
      },
    )
  }

  // ───────────────────────── zones ─────────────────────────

  private joinZone(sub: Subject): void {
    const device = sub.device!
    const entries = (this.byKind.get(device.kind) ?? []).filter((e) => e.zone)
    if (entries.length === 0) return
    const trig = entries[0]!.def.triggers.find((t) => t.primitive === 'zone') as ZoneTrigger
    const zoneName =
      typeof device.params[trig.zoneParam] === 'string' ? String(device.params[trig.zoneParam]) : 'default'
    const key = `zone:${device.estate}:${zoneName}`
    let z = this.zones.get(key)
    if (!z) {
      const agg: ZoneAggregate = {
        estate: device.estate,
        zone: zoneName,
        total: 0,
        occupied: 0,
        free: 0,
        unknown: 0,
        percent: 0,
      }
      z = this.newSubject(
        key,
        undefined,
        { ...device.site, building: undefined },
        sub.kind,
        agg as unknown as Record<string, unknown>,
      )
      z.agg = agg
      for (const e of entries) z.alerts.push(this.newAlert(z, e))
      this.zones.set(key, z)
      for (const a of z.alerts) for (const t of a.triggers) this.rearm(t)
    }
    sub.zone = z
    z.agg!.total++
    const v = sub.ctx.s[trig.field]
    sub.counted = typeof v === 'boolean' ? v : undefined
    if (sub.counted === true) z.agg!.occupied++
    else if (sub.counted === undefined) z.agg!.unknown++
    this.updateZone(z)
  }

  private countInZone(sub: Subject): void {
    const z = sub.zone!
    const field = (z.alerts[0]!.triggers[0]!.trigger as ZoneTrigger).field
    const v = sub.ctx.s[field]
    const now = typeof v === 'boolean' ? v : undefined
    if (now === sub.counted) return
    const agg = z.agg!
    if (sub.counted === true) agg.occupied--
    else if (sub.counted === undefined) agg.unknown--
    if (now === true) agg.occupied++
    else if (now === undefined) agg.unknown++
    sub.counted = now
    this.updateZone(z)
  }

  private updateZone(z: Subject): void {
    const agg = z.agg!
    agg.free = agg.total - agg.occupied - agg.unknown
    agg.percent = agg.total > 0 ? Math.round((agg.occupied / agg.total) * 1000) / 10 : 0
    if (!this.loading) this.evaluateZone(z, this.clock.now())
  }

  private evaluateZone(z: Subject, at: number): void {
    for (const a of z.alerts) {
      for (const t of a.triggers) {
        const trig = t.trigger as ZoneTrigger
        const on = trig.when(z.agg!, a.params)
        const off = trig.clearWhen(z.agg!, a.params)
        this.step(t, on, off, a.params.for ?? 0, a.params.clear_for ?? 0, at)
      }
    }
  }

  // ───────────────────────── cross-device ─────────────────────────

  private setFire(estate: string, key: string, on: boolean): void {
    const set = this.fires.get(estate) ?? new Set<string>()
    this.fires.set(estate, set)
    const before = set.size > 0
    if (on) set.add(key)
    else set.delete(key)
    const after = set.size > 0
    if (before === after) return
    const at = this.clock.now()
    for (const sub of this.byEstate.get(estate) ?? []) {
      sub.ctx.estateFire = after
      sub.ctx.input = undefined
      sub.ctx.event = undefined
      this.evaluate(sub, at)
    }
  }

  /** A device whose own state says there is a fire (a lift in fire-return / firefighter mode) sets its estate's fire flag. */
  private checkFire(sub: Subject): void {
    const pred = sub.kind.estateFire
    if (!pred) return
    sub.ctx.input = undefined
    sub.ctx.event = undefined
    const on = pred(sub.ctx)
    if (on === sub.fire) return
    sub.fire = on
    this.setFire(sub.site.estate, `${sub.key}/state`, on)
  }

  // ───────────────────────── plumbing ─────────────────────────

  /**
   * The subject of a device, added on first sight. The registry hands out new Device objects after a
   * reload; an identity check (cheap) notices, and the device is re-attached with its state when its
   * estate or params changed.
   */
  private fresh(device: Device): Subject | undefined {
    const sub = this.subjects.get(device.id)
    if (sub && sub.device === device) return sub
    if (!sub) {
      this.addDevice(device)
      return this.subjects.get(device.id)
    }
    const old = sub.device!
    if (old.estate === device.estate && JSON.stringify(old.params) === JSON.stringify(device.params)) {
      sub.device = device
      sub.site = device.site
      return sub
    }
    this.restored.devices.set(device.id, {
      last_seen: sub.lastSeen,
      interval_s: sub.intervalS,
      values: { ...sub.ctx.s },
    })
    for (const [key, data] of this.takeSubjectTriggers(sub)) this.restored.triggers.set(key, data)
    this.addDevice(device)
    return this.subjects.get(device.id)
  }

  /** The trigger states of one subject, for moving it (estate or params changed). */
  private takeSubjectTriggers(sub: Subject): [string, TriggerData][] {
    const out: [string, TriggerData][] = []
    for (const a of [...sub.alerts, ...(sub.offline ? [sub.offline] : [])]) {
      for (const t of a.triggers) {
        if (t.phase === IDLE && !t.hits?.length && !t.samples?.length && t.episodeSince === undefined)
          continue
        out.push([
          triggerKey(sub.key, a.entry.id, t.idx),
          {
            phase: t.phase,
            since: t.since,
            mark: t.mark,
            ...(t.hits ? { hits: [...t.hits] } : {}),
            ...(t.samples ? { samples: t.samples.map((x) => [x[0], x[1]] as [number, number]) } : {}),
            ...(t.episodeSince !== undefined ? { episodeSince: t.episodeSince } : {}),
          },
        ])
      }
    }
    return out
  }

  private newSubject(
    key: string,
    device: Device | undefined,
    site: Device['site'],
    kind: KindDefinition,
    s: Record<string, unknown>,
  ): Subject {
    const estate = site.estate
    return {
      key,
      device,
      site,
      kind,
      ctx: {
        s,
        prev: {},
        input: undefined,
        event: undefined,
        p: {},
        params: device?.params ?? NO_PARAMS,
        estateFire: (this.fires.get(estate)?.size ?? 0) > 0,
      },
      alerts: [],
      offline: undefined,
      lastSeen: 0,
      intervalS: undefined,
      offlineTimer: undefined,
      agg: undefined,
      zone: undefined,
      counted: undefined,
      fire: false,
    }
  }

  private newAlert(sub: Subject, entry: CatalogAlert): AlertRt {
    const a: AlertRt = {
      entry,
      subject: sub,
      params: this.paramsFor(sub.site.estate, entry.id)!,
      triggers: [],
      raised: false,
      gated: null,
      about: undefined,
    }
    entry.def.triggers.forEach((trigger, idx) => {
      const key = triggerKey(sub.key, entry.id, idx)
      const saved = this.restored.triggers.get(key)
      this.restored.triggers.delete(key)
      a.triggers.push({
        subject: sub,
        alert: a,
        idx,
        trigger,
        timer: undefined,
        phase: saved?.phase ?? IDLE,
        since: saved?.since ?? 0,
        mark: saved?.mark ?? 0,
        ...(saved?.hits ? { hits: [...saved.hits] } : {}),
        ...(saved?.samples ? { samples: saved.samples.map((x) => [x[0], x[1]] as [number, number]) } : {}),
        ...(saved?.episodeSince !== undefined ? { episodeSince: saved.episodeSince } : {}),
      })
    })
    a.raised = a.triggers.some((t) => t.phase >= RAISED)
    if (a.raised && entry.fire) this.setFire(sub.site.estate, `${sub.key}/${entry.id}`, true)
    return a
  }

  /** After a restore: timers run on relative to the stored times (blocked 4 min before a restart still alerts at minute 10). */
  private rearm(t: TriggerRt): void {
    const a = t.alert
    const trig = t.trigger
    const p = a.params
    if (trig.primitive === 'held' || trig.primitive === 'zone') {
      const hold = trig.primitive === 'held' ? this.hold(a, trig) : (p.for ?? 0)
      const quiet = trig.primitive === 'held' ? this.quiet(a, trig) : (p.clear_for ?? 0)
      if (t.phase === PENDING) this.arm(t, t.since + hold)
      if (t.phase === CLEARING) this.arm(t, t.mark + quiet)
    } else if (trig.primitive === 'count' && t.phase === RAISED && !trig.clearWhen) {
      this.arm(t, t.mark + this.countQuiet(t, trig))
    } else if (trig.primitive === 'rate' && t.phase === RAISED) {
      this.arm(t, t.mark + (p[trig.clearFor ?? 'clear_for'] ?? p[trig.window] ?? 600_000))
    } else if (
      trig.primitive === 'event' &&
      t.phase === RAISED &&
      trig.clearFor &&
      (p[trig.clearFor] ?? 0) > 0
    ) {
      this.arm(t, t.since + p[trig.clearFor]!)
    }
  }

  private arm(t: TriggerRt, due: number): void {
    this.clock.clearTimer(t.timer)
    t.timer = this.clock.setTimer(due, () => this.fire(t))
  }

  private disarm(t: TriggerRt): void {
    this.clock.clearTimer(t.timer)
    t.timer = undefined
  }

  /** A trigger's timer fell due: pending → raised, clearing / quiet → cleared. */
  private fire(t: TriggerRt): void {
    // The effect happens at the due time, not when the event loop got to it: the same moment when a
    // restarted hub replays it (the alert store recognises a transition it already has by its time).
    const at = t.timer?.due ?? this.clock.now()
    t.timer = undefined
    t.subject.ctx.input = undefined
    t.subject.ctx.event = undefined
    if (t.phase === PENDING) this.raiseTrigger(t, at)
    else if (t.phase === CLEARING || t.phase === RAISED) this.clearTrigger(t, at)
  }

  private reset(t: TriggerRt): void {
    this.disarm(t)
    t.phase = IDLE
    if (t.hits) t.hits.length = 0
    if (t.samples) t.samples.length = 0
    this.touch(t)
  }

  private hold(a: AlertRt, trig: HeldTrigger): number {
    if (trig.for === false) return 0
    return a.params[trig.for ?? 'for'] ?? 0
  }

  private quiet(a: AlertRt, trig: HeldTrigger): number {
    return a.params[trig.clearFor ?? 'clear_for'] ?? 0
  }

  private touch(t: TriggerRt): void {
    this.dirtyTriggers.add(t)
  }

  private estateSet(estate: string): Set<Subject> {
    let set = this.byEstate.get(estate)
    if (!set) {
      set = new Set()
      this.byEstate.set(estate, set)
    }
    return set
  }

  private *allTriggers(): Iterable<TriggerRt> {
    for (const sub of [...this.subjects.values(), ...this.zones.values()]) {
      for (const a of sub.alerts) yield* a.triggers
      if (sub.offline) yield* sub.offline.triggers
    }
  }
}
