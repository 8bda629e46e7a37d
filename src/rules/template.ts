import type { Fields, Text } from '../../devices/types.ts'

export type Lang = keyof Text

/**
 * Format one template value: numbers to the field's `decimals` (else to 2), enum values by their
 * label, zh/en text by language.
 */
export function formatValue(value: unknown, lang: Lang, field?: Fields[string]): string {
  if (absent(value)) return '?'
  if (typeof value === 'number') {
    const decimals = field && 'decimals' in field && field.decimals !== undefined ? field.decimals : 2
    return String(Math.round(value * 10 ** decimals) / 10 ** decimals)
  }
  if (typeof value === 'boolean') return lang === 'zh' ? (value ? '是' : '否') : value ? 'yes' : 'no'
  if (typeof value === 'object' && 'zh' in value && 'en' in value) return String((value as Text)[lang])
  if (typeof value === 'string' && field?.type === 'enum') return field.valueLabels?.[value]?.[lang] ?? value
  return String(value)
}

const PLACEHOLDER = /\{([a-z0-9_]+)\}/g
/** `[…]`: an optional segment (no nesting). */
const SEGMENT = /\[([^[\]]*)\]/g

const absent = (value: unknown) => value === undefined || value === null || value === ''

/**
 * `{key}` placeholders filled from `lookup`. A value the device may not report goes in an optional
 * segment, `[…]`: kept (without its brackets) when every placeholder in it has a value, left out
 * otherwise — `{name} 被[{object_class}]占用` reads "消防通道3段 被占用" from a sensor that cannot
 * tell what stands there. Brackets without a placeholder are plain text. A placeholder outside a
 * segment with no value renders as `?`, so a bad template shows.
 */
export function render(
  template: string,
  lang: Lang,
  lookup: (key: string) => unknown,
  fields?: Fields,
): string {
  const kept = template.replace(SEGMENT, (whole, inner: string) => {
    const keys = [...inner.matchAll(PLACEHOLDER)].map((m) => m[1]!)
    if (keys.length === 0) return whole
    return keys.every((k) => !absent(lookup(k))) ? inner : ''
  })
  return kept.replace(PLACEHOLDER, (_m, key: string) => formatValue(lookup(key), lang, fields?.[key]))
}
