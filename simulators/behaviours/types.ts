import type { KINDS, KindId } from '../../devices/index.ts'
import type { SimClock } from '../clock.ts'
import type { Rng } from '../rng.ts'

/** TypeScript types derived from the kind definitions, so a behaviour cannot name a field the kind lacks. */
type ValueOf<F> = F extends { type: 'bool' }
  ? boolean
  : F extends { type: 'int' | 'float' }
    ? number
    : F extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : string
type Defs = typeof KINDS
export type StateOf<K extends KindId> = { [P in keyof Defs[K]['state']]?: ValueOf<Defs[K]['state'][P]> }
export type ParamsOf<K extends KindId> = { [P in keyof Defs[K]['params']]?: ValueOf<Defs[K]['params'][P]> }
export type EventTypeOf<K extends KindId> = keyof Defs[K]['events'] & string

/** Arguments of a scripted action, as written in a scenario step (`with:`). Durations are strings ("5m"). */
export type ActionArgs = Record<string, string | number | boolean | undefined>

export interface BehaviourContext<K extends KindId> {
  readonly id: string
  readonly kind: K
  readonly params: ParamsOf<K>
  readonly clock: SimClock
  readonly rng: Rng
  /** Random faults per device and simulated hour (0: only scripted faults). */
  readonly faultRate: number
  /** Merge telemetry into the device state; the changed fields go out together once this instant ends. */
  set(values: StateOf<K>): void
  /** Forget fields that no longer apply (e.g. a plate once the passage is clear). */
  unset(...keys: (keyof StateOf<K> & string)[]): void
  event(type: EventTypeOf<K>, data?: Record<string, unknown>): void
}

export interface Behaviour {
  /** Device info published retained on `info` (model, vendor, fw). */
  readonly info: { model: string; vendor: string; fw: string }
  start(): void
  stop(): void
  /** Scripted faults and situations this kind understands: the `do:` of a scenario step. */
  readonly actions: Record<string, (args: ActionArgs) => void>
}

export type BehaviourFactory<K extends KindId> = (ctx: BehaviourContext<K>) => Behaviour

/** Read a duration argument in simulated ms ("90s", "5m", or seconds as a number). */
export function durationArg(
  args: ActionArgs,
  key: string,
  fallbackMs: number,
  parse: (t: string | number) => number,
): number {
  const v = args[key]
  return v === undefined || typeof v === 'boolean' ? fallbackMs : parse(v)
}
