import type { Cockpit } from '../../cockpit/cockpit.ts'
import type { SitePlan } from '../../plans/plans.ts'
import { ApiError } from './api.ts'
import { lang } from './i18n.ts'

/** The cockpit's and the site plans' HTTP calls (GET /api/cockpit, /api/plans/:estate…). */

async function send<T>(method: string, path: string, body?: Blob): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    ...(body ? { body, headers: { 'content-type': body.type || 'application/octet-stream' } } : {}),
  })
  const data = (await res.json().catch(() => ({}))) as Record<string, string>
  if (!res.ok)
    throw new ApiError(
      res.status,
      data.code ?? 'ZHIAN_ERR_INTERNAL',
      data.message ?? res.statusText,
      data.message_zh ?? '',
    )
  return data as T
}

export const cockpitApi = {
  cockpit: (scope?: string) =>
    send<Cockpit>('GET', `/api/cockpit${scope ? `?scope=${encodeURIComponent(scope)}` : ''}`),
  plan: (estate: string) => send<SitePlan>('GET', `/api/plans/${encodeURIComponent(estate)}`),
  upload: (estate: string, file: File) =>
    send<SitePlan>('PUT', `/api/plans/${encodeURIComponent(estate)}/image`, file),
  reset: (estate: string) => send<SitePlan>('DELETE', `/api/plans/${encodeURIComponent(estate)}/image`),
}

/** The cockpit's own words, zh first (severity, kind and status words come from the shared vocabulary). */
const WORDS = {
  street_cockpit: ['街道数字驾驶舱', 'Street cockpit'],
  open_critical: ['紧急未处理', 'Open critical'],
  open_alerts: ['未处理告警', 'Open alerts'],
  offline: ['离线设备', 'Offline devices'],
  week_alerts: ['近7天告警', 'Alerts, last 7 days'],
  sla: ['工单时限达标率', 'Work orders on time'],
  attention: ['需关注小区(按紧急告警)', 'Estates needing attention (by critical alerts)'],
  response: ['响应时长排名(慢者在前)', 'Response times (slowest first)'],
  estate: ['小区', 'Estate'],
  critical: ['紧急', 'Critical'],
  open: ['未处理', 'Open'],
  ack_median: ['确认用时中位数', 'Median to acknowledge'],
  arrive_median: ['到场用时中位数', 'Median to arrive'],
  lifts: ['电梯黑名单(近7天)', 'Lift black list (7 days)'],
  faults: ['故障', 'faults'],
  trapped: ['困人', 'trapped'],
  passages: ['消防通道屡次占用', 'Fire passages blocked again and again'],
  blocked: ['堵塞', 'blocked'],
  occupied: ['占用', 'occupied'],
  contractors: ['维保及物业单位时限达标', 'On time, per contractor and team'],
  accept: ['接单', 'accept'],
  arrive: ['到场', 'arrive'],
  orders: ['单', 'orders'],
  trend: ['近7天告警趋势', 'Alerts per day, last 7 days'],
  plan: ['小区平面图', 'Site plan'],
  none: ['无', 'none'],
  minutes: ['分钟', 'min'],
  upload_plan: ['上传平面图', 'Upload a plan'],
  reset_plan: ['恢复默认平面图', 'Back to the default plan'],
  schematic: ['示意图(未上传平面图)', 'Schematic (no plan uploaded)'],
  legend_ok: ['正常', 'Normal'],
  legend_offline: ['离线', 'Offline'],
  legend_alert: ['告警', 'Alert'],
  all_estates: ['全部小区', 'All estates'],
  no_data: ['暂无', 'none yet'],
} as const

export function w(key: keyof typeof WORDS): string {
  return WORDS[key][lang.value === 'zh' ? 0 : 1]
}

/** "12.5 分钟" / "—". */
export function fmtMin(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  return v < 1 ? `<1 ${w('minutes')}` : `${Math.round(v)} ${w('minutes')}`
}

export function fmtPct(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v)}%`
}
