import type { Report } from './model.ts'
import { type Cell, type Lang, localTime, reportTables, type Table, t } from './tables.ts'

/**
 * The printable page: self-contained HTML (inline CSS and SVG charts, no script), A4 print CSS.
 * The dashboard's report view shows it in a frame; the scheduled message links to it.
 */

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

const cellHtml = (v: Cell) => (v === null ? '<span class="na">—</span>' : esc(String(v)))

function tableHtml(table: Table): string {
  const numeric = table.columns.map(
    (_, i) => table.rows.length > 0 && table.rows.every((r) => typeof r[i] !== 'string'),
  )
  const head = table.columns.map((c, i) => `<th${numeric[i] ? ' class="n"' : ''}>${esc(c)}</th>`).join('')
  const body = table.rows
    .map(
      (r) =>
        `<tr>${r.map((v, i) => `<td${numeric[i] ? ' class="n"' : ''}>${cellHtml(v)}</td>`).join('')}</tr>`,
    )
    .join('\n')
  const empty = table.rows.length === 0
  return `<section id="${table.id}">
<h2>${esc(table.title)}</h2>
${empty ? `<p class="note">${esc(table.note ?? '—')}</p>` : `<table${table.columns.length > 12 ? ' class="wide"' : ''}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`}
${!empty && table.note ? `<p class="note">${esc(table.note)}</p>` : ''}
</section>`
}

interface Bar {
  label: string
  value: number
  prev?: number | undefined
}

/** Horizontal bar chart as inline SVG (prints sharp, needs no script). */
function bars(title: string, data: Bar[], unit = '', legend?: [string, string]): string {
  if (data.length === 0) return ''
  const max = Math.max(1, ...data.flatMap((d) => [d.value, d.prev ?? 0]))
  const rowH = data.some((d) => d.prev !== undefined) ? 26 : 18
  const w = 640
  const labelW = 150
  const barW = w - labelW - 60
  const h = data.length * rowH + (legend ? 22 : 6)
  const rows = data
    .map((d, i) => {
      const y = i * rowH + 4
      const main = `<rect x="${labelW}" y="${y}" width="${(d.value / max) * barW}" height="11" class="cur"/>`
      const prev =
        d.prev !== undefined
          ? `<rect x="${labelW}" y="${y + 12}" width="${(d.prev / max) * barW}" height="7" class="prev"/>`
          : ''
      return `<text x="${labelW - 6}" y="${y + 10}" text-anchor="end">${esc(d.label)}</text>${main}${prev}<text x="${labelW + (d.value / max) * barW + 4}" y="${y + 10}">${d.value}${unit}</text>`
    })
    .join('')
  const leg = legend
    ? `<rect x="${labelW}" y="${h - 14}" width="10" height="10" class="cur"/><text x="${labelW + 14}" y="${h - 5}">${esc(legend[0])}</text><rect x="${labelW + 110}" y="${h - 12}" width="10" height="7" class="prev"/><text x="${labelW + 124}" y="${h - 5}">${esc(legend[1])}</text>`
    : ''
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="${esc(title)}">${rows}${leg}</svg></figure>`
}

export function renderHtml(
  report: Report,
  lang: Lang,
  links: { self?: (lang: Lang, format: string) => string } = {},
): string {
  const L = (zh: string, en: string) => t(lang, zh, en)
  const tables = reportTables(report, lang)
  const s = report.summary
  const kpi = (label: string, value: number, prev?: number) =>
    `<div class="kpi"><b>${value}</b><span>${esc(label)}</span>${prev !== undefined ? `<small>${L('上期', 'prev.')} ${prev}</small>` : ''}</div>`
  const tel = report.parking.telemetry
  const charts = [
    bars(
      L('告警(按级别)', 'Alerts by severity'),
      report.alerts_by_severity.map((k) => ({ label: k.name[lang], value: k.count, prev: k.prev })),
      '',
      [L('本期', 'This period'), L('上期', 'Previous')],
    ),
    bars(
      L('电梯故障排行', 'Lift faults'),
      report.lifts.rows.slice(0, 10).map((l) => ({ label: l.name, value: l.faults })),
    ),
    tel.status === 'ok'
      ? bars(
          L('车位占用率(按时段)', 'Parking occupancy by hour'),
          tel.data.by_hour
            .filter((h) => h.occupancy !== null)
            .map((h) => ({ label: `${String(h.hour).padStart(2, '0')}:00`, value: h.occupancy! })),
          '%',
        )
      : '',
  ].join('\n')
  const nav = links.self
    ? `<nav class="noprint">${[
        `<a href="${esc(links.self(lang === 'zh' ? 'en' : 'zh', 'html'))}">${lang === 'zh' ? 'English' : '中文'}</a>`,
        `<a href="${esc(links.self(lang, 'csv'))}">CSV</a>`,
        `<a href="${esc(links.self(lang, 'xlsx'))}">XLSX</a>`,
      ].join(' · ')}</nav>`
    : ''
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title[lang])}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
${nav}
<header>
<h1>${esc(report.title[lang])}</h1>
<div class="meta">${esc(`${L('范围', 'Scope')}: ${report.scope.name} · ${L('周期', 'Period')}: ${report.period.label} (${report.period.tz}) · ${L('生成于', 'Generated')} ${localTime(report.generated_at, report.period.tz)}`)}</div>
</header>
<div class="kpis">
${kpi(L('告警', 'Alerts'), s.alerts, s.alerts_prev)}
${kpi(L('紧急告警', 'Critical'), s.critical)}
${kpi(L('新开工单', 'Work orders'), s.work_orders_opened)}
${kpi(L('黑名单电梯', 'Black-listed lifts'), s.lifts_blacklisted)}
${kpi(L('期末未处理告警', 'Open alerts at end'), s.open_alerts_at_end)}
${kpi(L('期末未完成工单', 'Open orders at end'), s.open_work_orders_at_end)}
${kpi(L('完成工单', 'Orders resolved'), s.work_orders_resolved)}
${kpi(L('屏蔽期间告警', 'Suppressed'), s.suppressed)}
</div>
${charts}
${tables
  .filter((x) => x.id !== 'summary')
  .map(tableHtml)
  .join('\n')}
<footer class="note">${esc(L('数据来源:告警库与工单(精确计数),InfluxDB(遥测统计)。zhian 智安', 'Sources: the alert store and work orders (exact counts), InfluxDB (telemetry aggregates). zhian'))}</footer>
</body>
</html>
`
}

/**
 * The report's one stylesheet, inline so the page prints and mails as one file. Its hash is allowed by
 * the HTTP Content-Security-Policy (src/http/security-headers.ts); the page carries no script.
 */
export const REPORT_CSS = `
@page { size: A4 portrait; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font: 12px/1.45 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: #1d2733; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 20px; margin: 0 0 2px; }
h2 { font-size: 14px; margin: 16px 0 6px; border-left: 4px solid #2f6fb3; padding-left: 6px; }
.meta { color: #5b6b7c; margin-bottom: 10px; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; }
.kpi { border: 1px solid #d5dde6; border-radius: 4px; padding: 6px 8px; }
.kpi b { display: block; font-size: 20px; }
.kpi span { color: #3d4b5a; }
.kpi small { display: block; color: #7b8896; }
table { width: 100%; border-collapse: collapse; font-size: 11px; }
th, td { border: 1px solid #d5dde6; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #e8eef5; }
table.wide { font-size: 9px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
section { break-inside: auto; }
h2 { break-after: avoid; }
figure { margin: 8px 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 2px; }
svg text { font-size: 10px; fill: #1d2733; }
svg .cur { fill: #2f6fb3; }
svg .prev { fill: #b8c7d8; }
.note { color: #5b6b7c; font-style: italic; }
.na { color: #98a4b0; }
nav { margin-bottom: 8px; }
@media print { .noprint { display: none; } body { padding: 0; max-width: none; } }
`
