import { describe, expect, it } from 'vitest'
import { checkPlanUpload, sniff, svgProblem } from '../../../src/plans/image.ts'

const code = (fn: () => unknown) => {
  try {
    fn()
    return 'accepted'
  } catch (err) {
    return (err as { code?: string }).code
  }
}

describe('site plan uploads', () => {
  it('knows PNG and JPEG by their signatures and SVG by its root element (BOM, XML declaration, comments allowed)', () => {
    expect(sniff(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('image/png')
    expect(sniff(Buffer.from('ffd8ffe000104a464946', 'hex'))).toBe('image/jpeg')
    expect(sniff(Buffer.from('\uFEFF<?xml version="1.0"?>\n<!-- plan --><svg viewBox="0 0 1 1"/>'))).toBe(
      'image/svg+xml',
    )
    expect(sniff(Buffer.from('GIF89a'))).toBeUndefined()
    expect(sniff(Buffer.from('<html><svg/></html>'))).toBeUndefined()
  })

  it('accepts a plain drawing, internal references and embedded raster images; refuses what can run or fetch', () => {
    expect(
      svgProblem('<svg><defs><linearGradient id="g"/></defs><rect fill="url(#g)"/><use href="#g"/></svg>'),
    ).toBeUndefined()
    expect(svgProblem('<svg><image href="data:image/png;base64,iVBORw0KGgo="/></svg>')).toBeUndefined()
    expect(svgProblem('<svg><SCRIPT>x()</SCRIPT></svg>')).toBe('<SCRIPT')
    expect(svgProblem('<svg><rect onload = "x()"/></svg>')).toBe('onload =')
    expect(svgProblem('<svg><a xlink:href="javascript:x()"><rect/></a></svg>')).toBe('javascript:')
    expect(svgProblem('<svg><image xlink:href="http://evil.example/p.png"/></svg>')).toBe(
      'xlink:href="http://evil.example/p.png"',
    )
    expect(svgProblem('<svg><style>rect { fill: url(https://evil.example/x) }</style></svg>')).toMatch(
      /^url\(https:/,
    )
    expect(svgProblem('<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>')).toBe('<!DOCTYPE')
    expect(svgProblem('<svg><foreignObject><div/></foreignObject></svg>')).toBe('<foreignObject')
  })

  it('answers each refusal with its code', () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')
    expect(code(() => checkPlanUpload('image/svg+xml; charset=utf-8', svg))).toBe('accepted')
    expect(code(() => checkPlanUpload('image/png', svg))).toBe('ZHIAN_ERR_PLAN_TYPE')
    expect(code(() => checkPlanUpload(undefined, svg))).toBe('ZHIAN_ERR_PLAN_TYPE')
    expect(
      code(() => checkPlanUpload('image/svg+xml', Buffer.from([0x3c, 0x73, 0x76, 0x67, 0x20, 0xff, 0x3e]))),
    ).toBe('ZHIAN_ERR_PLAN_TYPE')
    expect(code(() => checkPlanUpload('image/svg+xml', Buffer.from('<svg><script/></svg>')))).toBe(
      'ZHIAN_ERR_PLAN_UNSAFE',
    )
    expect(code(() => checkPlanUpload('image/png', Buffer.alloc(2 * 1024 * 1024 + 1)))).toBe(
      'ZHIAN_ERR_PLAN_TOO_LARGE',
    )
  })
})
