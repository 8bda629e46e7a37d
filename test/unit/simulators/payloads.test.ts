import { describe, expect, test } from 'vitest'
import { KIND_IDS, KINDS, type KindId } from '../../../devices/index.ts'
import { AVAILABILITY_VALUES, INFO_SCHEMA, SCHEMAS } from '../../../devices/schema.ts'
import { compressRules, generateEstate, withEveryKind } from '../../../simulators/estate-gen.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import type { RecordedMessage } from '../../../simulators/links.ts'
import { MALFORMED_CLASSES, malformedMessages } from '../../../simulators/malformed.ts'
import { recordScenario } from '../../../simulators/scenario-runner.ts'
import { SCENARIOS } from '../../../simulators/scenarios/index.ts'
import { loadEstateFile, parseEstate, serializeWithSections } from '../../../src/config/estate-file.ts'
import { Topics } from '../../../src/mqtt/topics.ts'
import { DEMO_ESTATE } from '../../helpers/hub.ts'

/** The hub's own schemas (devices/schema.ts) judge every message the simulators would send. */
function invalid(messages: RecordedMessage[]): string[] {
  const topics = new Topics('zhian')
  const bad: string[] = []
  for (const m of messages) {
    const parsed = topics.parse(m.topic)
    if (parsed?.scope !== 'device') {
      bad.push(`topic ${m.topic}`)
      continue
    }
    if (parsed.suffix === 'availability') {
      if (!(AVAILABILITY_VALUES as readonly string[]).includes(m.payload)) bad.push(`${m.topic} ${m.payload}`)
      continue
    }
    const body = JSON.parse(m.payload)
    const schema =
      parsed.suffix === 'info'
        ? INFO_SCHEMA
        : parsed.suffix === 'event'
          ? SCHEMAS[parsed.kind].event
          : SCHEMAS[parsed.kind].state
    const result = schema.safeParse(body)
    if (!result.success) bad.push(`${m.topic} ${m.payload}: ${result.error.issues[0]?.message}`)
    if (parsed.suffix === 'state' && Object.keys(body).filter((k) => k !== 'ts' && k !== 'seq').length === 0)
      bad.push(`${m.topic} empty state`)
  }
  return bad
}

function qianxinFuyuan() {
  const estate = loadEstateFile(DEMO_ESTATE)
  estate.devices = estate.devices.filter((d) => d.estate === 'qianxin_fuyuan')
  return estate
}

describe('simulated payloads', () => {
  test('pass the hub schemas for every kind through three simulated days with faults at a high rate', async () => {
    const messages: RecordedMessage[] = []
    const fleet = new Fleet({
      // Every kind: the demo estate's (前新福苑; the street's other estates repeat its kinds), and one
      // of each kind added to devices/ since.
      estate: withEveryKind(qianxinFuyuan()),
      seed: 5,
      start: new Date(2026, 0, 15).getTime(),
      faultRate: 3,
      ts: true,
      record: (m) => messages.push(m),
    })
    await fleet.start()
    fleet.clock.advance(3 * 86_400_000)
    await fleet.stop()
    expect(invalid(messages)).toEqual([])
    const kinds = new Set(messages.map((m) => m.topic.split('/')[1]))
    expect([...kinds].sort()).toEqual([...KIND_IDS].sort())
    // The random faults did happen: lifts reported fault codes and events, manholes opened.
    expect(messages.some((m) => m.topic.endsWith('/event'))).toBe(true)
    expect(messages.some((m) => m.payload.includes('"cover_open":true'))).toBe(true)
    expect(messages.some((m) => /"fault_code":[1-9]/.test(m.payload))).toBe(true)
  })

  test.each(Object.keys(SCENARIOS))('pass the hub schemas throughout scenario %s', async (name) => {
    const messages = await recordScenario(SCENARIOS[name]!, { duration: '30m' })
    expect(messages.length).toBeGreaterThan(0)
    expect(invalid(messages)).toEqual([])
  })

  test('use only field names the kind declares (a typo in a behaviour is an error, not a silent drop)', async () => {
    const { normalise } = await import('../../../simulators/device.ts')
    expect(() => normalise('parking_bay', 'ocupied', undefined, true)).toThrow(/no state field "ocupied"/)
    expect(normalise('manhole', 'tilt_deg', KINDS.manhole.state.tilt_deg, 400)).toBe(180)
    expect(normalise('elevator', 'floor', KINDS.elevator.state.floor, 3.4)).toBe(3)
  })
})

describe('malformed mode', () => {
  test.each(KIND_IDS)('produces every class of bad payload for a %s', (kind: KindId) => {
    const classes = malformedMessages({ kind, id: 'dev1' }, new Topics('zhian')).map((m) => m.class)
    const hasEnum = Object.values(KINDS[kind].state).some((f) => f.type === 'enum')
    expect(classes).toEqual([...MALFORMED_CLASSES].filter((c) => c !== 'bad_enum' || hasEnum))
    if (kind === 'elevator') expect(classes).toContain('bad_enum')
  })
})

describe('scaled estates', () => {
  test('keep the base devices first and add synthesised ones in the real mix, as a valid estate file', () => {
    const base = loadEstateFile(DEMO_ESTATE)
    const big = generateEstate(2500, base)
    expect(big.devices).toHaveLength(2500)
    expect(big.devices.slice(0, base.devices.length)).toEqual(base.devices)
    expect(new Set(big.devices.map((d) => d.id)).size).toBe(2500)
    const reparsed = parseEstate(serializeWithSections(big, DEMO_ESTATE), 'big.yaml')
    expect(reparsed.devices).toHaveLength(2500)
    const extra = big.devices.slice(base.devices.length, base.devices.length + 100)
    const count = (k: KindId) => extra.filter((d) => d.kind === k).length
    expect([count('elevator'), count('fire_passage'), count('manhole'), count('parking_bay')]).toEqual([
      6, 4, 15, 75,
    ])
  })

  test('with compressed rules carry every duration parameter of every alert divided by the speed', () => {
    const estate = compressRules(loadEstateFile(DEMO_ESTATE), 30)
    const overrides = estate.overrides.qianxin_fuyuan!
    expect(overrides['elevator.trapped']).toMatchObject({ for: '2000ms', for_out_of_zone: '1000ms' })
    expect(overrides['fire_passage.blocked']).toMatchObject({ for: '20000ms' })
    expect(parseEstate(serializeWithSections(estate, DEMO_ESTATE)).overrides.qianxin_fuyuan).toEqual(
      overrides,
    )
  })
})
