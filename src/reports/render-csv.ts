import { csvCell } from '../util/csv.ts'
import type { Report } from './model.ts'
import { type Cell, type Lang, reportTables } from './tables.ts'

/**
 * CSV: every section as a block (its title, the header row, the rows), blank line between blocks.
 * UTF-8 with a BOM so Excel reads the Chinese; cells quoted and defused against formulas by the same
 * rule as the alerts export (src/util/csv.ts).
 */
export function renderCsv(report: Report, lang: Lang): string {
  const lines: string[] = []
  for (const table of reportTables(report, lang)) {
    lines.push(row([`# ${table.title}`]))
    lines.push(row(table.columns))
    for (const r of table.rows) lines.push(row(r))
    if (table.note && table.rows.length === 0) lines.push(row([table.note]))
    lines.push('')
  }
  return `\uFEFF${lines.join('\r\n')}`
}

function row(cells: Cell[]): string {
  return cells.map(csvCell).join(',')
}
