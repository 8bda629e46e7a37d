import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../../devices/index.ts'
import type { Fields } from '../../../devices/types.ts'
import type { Device, Reading } from '../../../src/core/bus.ts'
import {
  FIELD_TYPES,
  PARAM_TAGS,
  PointMapper,
  type PointRecord,
  RESEND_PER_STREAM,
  RESEND_WINDOW_MS,
  typedFields,
} from '../../../src/history/schema.ts'

/** The record a reading's journal line holds (what the shipper writes to InfluxDB). */
const readingOf = (mapper: PointMapper, r: Reading): PointRecord => JSON.parse(mapper.readingLine(r))

const device: Device = {
  id: 'pb7',
  kind: 'parking_bay',
  estate: 'e1',
  building: undefined,
  name: undefined,
  location: undefined,
  params: { zone: 'B1' },
  site: { street: 's1', community: 'c1', estate: 'e1', building: undefined },
}

describe('history schema', () => {
  it('derives every telemetry field type from the device definitions', () => {
    const expected = {
      bool: 'boolean',
      int: 'integer',
      float: 'float',
      enum: 'string',
      string: 'string',
    } as const
    for (const kind of KIND_IDS) {
      for (const [name, spec] of Object.entries(KINDS[kind].state as Fields)) {
        expect(FIELD_TYPES[kind]![name], `${kind}.${name}`).toBe(expected[spec.type])
      }
    }
    expect(PARAM_TAGS.parking_bay).toEqual(['zone'])
  })

  it('never collapses two readings of one device in the same millisecond, and keeps them in order', () => {
    const mapper = new PointMapper(() => 500)
    const at = 1_700_000_000_123
    const points = [0, 1, 2].map((seq) =>
      readingOf(mapper, { device, values: { occupied: seq % 2 === 0 }, ts: at, receivedAt: at, seq }),
    )
    expect(points.map((p) => p.ts)).toEqual([
      '1700000000123000500',
      '1700000000123000501',
      '1700000000123000502',
    ])
    expect(points[0]).toMatchObject({
      m: 'parking_bay',
      t: { street: 's1', community: 'c1', estate: 'e1', device_id: 'pb7', zone: 'B1' },
      f: { occupied: true, seq: 0 },
    })
  })

  it('writes a reading as one journal line: tags, fields with seq, timestamp and (seq at receive time) hash', () => {
    const mapper = new PointMapper(() => 42)
    const at = 1_700_000_000_123
    const t = { street: 's1', community: 'c1', estate: 'e1', device_id: 'pb7', zone: 'B1' }
    const values = { occupied: true, battery_pct: 80 }
    const line = mapper.readingLine({ device, values, ts: at, receivedAt: at, seq: 9 })
    expect(line.startsWith('{"m":"parking_bay","t":{"street":"s1"')).toBe(true)
    const record = JSON.parse(line)
    expect(record).toEqual({
      m: 'parking_bay',
      t,
      f: { occupied: true, battery_pct: 80, seq: 9 },
      ts: '1700000000123000042',
      h: expect.any(Number),
      a: at,
    })
    // The same values under the same seq resent later: the same point, hash and all (and its own receive time).
    expect(
      JSON.parse(mapper.readingLine({ device, values, ts: at + 9, receivedAt: at + 9, seq: 9 })),
    ).toEqual({ ...record, a: at + 9 })
    const noSeq = mapper.readingLine({
      device,
      values: { occupied: false },
      ts: at + 5,
      receivedAt: at + 5,
      seq: undefined,
    })
    expect(JSON.parse(noSeq)).toEqual({
      m: 'parking_bay',
      t,
      f: { occupied: false },
      ts: '1700000000128000042',
      a: at + 5,
    })
    // The device's own clock: the timestamp's sub-millisecond part is the seq, no hash is kept.
    const deviceTs = mapper.readingLine({
      device,
      values: { occupied: true },
      ts: at - 1000,
      receivedAt: at,
      seq: 7,
    })
    expect(JSON.parse(deviceTs)).toEqual({
      m: 'parking_bay',
      t,
      f: { occupied: true, seq: 7 },
      ts: '1699999999123000007',
      a: at,
    })
  })

  it('carries readings past the end of a millisecond into the next one instead of collapsing them', () => {
    // The high-resolution clock put the first reading near the end of its millisecond.
    const mapper = new PointMapper(() => 999_998)
    const at = 1_700_000_000_123
    const stamps = [0, 1, 2, 3].map(
      (seq) => readingOf(mapper, { device, values: { occupied: true }, ts: at, receivedAt: at, seq }).ts,
    )
    expect(stamps).toEqual([
      '1700000000123999998',
      '1700000000123999999',
      '1700000000124000000',
      '1700000000124000001',
    ])
    // A resend of a carried reading maps to the very point it got.
    const resent = readingOf(mapper, {
      device,
      values: { occupied: true },
      ts: at + 2,
      receivedAt: at + 2,
      seq: 3,
    })
    expect(resent.ts).toBe(stamps[3])
    // The next millisecond's first reading still comes after them.
    const next = readingOf(mapper, {
      device,
      values: { occupied: false },
      ts: at + 1,
      receivedAt: at + 1,
      seq: 4,
    })
    expect(BigInt(next.ts)).toBeGreaterThan(BigInt(stamps[3]!))
  })

  it("stamps a reading with the device's clock deterministically: the same reading is the same point", () => {
    const now = 1_700_000_000_000
    const lift = (mapper: PointMapper, seq: number | undefined, occupied = true) =>
      readingOf(mapper, { device, values: { occupied }, ts: now - 1000, receivedAt: now, seq }).ts
    // Two mappers stand for the hub before and after a crash: no shared state.
    const [before, after] = [new PointMapper(() => 7), new PointMapper(() => 9)]
    expect(lift(before, 42)).toBe(`${now - 1000}000042`)
    expect(lift(after, 42)).toBe(lift(before, 42))
    expect(lift(after, 43)).not.toBe(lift(after, 42))
    // Without seq the values tell readings of the same millisecond apart.
    expect(lift(after, undefined)).toBe(lift(before, undefined))
    expect(lift(after, undefined, false)).not.toBe(lift(after, undefined, true))
  })

  it('gives a resent seq at receive time the timestamp of the original, also after a restart', () => {
    const at = 1_700_000_000_000
    const first = new PointMapper(() => 100)
    const read = (mapper: PointMapper, seq: number | undefined, receivedAt: number, occupied = true) =>
      readingOf(mapper, { device, values: { occupied }, ts: receivedAt, receivedAt, seq })
    const original = [read(first, 5, at), read(first, 6, at + 10)]
    // Same process: the resend a second later maps to the original point.
    expect(read(first, 5, at + 1000).ts).toBe(original[0]!.ts)
    // A restarted hub learns the recent seqs from the journal tail (the records as journalled).
    const second = new PointMapper(() => 300)
    expect(
      second.restore(
        original.map((p) => JSON.stringify(p)),
        at + 2000,
      ),
    ).toBe(2)
    expect(read(second, 6, at + 3000).ts).toBe(original[1]!.ts)
    expect(read(second, 5, at + 3000).ts).toBe(original[0]!.ts)
    // Same seq, other values: a new reading (e.g. the device restarted its counter).
    expect(read(second, 5, at + 4000, false).ts).toBe(`${at + 4000}000300`)
    // Long after the original: a new reading too.
    expect(read(second, 6, at + RESEND_WINDOW_MS + 20).ts).toBe(`${at + RESEND_WINDOW_MS + 20}000300`)
    // Without seq (and without the device's clock) nothing identifies a resend: two points.
    const a = read(second, undefined, at + 5000)
    const b = read(second, undefined, at + 5000)
    expect(a.ts).not.toBe(b.ts)
  })

  it('remembers the last RESEND_PER_STREAM seqs of a busy device stream', () => {
    const mapper = new PointMapper(() => 0)
    const at = 1_700_000_000_000
    const read = (seq: number, receivedAt: number) =>
      readingOf(mapper, { device, values: { occupied: true }, ts: receivedAt, receivedAt, seq }).ts
    const first = Array.from({ length: 200 }, (_, seq) => read(seq, at + seq * 10))
    const later = at + 5000
    // Every one of the newest RESEND_PER_STREAM is recognised, in any order…
    for (let seq = 199; seq >= 200 - RESEND_PER_STREAM; seq--) expect(read(seq, later)).toBe(first[seq])
    // …an older one is not (a new point at its receive time).
    expect(read(0, later + 1)).toBe(`${later + 1}000000`)
  })

  it('gives a reading stamped by the device in its receive millisecond the same point when it is resent later', () => {
    const mapper = new PointMapper(() => 42)
    const at = 1_700_000_000_123
    const reading = (receivedAt: number) =>
      readingOf(mapper, { device, values: { occupied: true }, ts: at, ownTs: true, receivedAt, seq: 5 })
    const first = reading(at)
    expect(first.ts).toBe('1700000000123000005')
    expect(reading(at + 700).ts).toBe(first.ts)
  })

  it('recognises a resent device event by its seq', () => {
    const lift: Device = { ...device, id: 'lift9', kind: 'elevator', params: {} }
    const mapper = new PointMapper(() => 1)
    const at = 1_700_000_000_000
    const fault = (receivedAt: number, seq: number) =>
      mapper.deviceEvent({
        device: lift,
        type: 'fault',
        data: { code: 12, active: true },
        ts: receivedAt,
        receivedAt,
        seq,
      })
    const p = fault(at, 3)
    expect(p).toMatchObject({ m: 'elevator_event', t: { type: 'fault' }, f: { code: 12, count: 1, seq: 3 } })
    expect(fault(at + 500, 3).ts).toBe(p.ts)
    expect(fault(at + 500, 4).ts).not.toBe(p.ts)
  })

  it('writes alert transitions with the time to acknowledge and resolve', () => {
    const mapper = new PointMapper(() => 0)
    const alert = {
      id: 'a1',
      type: 'elevator.trapped',
      kind: 'elevator' as const,
      device_id: 'lift1',
      street: 's1',
      community: 'c1',
      estate: 'e1',
      building: null,
      severity: 'critical' as const,
      first_at: 1_000_000,
      occurrences: 2,
    }
    const p = mapper.alert(alert as never, {
      alert_id: 'a1',
      at: 1_090_000,
      action: 'acknowledged',
      actor: 'wang',
      channel: 'http',
      note: null,
    })
    expect(p).toMatchObject({
      m: 'alert_event',
      t: {
        kind: 'elevator',
        type: 'elevator.trapped',
        severity: 'critical',
        estate: 'e1',
        device_id: 'lift1',
      },
      f: { alert_id: 'a1', action: 'acknowledged', actor: 'wang', ack_s: 90, occurrences: 2 },
    })
    expect(typedFields(p)).toContainEqual(['occurrences', 'integer', 2])
  })
})
