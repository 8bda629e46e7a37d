import { CHANNEL_NAMES, wordOf } from '../../core/vocabulary.ts'
import type { Delivery, WorkOrderEvent } from '../../dispatch/types.ts'
import { ERRORS, type ErrorCode } from '../../errors.ts'
import { ApiError } from './api.ts'
import { lang, tx } from './i18n.ts'
import { teamList } from './teams.ts'

/**
 * Work-order history and refusals as people read them: one language, names instead of ids. The
 * dispatcher writes its own notes as "<中文> / <English>" (src/dispatch/dispatcher.ts); the reader
 * gets the half in its language. Notes people typed are shown as typed.
 */

const L = (zh: string, en: string) => (lang.value === 'zh' ? zh : en)

/** The hub's own actor on work-order events (dispatcher.ts `SYSTEM`). */
const DISPATCH = 'dispatch'

const ACTION: Record<string, [string, string]> = {
  dispatched: ['派单', 'Dispatched'],
  accepted: ['接单', 'Accepted'],
  on_site: ['到场', 'On site'],
  resolved: ['完成', 'Resolved'],
  cancelled: ['取消', 'Cancelled'],
  notified: ['通知', 'Notification'],
  reminded: ['提醒', 'Reminder'],
  escalated: ['升级', 'Escalated'],
  sla_breached: ['超时', 'Overdue'],
  commented: ['备注', 'Note'],
}

export function actionText(action: string): string {
  const words = ACTION[action]
  return words ? L(...words) : action
}

/** A login name as the person's name in the teams (a member's `user:`), else the login name. */
export function personName(username: string): string {
  if (username === DISPATCH) return L('派单系统', 'dispatch')
  if (username === 'rule') return L('规则引擎', 'rule engine')
  for (const t of teamList()) {
    const m = t.members?.find((x) => x.user === username)
    if (m) return m.name
  }
  return username
}

/** A member reference `<team>/<member>` (deliveries, assignees) as the member's name. */
export function memberName(ref: string | null | undefined): string {
  if (!ref) return '—'
  const [teamId, memberId] = ref.split('/')
  const team = teamList().find((t) => t.id === teamId)
  return team?.members?.find((m) => m.id === memberId)?.name ?? memberId ?? ref
}

/** A history line's time: the time of day for today (a phone line is short), the date too before that. */
export function historyTime(at: number, now = Date.now()): string {
  const locale = lang.value === 'zh' ? 'zh-CN' : 'en-GB'
  const d = new Date(at)
  const sameDay = d.toDateString() === new Date(now).toDateString()
  const time = d.toLocaleTimeString(locale, {
    hour12: false,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
  return sameDay ? time : `${d.toLocaleDateString(locale, { month: 'numeric', day: 'numeric' })} ${time}`
}

/** The dispatcher's bilingual notes carry " / " between the languages; a person's note is shown whole. */
function bilingual(e: WorkOrderEvent): boolean {
  if (!e.note?.includes(' / ')) return false
  // Written by the dispatcher: its own events, the opening (also by hand) and the close by the alert.
  return e.actor === DISPATCH || e.action === 'dispatched' || /^告警已(自动恢复|解决)/.test(e.note)
}

export function noteText(e: WorkOrderEvent): string {
  if (!e.note) return ''
  if (!bilingual(e)) return e.note
  const at = e.note.indexOf(' / ')
  return lang.value === 'zh' ? e.note.slice(0, at) : e.note.slice(at + 3)
}

const DELIVERY: Record<Delivery['status'], [string, string]> = {
  pending: ['发送中', 'sending'],
  delivered: ['已送达', 'delivered'],
  failed: ['未送达', 'not delivered'],
}

/** "王师傅 · 钉钉 · 已送达". */
export function deliveryText(d: Delivery): string {
  const channel = d.channel ? tx(wordOf(CHANNEL_NAMES, d.channel)) : L('无通知渠道', 'no channel')
  return `${memberName(d.member)} · ${channel} · ${L(...DELIVERY[d.status])}`
}

/**
 * A refusal in the reader's language: the catalogue's text and its code, without the hub's detail
 * (English, with ids), which is for logs and API clients.
 */
export function refusalText(err: unknown): string {
  if (err instanceof ApiError) {
    const entry = (ERRORS as Record<string, { zh: string; en: string } | undefined>)[err.code as ErrorCode]
    const text = entry ? L(entry.zh, entry.en) : L(err.messageZh || err.message, err.message)
    return `${text} (${err.code})`
  }
  return L('操作失败,请检查网络后重试', 'Failed: check the connection and try again')
}
