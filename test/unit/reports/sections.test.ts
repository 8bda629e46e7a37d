import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../../devices/index.ts'
import type { KindDefinition } from '../../../devices/types.ts'
import type { Device } from '../../../src/core/bus.ts'
import { countsReportOf, kindSections, NAMED_SECTIONS } from '../../../src/reports/sections.ts'

const device = (id: string, kind: string): Device =>
  ({ id, kind, estate: 'e1', name: null, location: null, params: {} }) as unknown as Device

describe('report sections declared by the kinds', () => {
  it('counts the manholes’ declared alerts per device, ranked by opened + water high, leaving out quiet ones', () => {
    const devices = [
      device('mh1', 'manhole'),
      device('mh2', 'manhole'),
      device('mh3', 'manhole'),
      device('lift1', 'elevator'),
    ]
    const raised: Record<string, { type: string; device_id: string }[]> = {
      mh1: [{ type: 'manhole.cover_loose', device_id: 'mh1' }],
      mh2: [
        { type: 'manhole.cover_open', device_id: 'mh2' },
        { type: 'manhole.water_high', device_id: 'mh2' },
        { type: 'manhole.offline', device_id: 'mh2' },
      ],
      lift1: [{ type: 'elevator.trapped', device_id: 'lift1' }],
    }
    const sections = kindSections(devices, (id) => raised[id] ?? [])
    // The lifts, passages and bays have named sections of their own; the lifts also count e-bikes.
    expect(sections.map((s) => s.id)).toEqual(['ebike_in_lift', 'manholes'])
    const mh = sections.find((s) => s.kind === 'manhole')
    expect(mh).toMatchObject({ id: 'manholes', total: 3, title: { zh: '井盖', en: 'Manholes' } })
    expect(mh!.columns.map((c) => c.key)).toEqual(['cover_open', 'cover_loose', 'water_high', 'water_rising'])
    expect(mh!.rows.map((r) => [r.device_id, r.counts])).toEqual([
      ['mh2', { cover_open: 1, cover_loose: 0, water_high: 1, water_rising: 0 }],
      ['mh1', { cover_open: 0, cover_loose: 1, water_high: 0, water_rising: 0 }],
    ])
  })

  it('counts every e-bike sighting per lift, and high-altitude throws per building, the worst first', () => {
    const at = (id: string, kind: string, building: string | undefined, name: string) =>
      ({ ...device(id, kind), building, name }) as Device
    const devices = [
      at('lift1', 'elevator', 'b1', '1号楼1号电梯'),
      at('lift2', 'elevator', 'b1', '1号楼2号电梯'),
      at('cam1', 'ai_camera', 'b1', '1号楼南摄像机'),
      at('cam2', 'ai_camera', 'b1', '1号楼北摄像机'),
      at('cam3', 'ai_camera', 'b2', '2号楼摄像机'),
      at('cam4', 'ai_camera', undefined, '东门摄像机'),
    ]
    const raised: Record<string, { type: string; device_id: string; occurrences: number }[]> = {
      lift1: [{ type: 'elevator.ebike_in_lift', device_id: 'lift1', occurrences: 1 }],
      lift2: [
        { type: 'elevator.ebike_in_lift', device_id: 'lift2', occurrences: 3 },
        { type: 'elevator.ebike_in_lift', device_id: 'lift2', occurrences: 1 },
      ],
      cam1: [{ type: 'ai_camera.high_altitude_throw', device_id: 'cam1', occurrences: 2 }],
      cam2: [{ type: 'ai_camera.high_altitude_throw', device_id: 'cam2', occurrences: 1 }],
      cam3: [{ type: 'ai_camera.high_altitude_throw', device_id: 'cam3', occurrences: 1 }],
      cam4: [{ type: 'ai_camera.illegal_parking', device_id: 'cam4', occurrences: 1 }],
    }
    const names: Record<string, string> = { b1: '1号楼', b2: '2号楼' }
    const sections = kindSections(
      devices,
      (id) => raised[id] ?? [],
      KINDS,
      KIND_IDS,
      (id) => names[id] ?? id,
    )
    const ebikes = sections.find((s) => s.id === 'ebike_in_lift')!
    expect(ebikes.rows.map((r) => [r.name, r.counts.ebike_in_lift])).toEqual([
      ['1号楼2号电梯', 4],
      ['1号楼1号电梯', 1],
    ])
    const throws = sections.find((s) => s.id === 'high_altitude_throw')!
    expect(throws.rows.map((r) => [r.device_id, r.name, r.counts.high_altitude_throw])).toEqual([
      ['b1', '1号楼', 3],
      ['b2', '2号楼', 1],
    ])
    expect(throws.total).toBe(3)
    const cameras = sections.find((s) => s.id === 'camera_detections')!
    expect(cameras.rows.map((r) => r.device_id)).toEqual(['cam1', 'cam2', 'cam3', 'cam4'])
  })

  it('derives a section for a kind that declares none: each alert but offline and low battery', () => {
    const { report: _, ...manhole } = KINDS.manhole
    expect(countsReportOf(manhole)?.counts.map((c) => c.alert)).toEqual([
      'cover_open',
      'cover_loose',
      'water_high',
      'water_rising',
    ])
    expect(countsReportOf(KINDS.elevator)).toBeUndefined()
  })

  it('knows every named section a kind chooses, and every alert a counts section lists', () => {
    for (const id of KIND_IDS) {
      const report = (KINDS[id] as KindDefinition).report
      if (report && 'section' in report) expect(NAMED_SECTIONS, id).toContain(report.section)
      for (const c of countsReportOf(KINDS[id])?.counts ?? [])
        expect(Object.keys(KINDS[id].alerts), id).toContain(c.alert)
    }
  })
})
