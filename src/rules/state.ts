import type { KindDefinition, ParamValues, RuleContext, Trigger, ZoneAggregate } from '../../devices/types.ts'
import type { Device } from '../core/bus.ts'
import type { TimerHandle } from '../core/clock.ts'
import type { CatalogAlert } from './catalog.ts'
import type { Schedule } from './schedule.ts'

/**
 * The rule engine's state, and the contract between the engine and the primitives (held, event,
 * count, rate, zone, offline) that run the state machine of one trigger each. The engine owns
 * subjects, gating, cross-device facts and emission; a primitive owns what a trigger's phase means
 * and when its timer is due.
 */

export const IDLE = 0
export const PENDING = 1
export const RAISED = 2
export const CLEARING = 3
export type Phase = typeof IDLE | typeof PENDING | typeof RAISED | typeof CLEARING

/**
 * The persisted part of one trigger's state (table `rule_triggers`, JSON): its shape is the stored
 * format, so state written by an earlier version loads as it is.
 */
export interface TriggerData {
  phase: Phase
  /** Pending (or raised, for event triggers) since. */
  since: number
  /** Clearing since (or last hit / last rise for count and rate). */
  mark: number
  hits?: number[]
  /** Count triggers with `distinct`: the key of each hit in `hits`. */
  keys?: string[]
  samples?: [number, number][]
  /** Count triggers with `episode`: when the current episode began (persisted: a movement may span a restart). */
  episodeSince?: number | undefined
}

export interface TriggerRt<T extends Trigger = Trigger> extends TriggerData {
  subject: Subject
  alert: AlertRt
  idx: number
  trigger: T
  /** The primitive that runs this trigger (chosen once, by `trigger.primitive`). */
  machine: Primitive<T>
  timer: TimerHandle | undefined
}

export interface AlertRt {
  entry: CatalogAlert
  subject: Subject
  params: ParamValues
  triggers: TriggerRt[]
  raised: boolean
  /** Raised while gated: the reason, until the gate ends (then it is notified). */
  gated: string | null
  /** `retriggerOn`'s value at the last raise (undefined after a restart: taken, not signalled). */
  about: unknown
  /** Its schedule params in force in the subject's estate. */
  schedules: Record<string, Schedule>
}

export interface Subject {
  key: string
  device: Device | undefined
  site: Device['site']
  kind: KindDefinition
  ctx: RuleContext
  alerts: AlertRt[]
  /** Offline (devices only); its one trigger's timer is the device's offline timer. */
  offline: AlertRt | undefined
  lastSeen: number
  intervalS: number | undefined
  /** Zone subjects: the aggregate; devices: the zone they count in. */
  agg: ZoneAggregate | undefined
  zone: Subject | undefined
  counted: boolean | undefined
  /** The schedules of the alert being evaluated (what `ctx.within` reads). */
  sched: Record<string, Schedule>
}

/** Whether a trigger holds anything worth storing (else its row is deleted). */
export function holdsState(t: TriggerData): boolean {
  return (
    t.phase !== IDLE ||
    (t.hits?.length ?? 0) > 0 ||
    (t.samples?.length ?? 0) > 0 ||
    t.episodeSince !== undefined
  )
}

/** A copy of the persisted part of a trigger's state. */
export function persisted(t: TriggerData): TriggerData {
  return {
    phase: t.phase,
    since: t.since,
    mark: t.mark,
    ...(t.hits ? { hits: [...t.hits] } : {}),
    ...(t.keys ? { keys: [...t.keys] } : {}),
    ...(t.samples ? { samples: t.samples.map((x) => [x[0], x[1]] as [number, number]) } : {}),
    ...(t.episodeSince !== undefined ? { episodeSince: t.episodeSince } : {}),
  }
}

/**
 * One primitive's state machine over a trigger's state. The engine calls `onInput` when the
 * subject's state may have changed (a message, another device, a person, a restart), `onTimer` when
 * the trigger's timer fell due (`at` is its due time, not when the event loop got to it), `rearm`
 * after a restore: timers run on relative to the stored times (blocked 4 min before a restart still
 * alerts at minute 10). The hot path (`onInput` per reading) allocates nothing unless something
 * changes.
 */
export interface Primitive<T extends Trigger = Trigger> {
  onInput(t: TriggerRt<T>, at: number): void
  onTimer(t: TriggerRt<T>, at: number): void
  rearm(t: TriggerRt<T>): void
  /** A sibling alert of the same subject raised (count triggers listening with `onRaised`). */
  onRaised?(t: TriggerRt<T>, type: string, at: number): void
}

/** What a primitive may ask of the engine. */
export interface Effects {
  now(): number
  /** Offline windows run from here at the earliest: downtime of the hub is not device silence. */
  startedAt(): number
  /** Run the trigger's `onTimer` at `due` (replacing its timer). */
  arm(t: TriggerRt, due: number): void
  disarm(t: TriggerRt): void
  /** The trigger's persisted state changed (flushed with the next snapshot). */
  touch(t: TriggerRt): void
  /** Raise the trigger's alert (gated, emitted); `repeat`: a re-trigger of a raised one. */
  raiseAlert(t: TriggerRt, at: number, repeat: boolean, extra?: Record<string, number>): void
  /** The trigger back to idle; its alert clears when no other trigger holds it. */
  clearTrigger(t: TriggerRt, at: number): void
}

/** The trigger raises: its timer is replaced by the quiet-time timer `clearAt` if any, then the alert raises. */
export function raiseTrigger(
  fx: Effects,
  t: TriggerRt,
  at: number,
  clearAt?: number,
  extra?: Record<string, number>,
): void {
  t.phase = RAISED
  fx.disarm(t)
  if (clearAt !== undefined) fx.arm(t, clearAt)
  fx.touch(t)
  fx.raiseAlert(t, at, false, extra)
}
