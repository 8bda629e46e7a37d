import {
  type Fields,
  type KindDefinition,
  type ParamValues,
  type Severity,
  type Text,
  type ZoneAggregate,
  type ZoneTrigger,
  zoneOf,
} from '../../devices/types.ts'
import type { Device } from '../core/bus.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import {
  buildCatalog,
  type Catalog,
  type CatalogAlert,
  type Overrides,
  resolveOverrides,
  resolveSchedules,
} from './catalog.ts'
import { type Primitives, primitives } from './primitives/index.ts'
import { inSchedule, nextEdge, parseSchedule, type Schedule } from './schedule.ts'
import {
  type AlertRt,
  type Effects,
  holdsState,
  IDLE,
  type Primitive,
  persisted,
  RAISED,
  type Subject,
  type TriggerData,
  type TriggerRt,
} from './state.ts'
import { render } from './template.ts'

/**
 * The rule engine's pure core: per-subject state (a device, or a parking zone), triggers built from
 * the primitives in devices/types.ts — each run by its state machine in primitives/ —, timers from an
 * injected Clock. The engine keeps subjects, gating, cross-device facts (fire per estate and
 * building, links between devices), schedules and emission.
 * It does no I/O: it emits RuleSignals (raise / clear) to a sink and hands its state to whoever
 * persists it (snapshot / restore). Per reading it evaluates the alerts of that device's kind only
 * and allocates nothing unless something changes.
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
  /** IANA zone of schedules that name none (default Asia/Shanghai). */
  timeZone?: string
  /** A parking zone's display name (the estate file's `zones`), for the text of its alerts. */
  zoneName?: ((estate: string, zone: string) => string | undefined) | undefined
}

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai'

const NO_PARAMS: Record<string, unknown> = {}
const NO_SCHEDULES: Record<string, Schedule> = {}

function buildingKey(estate: string, building: string): string {
  return `${estate}\u0000${building}`
}

/** The fields of `data` the target declares (a linked message carries only what the target knows). */
function pick(data: Record<string, unknown>, fields: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k in data) if (Object.hasOwn(fields, k)) out[k] = data[k]
  return out
}

/** The schedule `name` in force for a subject: its device param of that name, else the alert's. */
function effectiveSchedule(
  sub: Subject,
  schedules: Record<string, Schedule>,
  name: string,
): Schedule | undefined {
  const own = sub.ctx.params[name]
  // A device param that is no schedule is ignored for the alert's own (the estate file is checked at load).
  const parsed = typeof own === 'string' ? parseScheduleCached(own) : undefined
  return parsed ?? schedules[name]
}

const SCHEDULE_CACHE = new Map<string, Schedule | undefined>()
/** Device params are a handful of texts: parsed once each. */
function parseScheduleCached(text: string): Schedule | undefined {
  if (!SCHEDULE_CACHE.has(text)) {
    const parsed = parseSchedule(text)
    SCHEDULE_CACHE.set(text, typeof parsed === 'string' ? undefined : parsed)
  }
  return SCHEDULE_CACHE.get(text)
}

export function triggerKey(subject: string, alert: string, idx: number): string {
  return `${subject}\u0000${alert}\u0000${idx}`
}

export class RuleEngine {
  readonly catalog: Catalog
  private readonly byKind = new Map<string, CatalogAlert[]>()
  private readonly params: Map<string, Map<string, ParamValues>>
  private readonly schedules: Map<string, Map<string, Record<string, Schedule>>>
  private readonly timeZone: string
  private readonly subjects = new Map<string, Subject>()
  private readonly zones = new Map<string, Subject>()
  private readonly byEstate = new Map<string, Set<Subject>>()
  /** Raised fire alerts (`subject/alert`) per estate and per `estate\u0000building`. */
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
  /** Per subject whose alerts have schedules: a timer at the next window edge, to look again then. */
  private readonly edgeTimers = new Map<Subject, TimerHandle>()
  private unwatch: (() => void) | undefined
  /** Offline windows run from here at the earliest: downtime of the hub is not device silence. */
  private startedAt: number
  private readonly clock: Clock
  private readonly sink: (signal: RuleSignal) => void
  private readonly gates: Gates | undefined
  private readonly kinds: Record<string, KindDefinition>
  /** The state machine of each primitive, working through the engine's effects. */
  private readonly machines: Primitives
  private readonly zoneName: NonNullable<EngineOptions['zoneName']>

  constructor(opts: EngineOptions) {
    this.clock = opts.clock
    this.sink = opts.sink
    this.gates = opts.gates
    this.kinds = opts.kinds
    this.zoneName = opts.zoneName ?? (() => undefined)
    const fx: Effects = {
      now: () => this.clock.now(),
      startedAt: () => this.startedAt,
      arm: (t, due) => this.arm(t, due),
      disarm: (t) => this.disarm(t),
      touch: (t) => this.touch(t),
      raiseAlert: (t, at, repeat, extra) => this.raiseAlert(t, at, repeat, extra),
      clearTrigger: (t, at) => this.clearTrigger(t, at),
    }
    this.machines = primitives(fx)
    this.catalog = buildCatalog(opts.kinds)
    for (const entry of this.catalog.values()) {
      const list = this.byKind.get(entry.kind) ?? []
      list.push(entry)
      this.byKind.set(entry.kind, list)
    }
    // Throws a config error naming overrides.<estate>.<alert>.<param> when the file is wrong.
    this.params = resolveOverrides(this.catalog, opts.overrides ?? {})
    this.schedules = resolveSchedules(this.catalog, opts.overrides ?? {})
    this.timeZone = opts.timeZone ?? DEFAULT_TIME_ZONE
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
    for (const a of sub.alerts) for (const t of a.triggers) t.machine.rearm(t)
    if (sub.offline) for (const t of sub.offline.triggers) t.machine.rearm(t)
    this.joinZone(sub)
    this.armEdge(sub, at)
  }

  removeDevice(id: string): void {
    const sub = this.subjects.get(id)
    if (!sub) return
    this.subjects.delete(id)
    this.byEstate.get(sub.site.estate)?.delete(sub)
    this.clock.clearTimer(this.edgeTimers.get(sub))
    this.edgeTimers.delete(sub)
    for (const a of [...sub.alerts, ...(sub.offline ? [sub.offline] : [])]) {
      for (const t of a.triggers) this.clock.clearTimer(t.timer)
      this.gatedAlerts.delete(a)
      if (a.raised && a.entry.fire)
        this.setFire(sub.site, `${sub.key}/${a.entry.id}`, false, this.clock.now())
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
    this.applyReading(sub, values, at, true)
  }

  /** A discrete device event: folded into the state by the kind, then the rules see it; then its links. */
  event(device: Device, type: string, data: Record<string, unknown>, at = this.clock.now()): void {
    const sub = this.fresh(device)
    if (!sub) return
    this.applyEvent(sub, type, data, at, true)
    this.applyLinks(sub, type, data, at)
  }

  /** `own`: the device's own message (a life sign), not one a link applies to it. */
  private applyReading(sub: Subject, values: Record<string, unknown>, at: number, own: boolean): void {
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
    if (own) this.seen(sub, at)
    sub.ctx.input = values
    sub.ctx.event = undefined
    this.evaluate(sub, at)
    sub.ctx.input = undefined
    if (sub.zone) this.countInZone(sub)
  }

  private applyEvent(
    sub: Subject,
    type: string,
    data: Record<string, unknown>,
    at: number,
    own: boolean,
  ): void {
    sub.kind.foldEvent?.(type, data, sub.ctx.s)
    this.dirtyDevices.add(sub)
    if (own) this.seen(sub, at)
    sub.ctx.event = { type, data }
    this.evaluate(sub, at)
    sub.ctx.event = undefined
  }

  /**
   * The kind's `links`: the event is also about the device a param names (a lift a camera watches):
   * applied to it as its event or reading — no life sign of it, no further links. Deterministic: the
   * same journalled message applies it again in a replay.
   */
  private applyLinks(sub: Subject, type: string, data: Record<string, unknown>, at: number): void {
    const links = sub.kind.links
    if (!links) return
    for (const link of links) {
      if (link.event !== type) continue
      const targetId = sub.ctx.params[link.param]
      const target = typeof targetId === 'string' ? this.subjects.get(targetId) : undefined
      if (!target?.device || target.device.kind !== link.kind || target.site.estate !== sub.site.estate)
        continue
      if (link.when) {
        sub.ctx.event = { type, data }
        sub.ctx.input = undefined
        sub.ctx.at = at
        const applies = link.when(sub.ctx)
        sub.ctx.event = undefined
        if (!applies) continue
      }
      if ('event' in link.as) {
        const spec = target.kind.events[link.as.event]
        if (spec) this.applyEvent(target, link.as.event, pick(data, spec.data), at, false)
      } else {
        const values = pick(data, target.kind.state)
        if (Object.keys(values).length > 0) this.applyReading(target, values, at, false)
      }
    }
  }

  /** Device info (`interval_s` replaces the kind's interval for the offline rule) and availability count as life signs. */
  info(device: Device, info: Record<string, unknown>, at = this.clock.now()): void {
    const sub = this.fresh(device)
    if (!sub) return
    if (typeof info.interval_s === 'number' && info.interval_s !== sub.intervalS) {
      sub.intervalS = info.interval_s
      this.dirtyDevices.add(sub)
      // A new window: the next life sign arms the offline timer afresh.
      if (sub.offline) for (const t of sub.offline.triggers) this.disarm(t)
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
    if (wasRaised && a.entry.fire) this.setFire(sub.site, `${subject}/${alert}`, false, at)
    if (a === sub.offline) {
      sub.lastSeen = Math.max(sub.lastSeen, at)
      for (const t of a.triggers) t.machine.rearm(t)
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
    if (a.entry.fire && suppressed === null) this.setFire(sub.site, `${sub.key}/${a.entry.id}`, true, at)
    // Offline: its timer (disarmed above) stays off while raised; the next life sign clears it.
    if (a === sub.offline) return
    t.machine.rearm(t)
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
      triggers.set(triggerKey(t.subject.key, t.alert.entry.id, t.idx), holdsState(t) ? persisted(t) : null)
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
    for (const timer of this.edgeTimers.values()) this.clock.clearTimer(timer)
    this.edgeTimers.clear()
    for (const t of this.allTriggers()) {
      this.clock.clearTimer(t.timer)
      t.timer = undefined
    }
  }

  // ───────────────────────── evaluation ─────────────────────────

  private evaluate(sub: Subject, at: number): void {
    const alerts = sub.alerts
    for (let i = 0; i < alerts.length; i++) {
      const a = alerts[i]!
      focus(sub, a, at)
      const triggers = a.triggers
      for (let j = 0; j < triggers.length; j++) {
        const t = triggers[j]!
        t.machine.onInput(t, at)
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
    focus(sub, a, at)
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
    // Its gate ended: now it is evidence of a fire too.
    if (a.entry.fire) this.setFire(a.subject.site, `${a.subject.key}/${a.entry.id}`, true, at)
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

  private clearTrigger(t: TriggerRt, at: number): void {
    t.phase = IDLE
    this.disarm(t)
    if (t.hits) t.hits.length = 0
    if (t.keys) t.keys.length = 0
    this.touch(t)
    const a = t.alert
    if (!a.raised || a.triggers.some((x) => x.phase >= RAISED)) return
    a.raised = false
    this.ungate(a)
    const sub = t.subject
    if (a.entry.fire) this.setFire(sub.site, `${sub.key}/${a.entry.id}`, false, at)
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
    // A fire alarm under a gate (a detector in maintenance, a silenced nuisance alarm) is no evidence
    // of a fire: the passages and lifts are not alerted for a technician's test.
    if (a.entry.fire && suppressed === null) this.setFire(sub.site, `${sub.key}/${a.entry.id}`, true, at)
    if (suppressed === null && (!retrigger || wasGated)) this.countRaise(sub, a.entry.type, at)
    if (suppressed !== null && !retrigger) this.armGateTimer(at)
  }

  /** `count` triggers listening for raises of sibling alerts (frequent faults, repeated blockage). */
  private countRaise(sub: Subject, type: string, at: number): void {
    for (const a of sub.alerts) for (const t of a.triggers) t.machine.onRaised?.(t, type, at)
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
    focus(sub, a, at)
    const vars: Record<string, unknown> = def.vars ? { ...def.vars(ctx) } : {}
    // A raise by an event carries the event's data (a detection's snapshot_url, a plate) in its text and values.
    if (ctx.event) for (const k in ctx.event.data) if (!(k in vars)) vars[k] = ctx.event.data[k]
    const heldMs = Math.max(0, at - t.since)
    vars.held_s = Math.round(heldMs / 1000)
    vars.held_min = Math.round(heldMs / 60_000)
    vars.held_h = Math.round(heldMs / 3_600_000)
    if (t.hits) vars.count = t.hits.length
    if (extra) Object.assign(vars, extra)
    if (a === sub.offline) vars.silent_min = Math.round((at - sub.lastSeen) / 60_000)
    vars.name =
      sub.device?.name ??
      (sub.agg ? (this.zoneName(sub.agg.estate, sub.agg.zone) ?? sub.agg.zone) : undefined) ??
      sub.key
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

  // ───────────────────────── life signs ─────────────────────────

  /** Any message, info or availability: the device is alive (its offline trigger hears of it). */
  private seen(sub: Subject, at: number): void {
    sub.lastSeen = at
    this.seenDevices.add(sub)
    const off = sub.offline
    if (!off) return
    const t = off.triggers[0]!
    t.machine.onInput(t, at)
  }

  // ───────────────────────── zones ─────────────────────────

  private joinZone(sub: Subject): void {
    const device = sub.device!
    const entries = (this.byKind.get(device.kind) ?? []).filter((e) => e.zone)
    if (entries.length === 0) return
    const trig = entries[0]!.def.triggers.find((t) => t.primitive === 'zone') as ZoneTrigger
    const zoneName = zoneOf(trig, device.params)
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
      for (const a of z.alerts) for (const t of a.triggers) t.machine.rearm(t)
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
    for (const a of z.alerts) for (const t of a.triggers) t.machine.onInput(t, at)
  }

  // ───────────────────────── cross-device ─────────────────────────

  /**
   * A raised alert marked `fire` is the evidence of a fire: in its device's estate and, when the
   * device has one, its building. Devices whose fact changed are evaluated again at once.
   */
  private setFire(site: Device['site'], key: string, on: boolean, at: number): void {
    const scopes = site.building ? [site.estate, buildingKey(site.estate, site.building)] : [site.estate]
    let changed = false
    for (const scope of scopes) {
      let set = this.fires.get(scope)
      if (!set) {
        set = new Set()
        this.fires.set(scope, set)
      }
      const before = set.size > 0
      if (on) set.add(key)
      else set.delete(key)
      if (before !== set.size > 0) changed = true
    }
    if (!changed) return
    const estateFire = this.fireIn(site.estate)
    for (const sub of this.byEstate.get(site.estate) ?? []) {
      const b = sub.site.building
      const buildingFire = b === undefined ? undefined : this.fireIn(buildingKey(site.estate, b))
      if (sub.ctx.estateFire === estateFire && sub.ctx.buildingFire === buildingFire) continue
      sub.ctx.estateFire = estateFire
      sub.ctx.buildingFire = buildingFire
      sub.ctx.input = undefined
      sub.ctx.event = undefined
      this.evaluate(sub, at)
    }
  }

  private fireIn(scope: string): boolean {
    return (this.fires.get(scope)?.size ?? 0) > 0
  }

  /** `within(name)` of a subject's context: the device param `name`, else the alert's schedule param. */
  private within(sub: Subject, name: string): boolean {
    const sched = effectiveSchedule(sub, sub.sched, name)
    return sched ? inSchedule(sched, sub.ctx.at, this.timeZone) : false
  }

  /**
   * A condition that asks `within` changes at a window's edge without any message: the subject is
   * evaluated again then (a timer on the engine clock, so a replay meets it at the same instant).
   */
  private armEdge(sub: Subject, at: number): void {
    let due = Number.POSITIVE_INFINITY
    for (const a of sub.alerts) {
      for (const name in a.schedules) {
        const sched = effectiveSchedule(sub, a.schedules, name)
        if (sched) due = Math.min(due, nextEdge(sched, at, this.timeZone))
      }
    }
    if (due === Number.POSITIVE_INFINITY) return
    this.clock.clearTimer(this.edgeTimers.get(sub))
    this.edgeTimers.set(
      sub,
      this.clock.setTimer(due, () => {
        this.edgeTimers.delete(sub)
        sub.ctx.input = undefined
        sub.ctx.event = undefined
        this.evaluate(sub, due)
        this.armEdge(sub, due)
      }),
    )
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
      for (const t of a.triggers)
        if (holdsState(t)) out.push([triggerKey(sub.key, a.entry.id, t.idx), persisted(t)])
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
    const sub: Subject = {
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
        estateFire: this.fireIn(estate),
        buildingFire:
          site.building === undefined ? undefined : this.fireIn(buildingKey(estate, site.building)),
        at: this.clock.now(),
        within: (name) => this.within(sub, name),
      },
      alerts: [],
      offline: undefined,
      lastSeen: 0,
      intervalS: undefined,
      agg: undefined,
      zone: undefined,
      counted: undefined,
      sched: NO_SCHEDULES,
    }
    return sub
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
      schedules: this.schedules.get(sub.site.estate)?.get(entry.id) ?? entry.schedules,
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
        machine: this.machines[trigger.primitive] as Primitive,
        timer: undefined,
        phase: saved?.phase ?? IDLE,
        since: saved?.since ?? 0,
        mark: saved?.mark ?? 0,
        ...(saved?.hits ? { hits: [...saved.hits] } : {}),
        ...(saved?.keys ? { keys: [...saved.keys] } : {}),
        ...(saved?.samples ? { samples: saved.samples.map((x) => [x[0], x[1]] as [number, number]) } : {}),
        ...(saved?.episodeSince !== undefined ? { episodeSince: saved.episodeSince } : {}),
      })
    })
    a.raised = a.triggers.some((t) => t.phase >= RAISED)
    if (a.raised && entry.fire) this.setFire(sub.site, `${sub.key}/${entry.id}`, true, this.clock.now())
    return a
  }

  private arm(t: TriggerRt, due: number): void {
    this.clock.clearTimer(t.timer)
    t.timer = this.clock.setTimer(due, () => this.fire(t))
  }

  private disarm(t: TriggerRt): void {
    this.clock.clearTimer(t.timer)
    t.timer = undefined
  }

  /** A trigger's timer fell due: its primitive decides (pending → raised, clearing / quiet → cleared, offline → raised). */
  private fire(t: TriggerRt): void {
    // The effect happens at the due time, not when the event loop got to it: the same moment when a
    // restarted hub replays it (the alert store recognises a transition it already has by its time).
    const at = t.timer?.due ?? this.clock.now()
    t.timer = undefined
    const ctx = t.subject.ctx
    ctx.input = undefined
    ctx.event = undefined
    focus(t.subject, t.alert, at)
    t.machine.onTimer(t, at)
  }

  private reset(t: TriggerRt): void {
    this.disarm(t)
    t.phase = IDLE
    if (t.hits) t.hits.length = 0
    if (t.keys) t.keys.length = 0
    if (t.samples) t.samples.length = 0
    this.touch(t)
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

/** Point a subject's context at one alert, at a time: its parameters, its schedules, the evaluation time. */
function focus(sub: Subject, a: AlertRt, at: number): void {
  sub.ctx.p = a.params
  sub.sched = a.schedules
  sub.ctx.at = at
}
