import fs from 'node:fs'
import path from 'node:path'
import { KIND_IDS, KINDS } from '../devices/index.ts'
import { dashboardText, kindDashboardJson } from './dashboards.ts'

/**
 * `npm run gen`: writes every kind's Grafana dashboard from its definition to grafana/dashboards/.
 * The cross-kind dashboards there (estate overview, alerts) are written by hand and left alone.
 */

export const DASHBOARDS_DIR = path.resolve(import.meta.dirname, 'dashboards')

/** File name → text of every generated dashboard. */
export function generatedDashboards(): Map<string, string> {
  const out = new Map<string, string>()
  for (const id of KIND_IDS) {
    const { file, json } = kindDashboardJson(KINDS[id])
    if (out.has(file)) throw new Error(`two kinds write grafana/dashboards/${file}`)
    out.set(file, dashboardText(json))
  }
  return out
}

if (process.argv[1]?.endsWith('gen.ts')) {
  for (const [file, text] of generatedDashboards()) {
    const target = path.join(DASHBOARDS_DIR, file)
    const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined
    if (before !== text) fs.writeFileSync(target, text)
    process.stdout.write(`${before === text ? 'unchanged' : 'wrote'} grafana/dashboards/${file}\n`)
  }
}
