import { KIND_IDS, KINDS, type KindId } from '../devices/index.ts'
import type { FieldSpec } from '../devices/types.ts'
import type { Topics } from '../src/mqtt/topics.ts'

/**
 * The "malformed" mode: one message per class of bad payload the hub's ingest must refuse, built from
 * the device's own kind definition so each breaks exactly one rule. `expect` is the error code the hub
 * answers on the device's `error` topic and counts in `zhian_mqtt_messages_rejected_total{reason}`.
 */

export const MALFORMED_CLASSES = [
  'invalid_json',
  'not_an_object',
  'wrong_type',
  'unknown_field',
  'out_of_range',
  'bad_enum',
  'wrong_kind',
  'oversized',
  'empty_state',
  'bad_availability',
] as const
export type MalformedClass = (typeof MALFORMED_CLASSES)[number]

export const EXPECTED_CODE: Record<MalformedClass, string> = {
  invalid_json: 'ZHIAN_ERR_INVALID_JSON',
  not_an_object: 'ZHIAN_ERR_NOT_AN_OBJECT',
  wrong_type: 'ZHIAN_ERR_WRONG_TYPE',
  unknown_field: 'ZHIAN_ERR_UNKNOWN_FIELD',
  out_of_range: 'ZHIAN_ERR_OUT_OF_RANGE',
  bad_enum: 'ZHIAN_ERR_INVALID_VALUE',
  wrong_kind: 'ZHIAN_ERR_WRONG_KIND',
  oversized: 'ZHIAN_ERR_PAYLOAD_TOO_LARGE',
  empty_state: 'ZHIAN_ERR_EMPTY_STATE',
  bad_availability: 'ZHIAN_ERR_INVALID_VALUE',
}

export interface BadMessage {
  class: MalformedClass
  topic: string
  payload: string
  expect: string
}

/** Default hub limit (ZHIAN_MAX_PAYLOAD_BYTES) is 8 KiB; the oversized message is just above it. */
export const DEFAULT_OVERSIZE_BYTES = 8192 + 512

function fieldsOf(kind: KindId): [string, FieldSpec][] {
  return Object.entries(KINDS[kind].state as Record<string, FieldSpec>)
}

/**
 * The bad message of one class for a device, or undefined when its kind cannot express that class
 * (a kind without enum fields has no "bad enum"; every built-in kind has a bool and a number field).
 */
export function malformedMessage(
  cls: MalformedClass,
  device: { kind: KindId; id: string },
  topics: Topics,
  oversizeBytes = DEFAULT_OVERSIZE_BYTES,
): BadMessage | undefined {
  const state = topics.device(device.kind, device.id, 'state')
  const fields = fieldsOf(device.kind)
  const make = (topic: string, payload: string) => ({
    class: cls,
    topic,
    payload,
    expect: EXPECTED_CODE[cls],
  })
  switch (cls) {
    case 'invalid_json':
      return make(state, '{"occupied": tru')
    case 'not_an_object':
      return make(state, '[1, 2, 3]')
    case 'wrong_type': {
      const [name, spec] =
        fields.find(([, s]) => s.type === 'bool' || s.type === 'int' || s.type === 'float') ?? []
      if (!name || !spec) return undefined
      return make(state, JSON.stringify({ [name]: spec.type === 'bool' ? 'yes' : 'twelve' }))
    }
    case 'unknown_field':
      return make(state, JSON.stringify({ colour: 'red' }))
    case 'out_of_range': {
      const found = fields.find(([, s]) => s.type === 'int' || s.type === 'float')
      if (!found) return undefined
      const [name, spec] = found as [string, { max: number }]
      return make(state, JSON.stringify({ [name]: spec.max + 1 }))
    }
    case 'bad_enum': {
      const found = fields.find(([, s]) => s.type === 'enum')
      if (!found) return undefined
      return make(state, JSON.stringify({ [found[0]]: 'sideways' }))
    }
    case 'wrong_kind': {
      const other = KIND_IDS.find((k) => k !== device.kind)!
      return make(topics.device(other, device.id, 'state'), JSON.stringify({ battery_pct: 50 }))
    }
    case 'oversized': {
      const [name] = fields.find(([, s]) => s.type === 'bool') ?? ['occupied']
      const pad = ' '.repeat(Math.max(0, oversizeBytes))
      return make(state, `{"${name}": true${pad}}`)
    }
    case 'empty_state':
      return make(state, '{}')
    case 'bad_availability':
      return make(topics.device(device.kind, device.id, 'availability'), 'maybe')
  }
}

/** Every class this device can produce, in catalogue order. */
export function malformedMessages(
  device: { kind: KindId; id: string },
  topics: Topics,
  oversizeBytes?: number,
): BadMessage[] {
  return MALFORMED_CLASSES.map((c) => malformedMessage(c, device, topics, oversizeBytes)).filter(
    (m): m is BadMessage => m !== undefined,
  )
}
