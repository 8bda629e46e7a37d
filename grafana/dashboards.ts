import type { DashboardPanel, FieldSpec, KindDashboard, KindDefinition, Text } from '../devices/types.ts'

/**
 * The per-kind Grafana dashboards, built from the kind definitions (`dashboard` in devices/<kind>.ts,
 * or one derived from the state fields). `npm run gen` writes them to grafana/dashboards/; a meta-test
 * fails when the checked-in files differ. InfluxQL only, on the fixed datasource, so they work on
 * InfluxDB 1.x, 2.x with DBRP and 3.x.
 */

const DATASOURCE = { type: 'influxdb', uid: 'zhian-influx' }
const ESTATE = '"estate" =~ /^$estate$/ AND $timeFilter'
/** Grafana's unit ids for the units the kinds declare. */
const GRAFANA_UNITS: Record<string, string> = {
  '°': 'degree',
  cm: 'lengthcm',
  '%': 'percent',
  'm/s': 'velocityms',
  s: 's',
  m: 'lengthm',
}

const both = (t: Text) => `${t.zh} ${t.en}`

/** A kind without a declared dashboard: one panel per numeric or boolean state field. */
export function derivedDashboard(def: KindDefinition): KindDashboard {
  const panels: DashboardPanel[] = []
  for (const [field, spec] of Object.entries(def.state)) {
    if (spec.type === 'int' || spec.type === 'float')
      panels.push({ field, select: 'mean', fill: 'none', w: 12, h: 8 })
    else if (spec.type === 'bool')
      panels.push({
        field,
        select: 'last',
        fill: 'previous',
        w: 12,
        h: 8,
        custom: { lineInterpolation: 'stepAfter' },
      })
  }
  return {
    file: `${def.id.replace(/_/g, '-')}.json`,
    title: { zh: `智安 ${def.names.zh}`, en: def.names.en },
    panels,
  }
}

export function dashboardOf(def: KindDefinition): KindDashboard {
  return def.dashboard ?? derivedDashboard(def)
}

function panelJson(def: KindDefinition, p: DashboardPanel, id: number, pos: { x: number; y: number }) {
  let type: string
  let title: string
  let query: string
  let format: string
  let unit: string | undefined
  if ('field' in p) {
    const spec: FieldSpec | undefined = def.state[p.field]
    if (!spec) throw new Error(`${def.id} dashboard: no state field "${p.field}"`)
    type = 'timeseries'
    title = both(p.title ?? spec.label)
    const where = p.where ? `${p.where} AND ` : ''
    query = `SELECT ${p.select}("${p.field}") FROM "${def.id}" WHERE ${where}${ESTATE} GROUP BY time($__interval), "device_id" fill(${p.fill})`
    format = 'time_series'
    unit = 'unit' in spec && spec.unit ? GRAFANA_UNITS[spec.unit] : undefined
  } else {
    type = p.type
    title = both(p.title)
    query = p.query
    format = p.format ?? (p.type === 'table' ? 'table' : 'time_series')
    unit = p.unit
  }
  return {
    id,
    type,
    title,
    datasource: DATASOURCE,
    gridPos: { w: p.w, h: p.h, x: pos.x, y: pos.y },
    targets: [{ refId: 'A', datasource: DATASOURCE, query, rawQuery: true, resultFormat: format }],
    ...('options' in p && p.options ? { options: p.options } : {}),
    fieldConfig: {
      defaults: { ...(unit ? { unit } : {}), ...(p.custom ? { custom: p.custom } : {}) },
      overrides: [],
    },
    ...('transformations' in p && p.transformations ? { transformations: p.transformations } : {}),
  }
}

/** The dashboard JSON of one kind, as Grafana's file provider reads it. */
export function kindDashboardJson(def: KindDefinition): { file: string; json: unknown } {
  const d = dashboardOf(def)
  const panels: unknown[] = []
  let x = 0
  let y = 0
  let rowH = 0
  d.panels.forEach((p, i) => {
    if (x + p.w > 24) {
      x = 0
      y += rowH
      rowH = 0
    }
    panels.push(panelJson(def, p, i + 1, { x, y }))
    x += p.w
    rowH = Math.max(rowH, p.h)
  })
  return {
    file: d.file,
    json: {
      uid: `zhian-${d.file.replace(/\.json$/, '')}`,
      title: both(d.title),
      tags: ['zhian'],
      timezone: 'browser',
      editable: true,
      schemaVersion: 39,
      version: 1,
      time: { from: d.from ?? 'now-7d', to: 'now' },
      refresh: '1m',
      graphTooltip: 1,
      annotations: { list: [] },
      links: [{ type: 'dashboards', tags: ['zhian'], asDropdown: true, title: 'zhian' }],
      templating: {
        list: [
          {
            name: 'estate',
            label: '小区 Estate',
            type: 'query',
            datasource: DATASOURCE,
            query: 'SHOW TAG VALUES WITH KEY = "estate"',
            definition: 'SHOW TAG VALUES WITH KEY = "estate"',
            refresh: 2,
            includeAll: true,
            multi: true,
            allValue: '.*',
            sort: 1,
            current: { selected: true, text: ['All'], value: ['$__all'] },
            options: [],
          },
        ],
      },
      panels,
    },
  }
}

/** The file's text as gen writes it. */
export function dashboardText(json: unknown): string {
  return `${JSON.stringify(json, null, 2)}\n`
}
