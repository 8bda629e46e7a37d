import { describe, expect, it } from 'vitest'
import { cell } from '../../../src/http/routes/export.ts'

describe('CSV cells', () => {
  it('quotes separators and defuses spreadsheet formulas', () => {
    expect(cell('井盖开启')).toBe('井盖开启')
    expect(cell('a,b')).toBe('"a,b"')
    expect(cell('say "hi"')).toBe('"say ""hi"""')
    expect(cell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`)
    expect(cell('-1')).toBe("'-1")
    expect(cell(null)).toBe('')
    expect(cell(3)).toBe('3')
  })
})
