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
    // The lifts, passages and bays have named sections of their own.
    expect(sections.map((s) => s.kind)).toEqual(['manhole'])
    const [mh] = sections
    expect(mh).toMatchObject({ id: 'manholes', total: 3, title: { zh: '井盖', en: 'Manholes' } })
    expect(mh!.columns.map((c) => c.key)).toEqual(['cover_open', 'cover_loose', 'water_high', 'water_rising'])
    expect(mh!.rows.map((r) => [r.device_id, r.counts])).toEqual([
      ['mh2', { cover_open: 1, cover_loose: 0, water_high: 1, water_rising: 0 }],
      ['mh1', { cover_open: 0, cover_loose: 1, water_high: 0, water_rising: 0 }],
    ])
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
