import { KINDS } from '../../../devices/index.ts'
import type { KindDefinition } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import type { Overrides } from '../../../src/rules/catalog.ts'
import { type Gates, RuleEngine, type RuleSignal, type RuleSnapshot } from '../../../src/rules/engine.ts'

/** A rule engine on a fake clock, recording what it raises and clears; devices in estate e1 unless told. */
export interface Rig {
  clock: FakeClock
  engine: RuleEngine
  signals: RuleSignal[]
  /** Raises of an alert id (optionally for one subject). */
  raises: (alert: string, subject?: string) => RuleSignal[]
  clears: (alert: string, subject?: string) => RuleSignal[]
  /** Whether the alert is currently raised (last signal was a raise). */
  isRaised: (alert: string, subject?: string) => boolean
  send: (device: Device, values: Record<string, unknown>) => void
  event: (device: Device, type: string, data?: Record<string, unknown>) => void
  advance: (ms: number) => void
}

export interface RigOptions {
  overrides?: Overrides
  kinds?: Record<string, KindDefinition>
  gates?: Gates
  devices?: Device[]
  snapshot?: RuleSnapshot
  clock?: FakeClock
}

export function rig(options: RigOptions = {}): Rig {
  const clock = options.clock ?? new FakeClock()
  const signals: RuleSignal[] = []
  const engine = new RuleEngine({
    clock,
    kinds: options.kinds ?? KINDS,
    overrides: options.overrides ?? {},
    sink: (s) => signals.push(s),
    ...(options.gates ? { gates: options.gates } : {}),
  })
  engine.start(options.devices ?? [], options.snapshot)
  const of = (op: 'raise' | 'clear', alert: string, subject?: string) =>
    signals.filter((s) => s.op === op && s.alert === alert && (!subject || s.subject === subject))
  return {
    clock,
    engine,
    signals,
    raises: (a, s) => of('raise', a, s),
    clears: (a, s) => of('clear', a, s),
    isRaised: (a, subject) => {
      const last = signals.filter((s) => s.alert === a && (!subject || s.subject === subject)).at(-1)
      return last?.op === 'raise'
    },
    send: (device, values) => engine.reading(device, values),
    event: (device, type, data = {}) => engine.event(device, type, data),
    advance: (ms) => clock.advance(ms),
  }
}

export function device(
  id: string,
  kind: Device['kind'],
  params: Record<string, unknown> = {},
  estate = 'e1',
  name = `${id}-name`,
): Device {
  return {
    id,
    kind,
    estate,
    building: 'b1',
    name,
    location: undefined,
    params,
    site: { street: 's1', community: 'c1', estate, building: 'b1' },
  }
}

export const S = 1000
export const MIN = 60 * S
export const H = 60 * MIN
export const D = 24 * H

export const lift = (id = 'lift1', estate = 'e1') =>
  device(id, 'elevator', { bottom_floor: -1, top_floor: 18, rated_speed: 1.5 }, estate, '1号楼2号电梯')
/** A car standing at floor 7, level, doors closed, normal service. */
export const IDLE_LIFT = {
  floor: 7,
  moving: false,
  in_door_zone: true,
  door: 'closed',
  passenger: false,
  direction: 'none',
  service_mode: 'normal',
  speed: 0,
  fault_code: 0,
  power_source: 'mains',
}
