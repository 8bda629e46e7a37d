import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { KINDS, type KindId } from '../../../devices/index.ts'
import type { FieldSpec, Fields, KindDefinition } from '../../../devices/types.ts'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { Bus, type Device } from '../../../src/core/bus.ts'
import { Metrics } from '../../../src/core/metrics.ts'
import { ERRORS } from '../../../src/errors.ts'
import { Ingest } from '../../../src/ingest/ingest.ts'
import { DEVICE_UPLINK, Topics } from '../../../src/mqtt/topics.ts'
import { Registry } from '../../../src/registry/registry.ts'
import { openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { SMALL_ESTATE, tempDir } from '../../helpers/hub.ts'

/**
 * Property-based fuzzing of the ingest path with the real Ingest and a real registry loaded from the
 * small test estate: thousands of generated (device, topic, payload) triples, near-valid and hostile.
 * Whatever arrives, handle() returns instead of throwing; a refusal emits nothing on the bus and
 * answers the device one coded error; an acceptance emits exactly one event whose content satisfies
 * the kind's definition — checked against devices/<kind>.ts directly, not through the zod schema the
 * code under test uses.
 */

const MAX_PAYLOAD = 2048
/** ZHIAN_FUZZ_SCALE=10 for a longer hunt. */
const RUNS = 3000 * Number(process.env.ZHIAN_FUZZ_SCALE ?? 1)

let ingest: Ingest
let devices: Device[]
const emitted: { event: string; payload: unknown }[] = []
const replies: { topic: string; body: { code: string } }[] = []
const topics = new Topics('zhian')

beforeAll(async () => {
  const db = openDb(tempDir('zhian-fuzz-'))
  const bus = new Bus()
  const registry = new Registry(db, bus)
  registry.start()
  // The estate's users go to auth's table (as the hub opens it before applying the file).
  new Auth(db, new ApiToken(db), createLogger('silent')).open()
  await registry.applyEstate(loadEstateFile(SMALL_ESTATE))
  devices = registry.list()
  for (const event of ['reading', 'device_event', 'device_info', 'availability'] as const)
    bus.on(event, (payload) => emitted.push({ event, payload }))
  ingest = new Ingest({
    registry,
    gate: bus,
    metrics: new Metrics(),
    topics,
    log: createLogger('silent'),
    maxPayloadBytes: MAX_PAYLOAD,
    reply: (topic, payload) => replies.push({ topic, body: JSON.parse(payload.toString('utf8')) }),
  })
})

// ───────────────────────── the oracle: the kind definitions ─────────────────────────

function fits(spec: FieldSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'bool':
      return typeof v === 'boolean'
    case 'int':
      return Number.isInteger(v) && (v as number) >= spec.min && (v as number) <= spec.max
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) && v >= spec.min && v <= spec.max
    case 'enum':
      return typeof v === 'string' && spec.values.includes(v)
    case 'string':
      return typeof v === 'string' && v.length <= spec.maxLength
  }
}

function conforms(fields: Fields, values: Record<string, unknown>): boolean {
  return Object.entries(values).every(([k, v]) => Object.hasOwn(fields, k) && fits(fields[k]!, v))
}

// ───────────────────────── generators ─────────────────────────

/** Values near and past each field's limits, and of every other JSON type. */
function valueFor(spec: FieldSpec): fc.Arbitrary<unknown> {
  const hostile = fc.oneof(
    fc.constantFrom(null, '', '0', 'true', [], {}, -0, 1e308, -1e308, 2 ** 53, '__proto__'),
    fc.jsonValue({ maxDepth: 2 }),
  )
  switch (spec.type) {
    case 'bool':
      return fc.oneof(fc.boolean(), hostile)
    case 'int':
    case 'float':
      return fc.oneof(
        fc.constantFrom(spec.min, spec.max, spec.min - 1, spec.max + 1, spec.min - 0.5, spec.max + 0.5),
        fc.double({ min: spec.min, max: spec.max, noNaN: true }),
        fc.integer({ min: Math.ceil(spec.min), max: Math.floor(spec.max) }),
        fc.double(),
        hostile,
      )
    case 'enum':
      return fc.oneof(fc.constantFrom(...spec.values), fc.string({ maxLength: 12 }), hostile)
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: spec.maxLength + 2, unit: 'grapheme' }),
        fc.constant('x'.repeat(spec.maxLength + 1)),
        hostile,
      )
  }
}

/** A value the field allows. */
function validValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.type) {
    case 'bool':
      return fc.boolean()
    case 'int':
      return fc.integer({ min: Math.ceil(spec.min), max: Math.floor(spec.max) })
    case 'float':
      return fc.double({ min: spec.min, max: spec.max, noNaN: true })
    case 'enum':
      return fc.constantFrom(...spec.values)
    case 'string':
      return fc.string({ maxLength: spec.maxLength })
  }
}

/**
 * Readings the kind allows: declared fields only, each within its definition, at least one. Without
 * them a valid reading came up about twice in 3,000 runs (every field of a lift valid at once is
 * rare among near-misses), so whether the run saw one was a coin toss of the seed.
 */
function validState(fields: Fields): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, validValue(s)]))
  return fc.record(known, { requiredKeys: [] }).filter((v) => Object.keys(v).length > 0)
}

/** An event's data the kind allows: any of its declared fields, each valid (none at all is a plain event). */
function validData(fields: Fields): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, validValue(s)]))
  return fc.record(known, { requiredKeys: [] })
}

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ts']

function objectFor(fields: Fields, extra: Record<string, fc.Arbitrary<unknown>> = {}) {
  const known = Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, valueFor(s)]))
  return fc
    .tuple(
      fc.record({ ...known, ...extra }, { requiredKeys: [] }),
      fc.dictionary(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 })), fc.jsonValue(), {
        maxKeys: 2,
      }),
      fc.boolean(),
    )
    .map(([values, more, addMore]) => (addMore ? { ...values, ...more } : values))
}

const meta = {
  ts: fc.oneof(fc.integer({ min: 0, max: 8_640_000_000_000 }), fc.constantFrom(-1, 1.5, 'now', 8.7e12)),
  seq: fc.oneof(fc.nat(), fc.constantFrom(-1, 0.5, 2 ** 60)),
}

function payloadsFor(kind: KindId): fc.Arbitrary<string | Uint8Array> {
  const def = KINDS[kind]
  const events = Object.entries(def.events).map(([type, spec]) =>
    objectFor({}, { type: fc.oneof(fc.constant(type), fc.string({ maxLength: 10 })), ...meta }).chain((e) =>
      objectFor(spec.data).map((data) => ({ ...e, data })),
    ),
  )
  // Events the kind allows (a declared type, its data fields valid): as rare among near-misses as valid readings.
  const validEvents = Object.entries(def.events).map(([type, spec]) =>
    validData(spec.data).map((data) => ({ type, data })),
  )
  const structured = fc.oneof(
    objectFor(def.state, meta),
    validState(def.state),
    ...(events.length ? events : []),
    ...validEvents,
    objectFor({ model: { type: 'string', maxLength: 64 } as FieldSpec }, { interval_s: fc.integer() }),
    fc.jsonValue(),
  )
  return fc.oneof(
    { weight: 6, arbitrary: structured.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.constantFrom('online', 'offline', 'Online', '', 'online\n', '{}', '{"a":') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    // Just under and over the payload limit.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: MAX_PAYLOAD - 20, max: MAX_PAYLOAD + 20 })
        .map((n) => `{"fault_code":0,"x":"${'a'.repeat(Math.max(0, n - 22))}"}`),
    },
  )
}

const deviceArb = () => fc.constantFrom(...devices)

/** The device's own uplink topics, other devices' and kinds', and topic garbage. */
function topicsFor(device: Device): fc.Arbitrary<string> {
  const other = fc.constantFrom(...devices)
  const suffix = fc.constantFrom(...DEVICE_UPLINK, 'set', 'error', 'config', '')
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(...DEVICE_UPLINK).map((s) => topics.device(device.kind, device.id, s)),
    },
    { weight: 1, arbitrary: fc.tuple(other, suffix).map(([d, s]) => `zhian/${d.kind}/${d.id}/${s}`) },
    { weight: 1, arbitrary: fc.tuple(other, suffix).map(([d, s]) => `zhian/${d.kind}/${device.id}/${s}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'zhian/hub/alert',
        'zhian/#',
        '#',
        '',
        '/',
        'zhian//state',
        `zhian/${device.kind}/+/state`,
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  )
}

/** Built after beforeAll loaded the devices. */
const messages = () =>
  deviceArb().chain((device) =>
    fc.record({
      device: fc.constant(device),
      topic: topicsFor(device),
      payload: payloadsFor(device.kind as KindId),
    }),
  )

// ───────────────────────── the property ─────────────────────────

/** The payload as a JSON object, else undefined. */
function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'))
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function check(device: Device, topic: string, raw: string | Uint8Array): void {
  emitted.length = 0
  replies.length = 0
  const payload = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw)
  const ok = ingest.handle(device.id, { topic, payload })
  const own = DEVICE_UPLINK.find((s) => topics.device(device.kind, device.id, s) === topic)
  if (own === 'state' && payload.length <= MAX_PAYLOAD) {
    // What the kind's definition allows is accepted, not only the other way round.
    const body = parseObject(payload)
    if (body && Object.keys(body).length > 0 && conforms(KINDS[device.kind as KindId].state, body))
      expect(
        ok,
        `refused a valid reading ${payload.toString('utf8')}: ${JSON.stringify(replies[0]?.body)}`,
      ).toBe(true)
  }
  if (!ok) {
    expect(emitted).toEqual([])
    expect(replies).toHaveLength(1)
    expect(replies[0]!.topic).toBe(topics.device(device.kind, device.id, 'error'))
    expect(Object.keys(ERRORS)).toContain(replies[0]!.body.code)
    return
  }
  expect(replies).toEqual([])
  expect(emitted).toHaveLength(1)
  expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD)
  const suffix = DEVICE_UPLINK.find((s) => topics.device(device.kind, device.id, s) === topic)
  expect(suffix, `accepted on a foreign topic ${topic}`).toBeDefined()
  const def: KindDefinition = KINDS[device.kind as KindId]
  const { event, payload: out } = emitted[0]!
  const body =
    suffix === 'availability' ? undefined : (JSON.parse(payload.toString('utf8')) as Record<string, unknown>)
  switch (suffix) {
    case 'state': {
      expect(event).toBe('reading')
      const values = (out as { values: Record<string, unknown> }).values
      expect(Object.keys(values).length).toBeGreaterThan(0)
      expect(conforms(def.state, values), JSON.stringify(values)).toBe(true)
      // Nothing but declared fields and the two meta fields came in.
      for (const k of Object.keys(body!))
        expect(Object.hasOwn(def.state, k) || k === 'ts' || k === 'seq').toBe(true)
      break
    }
    case 'event': {
      expect(event).toBe('device_event')
      const e = out as { type: string; data: Record<string, unknown> }
      expect(Object.hasOwn(def.events, e.type)).toBe(true)
      expect(conforms(def.events[e.type]!.data, e.data), JSON.stringify(e.data)).toBe(true)
      break
    }
    case 'info':
      expect(event).toBe('device_info')
      for (const k of Object.keys(body!)) expect(['model', 'vendor', 'fw', 'interval_s']).toContain(k)
      break
    case 'availability':
      expect(event).toBe('availability')
      expect(['online', 'offline']).toContain(payload.toString('utf8'))
      break
  }
}

describe('ingest fuzz (fast-check, real registry from the small estate)', () => {
  it(`${RUNS} generated topic + payload pairs: never throws, refuses with one coded error and no bus event, accepts only what the kind's definition allows`, () => {
    fc.assert(
      fc.property(messages(), ({ device, topic, payload }) => check(device, topic, payload)),
      { numRuns: RUNS },
    )
  }, 30_000)

  it('accepts the valid messages the generator makes (the property is not vacuous)', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(messages(), ({ device, topic, payload }) => {
        check(device, topic, payload)
        if (emitted.length === 1) seen.add(emitted[0]!.event)
      }),
      { numRuns: RUNS },
    )
    expect([...seen].sort()).toEqual(['availability', 'device_event', 'device_info', 'reading'])
  }, 30_000)
})
