/**
 * One CSV cell, for every CSV the hub writes (the alerts export, reports). RFC 4180 quoting; a text
 * a spreadsheet would run as a formula gets a leading `'` — one starting with = + - @, or with a tab
 * or carriage return, which Excel and LibreOffice skip before they look for one (OWASP "CSV
 * Injection"). Numbers stay numbers: -3 is a value, not a formula.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return String(value)
  let s = String(value)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}
