import type { Fields, Text } from '../../devices/types.ts'

export type Lang = keyof Text

/** Format one template value: numbers rounded, enum values by their label, zh/en text by language. */
export function formatValue(value: unknown, lang: Lang, field?: Fields[string]): string {
  if (value === undefined || value === null) return '?'
  if (typeof value === 'number') return String(Math.round(value * 100) / 100)
  if (typeof value === 'boolean') return lang === 'zh' ? (value ? '是' : '否') : value ? 'yes' : 'no'
  if (typeof value === 'object' && 'zh' in value && 'en' in value) return String((value as Text)[lang])
  if (typeof value === 'string' && field?.type === 'enum') return field.valueLabels?.[value]?.[lang] ?? value
  return String(value)
}

/** `{key}` placeholders filled from `lookup`; unknown keys render as `?` so a bad template shows. */
export function render(
  template: string,
  lang: Lang,
  lookup: (key: string) => unknown,
  fields?: Fields,
): string {
  return template.replace(/\{([a-z0-9_]+)\}/g, (_m, key: string) =>
    formatValue(lookup(key), lang, fields?.[key]),
  )
}
