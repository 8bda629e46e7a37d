import ExcelJS from 'exceljs'
import type { Report } from './model.ts'
import { type Lang, reportTables } from './tables.ts'

/** XLSX through exceljs: one sheet per section, a bold frozen header row, numbers stored as numbers. */
export async function renderXlsx(report: Report, lang: Lang): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  wb.creator = 'zhian'
  wb.created = new Date(report.generated_at)
  wb.title = report.title[lang]
  for (const table of reportTables(report, lang)) {
    const ws = wb.addWorksheet(table.sheet.replace(/[[\]:*?/\\]/g, ' ').slice(0, 31), {
      views: [{ state: 'frozen', ySplit: 2 }],
      pageSetup: { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
    })
    ws.addRow([table.title]).font = { bold: true, size: 13 }
    const header = ws.addRow(table.columns)
    header.font = { bold: true }
    header.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE8EEF5' } }
    for (const r of table.rows) ws.addRow(r)
    if (table.note && table.rows.length === 0) ws.addRow([table.note]).font = { italic: true }
    table.columns.forEach((c, i) => {
      const widest = Math.max(c.length, ...table.rows.map((r) => String(r[i] ?? '').length))
      ws.getColumn(i + 1).width = Math.min(60, Math.max(8, widest * 1.6 + 2))
    })
  }
  return Buffer.from(await wb.xlsx.writeBuffer())
}
