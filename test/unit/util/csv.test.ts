import { describe, expect, it } from 'vitest'
import { csvCell } from '../../../src/util/csv.ts'

describe('CSV cells (alerts export and reports)', () => {
  it('defuses a text that a spreadsheet would run as a formula, including behind a tab or carriage return', () => {
    expect(csvCell('=1+2')).toBe(`'=1+2`)
    expect(csvCell('+1')).toBe(`'+1`)
    expect(csvCell('-1')).toBe(`'-1`)
    expect(csvCell('@SUM(A1)')).toBe(`'@SUM(A1)`)
    expect(csvCell('\t=1+2')).toBe(`'\t=1+2`)
    expect(csvCell('\r=1+2')).toBe(`"'\r=1+2"`)
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`)
  })

  it('quotes separators and line breaks, leaves numbers and plain text alone', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('a\nb')).toBe('"a\nb"')
    expect(csvCell('1号楼')).toBe('1号楼')
    expect(csvCell(-3)).toBe('-3')
    expect(csvCell(false)).toBe('false')
    expect(csvCell(null)).toBe('')
    expect(csvCell(undefined)).toBe('')
  })
})
