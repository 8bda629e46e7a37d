import { ai_camera } from './ai_camera.ts'
import { electrical_fire } from './electrical_fire.ts'
import { elevator } from './elevator.ts'
import { fire_hydrant } from './fire_hydrant.ts'
import { fire_passage } from './fire_passage.ts'
import { gas_detector } from './gas_detector.ts'
import { manhole } from './manhole.ts'
import { parking_bay } from './parking_bay.ts'
import { perimeter } from './perimeter.ts'
import { smoke_detector } from './smoke_detector.ts'
import { sos_button } from './sos_button.ts'
import type { KindDefinition } from './types.ts'

/** Every device kind the hub knows. A meta-test checks that every devices/<kind>.ts is listed here. */
export const KINDS = {
  ai_camera,
  elevator,
  fire_passage,
  manhole,
  parking_bay,
  perimeter,
  smoke_detector,
  sos_button,
  gas_detector,
  electrical_fire,
  fire_hydrant,
} as const satisfies Record<string, KindDefinition>

export type KindId = keyof typeof KINDS
export const KIND_IDS = Object.keys(KINDS) as KindId[]

export function isKindId(value: string): value is KindId {
  return Object.hasOwn(KINDS, value)
}

export function kindOf(id: KindId): KindDefinition {
  return KINDS[id]
}

export type { KindDefinition } from './types.ts'
