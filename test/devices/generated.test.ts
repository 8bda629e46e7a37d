import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import { dashboardOf } from '../../grafana/dashboards.ts'
import { DASHBOARDS_DIR, generatedDashboards } from '../../grafana/gen.ts'

/** What is generated from the kind definitions is checked in as generated: `npm run gen` rewrites it. */
describe('generated from the kind definitions', () => {
  it('has every kind dashboard in grafana/dashboards/ exactly as `npm run gen` writes it', () => {
    for (const [file, text] of generatedDashboards()) {
      const disk = path.join(DASHBOARDS_DIR, file)
      expect(fs.existsSync(disk), `${file} missing: run npm run gen`).toBe(true)
      expect(fs.readFileSync(disk, 'utf8'), `${file} differs from its kind: run npm run gen`).toBe(text)
    }
  })

  it('builds every field panel from a state field of its kind', () => {
    for (const id of KIND_IDS) {
      for (const panel of dashboardOf(KINDS[id]).panels)
        if ('field' in panel) expect(Object.keys(KINDS[id].state), `${id} dashboard`).toContain(panel.field)
    }
  })
})
