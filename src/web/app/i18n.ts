import { ref } from 'vue'
import {
  ALERT_STATUS_NAMES,
  CONDITION_NAMES,
  CREW_NAMES,
  SEVERITY_NAMES,
  WORK_ORDER_STATUS_NAMES,
} from '../../core/vocabulary.ts'

/** zh-CN first (the people on duty), English second; the choice sticks in localStorage. */
export type Lang = 'zh' | 'en'

const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem('zhian.lang')
export const lang = ref<Lang>(stored === 'en' ? 'en' : 'zh')

export function setLang(next: Lang): void {
  lang.value = next
  localStorage.setItem('zhian.lang', next)
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en'
}

const w = (text: { zh: string; en: string }): readonly [string, string] => [text.zh, text.en]

const MESSAGES = {
  app: ['智安 · 社区安全监测', 'zhian · estate safety monitor'],
  login: ['登录', 'Log in'],
  logout: ['退出', 'Log out'],
  username: ['用户名', 'Username'],
  password: ['密码', 'Password'],
  login_failed: ['用户名或密码错误', 'Wrong username or password'],
  signed_out: ['登录已失效', 'Signed out'],
  login_throttled: ['失败次数过多,请稍后再试', 'Too many failed attempts, try again later'],
  nav_console: ['实时告警', 'Live alerts'],
  nav_sites: ['区域总览', 'Site roll-up'],
  nav_devices: ['设备列表', 'Devices'],
  nav_models: ['设备型号', 'Device models'],
  models_hint: [
    '接入的真实设备按型号解析;在台账中为设备填写 model 及平台标识',
    "Real devices are decoded by their model; name a device's model and platform identity in the estate file",
  ],
  model_name: ['型号', 'Model'],
  model_vendor: ['厂商', 'Vendor'],
  model_transports: ['接入方式', 'Arrives by'],
  model_params: ['安装参数', 'Installation params'],
  model_source: ['协议来源', 'Payload definition'],
  model_definition: ['厂商公开协议', "Vendor's public definition"],
  kind_not_available: ['本系统尚无此设备类型', 'Kind not available in this hub'],
  nav_history: ['告警历史', 'Alert history'],
  nav_tasks: ['工单', 'Work orders'],
  connected: ['实时连接', 'Live'],
  disconnected: ['连接中断', 'Disconnected'],
  mute: ['静音', 'Mute'],
  unmute: ['声音', 'Sound'],
  role_admin: ['管理员', 'Admin'],
  role_manager: ['物业经理', 'Manager'],
  role_crew: ['维修班组', 'Crew'],
  role_viewer: ['只读', 'Viewer'],
  all_sites: ['全部区域', 'all sites'],
  open_alerts: ['未处理告警', 'Open alerts'],
  no_alerts: ['暂无告警', 'No alerts'],
  fire_story: ['火警', 'Fire'],
  fire_story_since: ['起', 'since'],
  fire_story_common: ['公共区域', 'common ground'],
  cameras: ['摄像机', 'Cameras'],
  no_detections: ['暂无未处理的识别告警', 'No open detections'],
  snapshot: ['抓拍', 'Snapshot'],
  severity: ['级别', 'Severity'],
  status: ['状态', 'Status'],
  kind: ['类型', 'Kind'],
  site: ['区域', 'Site'],
  device: ['设备', 'Device'],
  time: ['时间', 'Time'],
  first_at: ['首次发生', 'First seen'],
  last_at: ['最近发生', 'Last seen'],
  occurrences: ['次数', 'Count'],
  alert: ['告警', 'Alert'],
  all: ['全部', 'All'],
  open: ['未关闭', 'Open'],
  search: ['搜索', 'Search'],
  ack: ['确认', 'Acknowledge'],
  assign: ['派单', 'Assign'],
  resolve: ['关闭', 'Resolve'],
  comment: ['备注', 'Comment'],
  silence: ['静默 2 小时', 'Silence 2 h'],
  send: ['提交', 'Send'],
  cancel: ['取消', 'Cancel'],
  team: ['班组', 'Team'],
  note: ['说明', 'Note'],
  details: ['详情', 'Details'],
  audit_log: ['处理记录', 'Audit log'],
  trigger_values: ['触发数据', 'Triggering values'],
  actor: ['操作人', 'By'],
  channel: ['渠道', 'Via'],
  action: ['操作', 'Action'],
  assigned_to: ['已派给', 'Assigned to'],
  condition: ['现场状态', 'Condition'],
  // Severities, statuses and crews: the hub's one vocabulary (src/core/vocabulary.ts).
  cond_raised: w(CONDITION_NAMES.raised),
  cond_cleared: w(CONDITION_NAMES.cleared),
  st_active: w(ALERT_STATUS_NAMES.active),
  st_acknowledged: w(ALERT_STATUS_NAMES.acknowledged),
  st_resolved: w(ALERT_STATUS_NAMES.resolved),
  sev_critical: w(SEVERITY_NAMES.critical),
  sev_major: w(SEVERITY_NAMES.major),
  sev_minor: w(SEVERITY_NAMES.minor),
  sev_warning: w(SEVERITY_NAMES.warning),
  sev_info: w(SEVERITY_NAMES.info),
  suppressed: ['已静默', 'silenced'],
  latched: ['需人工关闭', 'latched'],
  devices: ['设备', 'Devices'],
  offline: ['离线', 'Offline'],
  online: ['在线', 'Online'],
  last_seen: ['最后上报', 'Last seen'],
  never: ['从未上报', 'never'],
  battery: ['电量', 'Battery'],
  model_identity: ['型号 / 平台标识', 'Model / platform identity'],
  native_json: ['智安原生协议', "zhian's own JSON"],
  platform_device_id: ['平台设备ID', 'platform device id'],
  last_error: ['最近错误', 'Last error'],
  from_mqtt: ['经 MQTT', 'over MQTT'],
  from_connector: ['经接入', 'via connector'],
  parking: ['停车位', 'Parking'],
  free: ['空闲', 'free'],
  occupied_n: ['占用', 'occupied'],
  unknown: ['未知', 'unknown'],
  zone: ['分区', 'Zone'],
  floor: ['楼层', 'Floor'],
  door: ['门', 'Door'],
  mode: ['模式', 'Mode'],
  fault: ['故障', 'Fault'],
  none: ['无', 'none'],
  passage_free: ['畅通', 'free'],
  passage_occupied: ['占用', 'occupied'],
  passage_blocked: ['堵塞', 'blocked'],
  since: ['持续', 'for'],
  export_csv: ['导出 CSV', 'Export CSV'],
  from: ['开始', 'From'],
  to: ['结束', 'To'],
  apply: ['查询', 'Apply'],
  prev: ['上一页', 'Previous'],
  next: ['下一页', 'Next'],
  total: ['共', 'Total'],
  back: ['返回', 'Back'],
  estate_view: ['小区详情', 'Estate'],
  resynced: ['已重新同步', 'Re-synced'],
  forbidden: ['无权执行此操作', 'Not allowed'],
  alerts_by_severity: ['各小区未处理告警', 'Open alerts per estate'],
  parking_by_zone: ['车位占用', 'Parking occupancy'],
  nav_reports: ['报表', 'Reports'],
  id: ['编号', 'ID'],
  // Audit `channel`: where a transition came from.
  via_rule: ['规则引擎', 'rule engine'],
  via_http: ['网页/接口', 'web / API'],
  via_mqtt: ['设备', 'device'],
  via_cli: ['命令行', 'command line'],
  via_dispatch: ['派单系统', 'dispatch'],
  via_system: ['系统', 'system'],
  via_socket: ['网页', 'web'],
  // The catalogue's default crews (devices/*.ts `crew`).
  crew_elevator_contractor: w(CREW_NAMES.elevator_contractor!),
  crew_property_duty: w(CREW_NAMES.property_duty!),
  crew_property_engineering: w(CREW_NAMES.property_engineering!),
  crew_utility_owner: w(CREW_NAMES.utility_owner!),
  crew_fire_safety: w(CREW_NAMES.fire_safety!),
  crew_community_grid: w(CREW_NAMES.community_grid!),
  // Values the rule engine adds to an alert's triggering values (src/rules/engine.ts).
  field_held_s: ['已持续(秒)', 'held (s)'],
  field_held_min: ['已持续(分钟)', 'held (min)'],
  field_held_h: ['已持续(小时)', 'held (h)'],
  held_for: ['已持续', 'Held for'],
  routing_default: ['按路由规则', 'by routing'],
  work_order: ['工单', 'Work order'],
  open_work_order: ['派工单', 'Open work order'],
  no_work_order: ['无工单', 'none'],
  wo_dispatched: w(WORK_ORDER_STATUS_NAMES.dispatched),
  wo_accepted: w(WORK_ORDER_STATUS_NAMES.accepted),
  wo_on_site: w(WORK_ORDER_STATUS_NAMES.on_site),
  wo_resolved: w(WORK_ORDER_STATUS_NAMES.resolved),
  wo_cancelled: w(WORK_ORDER_STATUS_NAMES.cancelled),
  load_failed: ['加载失败', 'Could not load'],
} as const

export type MessageKey = keyof typeof MESSAGES

export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(MESSAGES, key)
}

export function t(key: MessageKey): string {
  return MESSAGES[key][lang.value === 'zh' ? 0 : 1]
}

/** Pick the language of a `{zh, en}` text from the hub (alert titles, device labels). */
export function tx(text: { zh: string; en: string } | undefined | null): string {
  if (!text) return ''
  return lang.value === 'zh' ? text.zh : text.en
}

export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return '—'
  return new Date(ms).toLocaleString(lang.value === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false })
}

/** "3 min" / "3 分钟" since a time. */
export function fmtAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return t('never')
  const s = Math.max(0, Math.round((now - ms) / 1000))
  const zh = lang.value === 'zh'
  if (s < 60) return zh ? `${s} 秒前` : `${s} s ago`
  if (s < 3600) return zh ? `${Math.floor(s / 60)} 分钟前` : `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return zh ? `${Math.floor(s / 3600)} 小时前` : `${Math.floor(s / 3600)} h ago`
  return zh ? `${Math.floor(s / 86_400)} 天前` : `${Math.floor(s / 86_400)} d ago`
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const zh = lang.value === 'zh'
  if (s < 60) return zh ? `${s} 秒` : `${s} s`
  if (s < 3600) return zh ? `${Math.floor(s / 60)} 分 ${s % 60} 秒` : `${Math.floor(s / 60)} min ${s % 60} s`
  return zh
    ? `${Math.floor(s / 3600)} 小时 ${Math.floor((s % 3600) / 60)} 分`
    : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
