import { KINDS } from '../../../devices/index.ts'
import type { Severity } from '../../alerts/types.ts'
import { ApiError } from './api.ts'
import { hasMessage, lang, type MessageKey, t, tx } from './i18n.ts'

/** Severity colours, the same on every view (and in the ECharts series). */
export const SEV_COLOR: Record<Severity, string> = {
  critical: '#e5484d',
  major: '#f76b15',
  minor: '#ffc53d',
  warning: '#3e93de',
  info: '#8b949e',
}

export const SEVERITY_LIST: Severity[] = ['critical', 'major', 'minor', 'warning', 'info']

export function sevLabel(s: Severity): string {
  return t(`sev_${s}` as MessageKey)
}

export function statusLabel(s: string): string {
  return t(`st_${s}` as MessageKey)
}

/** Kind names and field labels come from the device catalogue (devices/), like everywhere else. */
export function kindName(kind: string): string {
  return kind in KINDS ? tx(KINDS[kind as keyof typeof KINDS].names) : kind
}

export function fieldLabel(kind: string, field: string): string {
  const def = KINDS[kind as keyof typeof KINDS]
  const spec = def ? (def.state as Record<string, { label: { zh: string; en: string } }>)[field] : undefined
  if (spec) return tx(spec.label)
  const key = `field_${field}`
  return hasMessage(key) ? t(key) : field
}

/** An enum value in the user's language (e.g. elevator door `open` → 开). */
export function valueLabel(kind: string, field: string, value: unknown): string {
  const def = KINDS[kind as keyof typeof KINDS]
  const spec = def
    ? (
        def.state as Record<
          string,
          { valueLabels?: Record<string, { zh: string; en: string }>; unit?: string }
        >
      )[field]
    : undefined
  if (value === undefined || value === null) return '—'
  if (typeof value === 'boolean') return value ? '✓' : '✗'
  const label = spec?.valueLabels?.[String(value)]
  if (label) return tx(label)
  return spec?.unit ? `${value} ${spec.unit}` : String(value)
}

export const KIND_IDS = Object.keys(KINDS)

/** Who made a transition: a login name, or the hub itself (the rule engine, dispatch) named like its channel. */
export function actorLabel(entry: { actor: string; channel: string }): string {
  return entry.actor === entry.channel ? channelLabel(entry.channel) : entry.actor
}

/** An audit entry's `channel` (rule, http, dispatch…) in the user's language. */
export function channelLabel(channel: string): string {
  const key = `via_${channel}`
  return hasMessage(key) ? t(key) : channel
}

/**
 * A failed call in the user's language, with the hub's code (ZHIAN_ERR_*) so a refusal can be looked up.
 * Kept as the error, not a string, so switching language re-renders it.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const message = lang.value === 'zh' ? err.messageZh || err.message : err.message
    return `${message} (${err.code})`
  }
  return `${t('load_failed')}: ${err instanceof Error ? err.message : String(err)}`
}
