import { KINDS } from '../../../devices/index.ts'
import type { Severity } from '../../alerts/types.ts'
import { ApiError } from './api.ts'
import { fmtDuration, hasMessage, lang, type MessageKey, t, tx } from './i18n.ts'

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

/**
 * A value in the user's language: an enum by its label (elevator door `open` → 开), a number to the
 * field's `decimals` (what the sensor means: 20 cm, not 20.09 cm) with its unit.
 */
export function valueLabel(kind: string, field: string, value: unknown): string {
  const def = KINDS[kind as keyof typeof KINDS]
  const spec = def
    ? (
        def.state as Record<
          string,
          { valueLabels?: Record<string, { zh: string; en: string }>; unit?: string; decimals?: number }
        >
      )[field]
    : undefined
  if (value === undefined || value === null) return '—'
  if (typeof value === 'boolean') return value ? '✓' : '✗'
  const label = spec?.valueLabels?.[String(value)]
  if (label) return tx(label)
  const shown =
    typeof value === 'number' && spec?.decimals !== undefined
      ? String(Math.round(value * 10 ** spec.decimals) / 10 ** spec.decimals)
      : String(value)
  return spec?.unit ? withUnit(shown, spec.unit) : shown
}

/** `20 cm`, but `3°` and `80%`: the degree and per-cent signs sit on the number. */
export function withUnit(value: string, unit: string): string {
  return unit === '°' || unit === '%' ? `${value}${unit}` : `${value} ${unit}`
}

/**
 * The values that raised an alert, as people read them: the kind's labelled fields and one duration.
 * The rule's own helpers (`subtype`, `where`, the same duration in minutes and hours) are left out:
 * the message already says them in words.
 */
export function triggerRows(kind: string, values: Record<string, unknown>): [string, string][] {
  const state = (KINDS[kind as keyof typeof KINDS]?.state ?? {}) as Record<string, unknown>
  const rows: [string, string][] = []
  for (const [field, value] of Object.entries(values)) {
    if (field === 'held_s' && typeof value === 'number') rows.push([t('held_for'), fmtDuration(value * 1000)])
    else if (field in state || (hasMessage(`field_${field}`) && !field.startsWith('held_')))
      rows.push([fieldLabel(kind, field), valueLabel(kind, field, value)])
  }
  return rows
}

/**
 * An audit note as people read it: a team by its name (`assigned` notes start with the team id), the
 * hub's own bilingual notes ("<中文> / <English>") in the user's language, no work-order ids.
 */
export function auditNote(
  entry: { action: string; channel: string; note: string | null },
  teamName: (id: string) => string,
): string {
  let note = entry.note ?? ''
  let head = ''
  if (entry.action === 'assigned') {
    const [team = '', ...rest] = note.split(': ')
    head = teamName(team)
    note = rest.join(': ')
  }
  // Notes stored before the dispatcher stopped naming its orders by id.
  note = note.replace(/工单 wo_[0-9a-z]+(: )?/g, '')
  if (entry.channel === 'rule') note = ruleNote(note)
  if (entry.channel === 'dispatch') note = oneLanguage(note)
  return head && note ? `${head}:${note}` : head || note
}

/** The alert store's own notes on rule transitions (src/alerts/store.ts), in the user's language. */
function ruleNote(note: string): string {
  if (lang.value !== 'zh') return note
  if (note === 'auto-resolved: condition cleared') return '现场已恢复,自动关闭'
  if (note.startsWith('no longer suppressed')) return '静默结束,恢复通知'
  const gate = /^suppressed: (silence|maintenance|service_mode)/.exec(note)?.[1]
  if (gate)
    return { silence: '静默期间,未通知', maintenance: '维保期间,未通知', service_mode: '检修模式,未通知' }[
      gate
    ]!
  return note
}

/** "<中文> / <English>" → the half in the user's language; anything else as it is. */
function oneLanguage(note: string): string {
  const at = note.indexOf(' / ')
  if (at < 0 || !/[\u4e00-\u9fff]/.test(note.slice(0, at))) return note
  return lang.value === 'zh' ? note.slice(0, at) : note.slice(at + 3)
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
