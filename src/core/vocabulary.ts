import type { Severity, Text } from '../../devices/types.ts'

/**
 * The words people read for the hub's shared values, zh first: the one source of the dashboard
 * (`src/web/app/i18n.ts` takes them), the reports (HTML, CSV, XLSX), notifications and the MQTT alert
 * text. A screen that shows a severity, a status or a crew says it with these words and no other.
 * Pure data: the browser imports it too.
 */

/**
 * Alarm levels as Chinese monitoring platforms name them (紧急 / 重要 / 次要 / 警告 / 提示, the order of
 * ITU-T X.733 perceived severity: critical, major, minor, warning, indeterminate/info).
 */
export const SEVERITY_NAMES: Record<Severity, Text> = {
  critical: { zh: '紧急', en: 'Critical' },
  major: { zh: '重要', en: 'Major' },
  minor: { zh: '次要', en: 'Minor' },
  warning: { zh: '警告', en: 'Warning' },
  info: { zh: '提示', en: 'Info' },
}

/** An alert's status: waiting for a person, seen by one, closed. */
export const ALERT_STATUS_NAMES: Record<'active' | 'acknowledged' | 'resolved', Text> = {
  active: { zh: '待确认', en: 'Active' },
  acknowledged: { zh: '已确认', en: 'Acknowledged' },
  resolved: { zh: '已关闭', en: 'Resolved' },
}

/** What the sensor says now, apart from what people did. */
export const CONDITION_NAMES: Record<'raised' | 'cleared', Text> = {
  raised: { zh: '持续中', en: 'Ongoing' },
  cleared: { zh: '已恢复', en: 'Cleared' },
}

/** A work order's status. */
export const WORK_ORDER_STATUS_NAMES: Record<
  'dispatched' | 'accepted' | 'on_site' | 'resolved' | 'cancelled',
  Text
> = {
  dispatched: { zh: '待接单', en: 'To accept' },
  accepted: { zh: '已接单', en: 'Accepted' },
  on_site: { zh: '已到场', en: 'On site' },
  resolved: { zh: '已完成', en: 'Resolved' },
  cancelled: { zh: '已取消', en: 'Cancelled' },
}

/** The three timed stages of a work order (its SLA). */
export const SLA_STAGE_NAMES: Record<'accept' | 'arrive' | 'resolve', Text> = {
  accept: { zh: '接单', en: 'Accept' },
  arrive: { zh: '到场', en: 'Arrive' },
  resolve: { zh: '完成', en: 'Resolve' },
}

/** The catalogue's default crews (`crew` of each alert in devices/*.ts), for an alert no team took. */
export const CREW_NAMES: Record<string, Text> = {
  elevator_contractor: { zh: '电梯维保单位', en: 'Lift contractor' },
  property_duty: { zh: '物业值班', en: 'Property duty' },
  property_engineering: { zh: '物业工程部', en: 'Property engineering' },
  utility_owner: { zh: '管线权属单位', en: 'Utility owner' },
  fire_safety: { zh: '消防安全', en: 'Fire safety' },
  community_grid: { zh: '社区网格员', en: 'Community grid' },
}

/** Notification channels (`teams[].members[].channels[].type`), as a work order's history names them. */
export const CHANNEL_NAMES: Record<string, Text> = {
  webhook: { zh: 'Webhook', en: 'webhook' },
  dingtalk: { zh: '钉钉', en: 'DingTalk' },
  wecom: { zh: '企业微信', en: 'WeCom' },
  feishu: { zh: '飞书', en: 'Feishu' },
  sms: { zh: '短信', en: 'SMS' },
  voice: { zh: '语音电话', en: 'voice call' },
}

/** Levels of the site tree. */
export const SITE_TYPE_NAMES: Record<'street' | 'community' | 'estate' | 'building', Text> = {
  street: { zh: '街道', en: 'Street' },
  community: { zh: '社区', en: 'Community' },
  estate: { zh: '小区', en: 'Estate' },
  building: { zh: '楼栋', en: 'Building' },
}

/** A word of one of these tables, or the key itself when the table does not know it. */
export function wordOf(names: Record<string, Text>, key: string): Text {
  return names[key] ?? { zh: key, en: key }
}
