import { ZhianError } from '../errors.ts'

/**
 * What an uploaded site plan may be: a PNG, a JPEG or an SVG, under PLAN_MAX_BYTES, whose bytes are
 * what its Content-Type says. An SVG is refused unless it is plainly a drawing: no scripts, no event
 * attributes, no external references, no DTD (entity expansion). It is also only ever served with a
 * Content-Security-Policy that runs nothing and shown through <img>, where browsers run no script.
 */

export const PLAN_MAX_BYTES = 2 * 1024 * 1024
export const PLAN_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const
export type PlanType = (typeof PLAN_TYPES)[number]

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** The type the bytes are, or undefined: PNG by its 8-byte signature (PNG spec §5.2), JPEG by SOI + a marker. */
export function sniff(bytes: Buffer): PlanType | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  const head = bytes
    .subarray(0, 1024)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(head)) return 'image/svg+xml'
  return undefined
}

/** The declared media type without parameters, if it is one of ours. */
export function planType(contentType: string | undefined): PlanType | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  return (PLAN_TYPES as readonly string[]).includes(t) ? (t as PlanType) : undefined
}

/**
 * What makes an SVG text unsafe to show — the offending piece as written (`<script`, `onclick=`, an
 * external `href`), so the answer reads the same in either language — or undefined.
 */
export function svgProblem(text: string): string | undefined {
  const checks: RegExp[] = [
    /<!DOCTYPE|<!ENTITY/i,
    /<\s*script\b/i,
    /<\s*(foreignObject|iframe|embed|object|audio|video|handler|listener)\b/i,
    /\son[a-z]+\s*=/i,
    /javascript:|vbscript:/i,
    /@import/i,
    /url\(\s*['"]?(?!#)[^)]{0,40}/i,
  ]
  for (const pattern of checks) {
    const m = pattern.exec(text)
    if (m) return m[0].trim()
  }
  // href / xlink:href / src may only point inside the drawing or to an embedded raster image.
  for (const m of text.matchAll(/\s((?:xlink:)?(?:href|src))\s*=\s*(["'])(.*?)\2/gis)) {
    const target = m[3]!.trim()
    if (!target.startsWith('#') && !/^data:image\/(png|jpeg);base64,/i.test(target))
      return `${m[1]}="${target.slice(0, 60)}"`
  }
  return undefined
}

/** Check an upload; returns its type. Throws the coded refusal otherwise. */
export function checkPlanUpload(contentType: string | undefined, bytes: Buffer): PlanType {
  if (bytes.length > PLAN_MAX_BYTES)
    throw new ZhianError('ZHIAN_ERR_PLAN_TOO_LARGE', `${bytes.length} > ${PLAN_MAX_BYTES} bytes`)
  const declared = planType(contentType)
  if (!declared) throw new ZhianError('ZHIAN_ERR_PLAN_TYPE', `Content-Type: ${contentType || '—'}`)
  const actual = sniff(bytes)
  if (actual !== declared)
    throw new ZhianError(
      'ZHIAN_ERR_PLAN_TYPE',
      `declared ${declared}, the bytes are ${actual ?? 'no image we accept'}`,
    )
  if (declared === 'image/svg+xml') {
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } catch {
      throw new ZhianError('ZHIAN_ERR_PLAN_TYPE', 'SVG ≠ UTF-8')
    }
    const problem = svgProblem(text)
    if (problem) throw new ZhianError('ZHIAN_ERR_PLAN_UNSAFE', problem)
  }
  return declared
}
