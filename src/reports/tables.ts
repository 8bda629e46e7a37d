import { DEFAULT_ZONE } from '../../devices/types.ts'
import type { Text } from '../alerts/types.ts'
import { ALERT_STATUS_NAMES, SEVERITY_NAMES, WORK_ORDER_STATUS_NAMES } from '../core/vocabulary.ts'
import { KIND_NAMES } from './build.ts'
import type { Report, SlaStat, Stat } from './model.ts'
import { localParts, ymd } from './period.ts'

/**
 * The report as tables, one per section: the single source of CSV, XLSX and the HTML page, so the
 * three always show the same figures. Cells are numbers, strings or null ("—").
 */

export type Lang = 'zh' | 'en'
export type Cell = string | number | null

export interface Table {
  id: string
  /** Sheet name (≤ 31 characters, no []:*?/\). */
  sheet: string
  title: string
  columns: string[]
  rows: Cell[][]
  /** Shown instead of rows when set (e.g. telemetry not configured). */
  note?: string | undefined
}

export const t = (lang: Lang, zh: string, en: string) => (lang === 'zh' ? zh : en)
const tx = (lang: Lang, text: Text) => text[lang]
/** Statuses at the period end: an open alert's, an open work order's (one vocabulary with the dashboard). */
const STATUS_NAMES: Record<string, Text> = { ...ALERT_STATUS_NAMES, ...WORK_ORDER_STATUS_NAMES }
const named = (lang: Lang, names: Record<string, Text>, key: string) => names[key]?.[lang] ?? key

export function localTime(ms: number, tz: string): string {
  const p = localParts(ms, tz)
  return `${ymd(p)} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`
}

/** Response times as people think of them: minutes, one decimal. */
const minutes = (s: number | null): Cell => (s === null ? null : Math.round(s / 6) / 10)
const statCells = (s: Stat): Cell[] => [s.n, minutes(s.median_s), minutes(s.p90_s)]
const slaCell = (s: SlaStat): Cell => (s.attainment === null ? null : s.attainment)

export function reportTables(r: Report, lang: Lang): Table[] {
  const L = (zh: string, en: string) => t(lang, zh, en)
  const tz = r.period.tz
  const yesNo = (b: boolean) => L(b ? '是' : '否', b ? 'yes' : 'no')
  const s = r.summary
  // Ids in the rows, as people read them (older stored reports have no `names`: the ids stay).
  const names = r.names ?? { sites: {}, teams: {}, zones: {}, alerts: {} }
  const site = (id: string | null) => (id ? (names.sites[id] ?? id) : null)
  const team = (id: string) =>
    id === '*'
      ? L('全部工单', 'All work orders')
      : id === 'alerts'
        ? L('全部告警', 'All alerts')
        : (names.teams[id]?.[lang] ?? id)
  const zone = (estate: string, id: string | null) =>
    id === null || id === '-'
      ? null
      : (names.zones[estate]?.[id] ?? (id === DEFAULT_ZONE ? L('全部车位', 'All bays') : id))
  const alertName = (type: string) => names.alerts[type]?.[lang] ?? type
  const tables: Table[] = [
    {
      id: 'summary',
      sheet: L('概览', 'Summary'),
      title: L('概览', 'Summary'),
      columns: [L('项目', 'Item'), L('数值', 'Value')],
      rows: [
        [L('报表', 'Report'), tx(lang, r.title)],
        [L('范围', 'Scope'), r.scope.name],
        [L('周期', 'Period'), `${r.period.label} (${r.period.id}, ${tz})`],
        [L('生成时间', 'Generated'), localTime(r.generated_at, tz)],
        [L('告警数', 'Alerts'), s.alerts],
        [L('上期告警数', 'Alerts, previous period'), s.alerts_prev],
        [L('紧急告警', 'Critical alerts'), s.critical],
        [L('屏蔽期间告警(未计入)', 'Suppressed (not counted)'), s.suppressed],
        [L('新开工单', 'Work orders opened'), s.work_orders_opened],
        [L('完成工单', 'Work orders resolved'), s.work_orders_resolved],
        [L('期末未处理告警', 'Open alerts at period end'), s.open_alerts_at_end],
        [L('期末未完成工单', 'Open work orders at period end'), s.open_work_orders_at_end],
        [L('黑名单电梯', 'Black-listed lifts'), s.lifts_blacklisted],
      ],
    },
    {
      id: 'alerts',
      sheet: L('告警', 'Alerts'),
      title: L('告警(按类型,与上期对比)', 'Alerts by type, against the previous period'),
      columns: [
        L('告警', 'Alert'),
        L('设备类别', 'Kind'),
        L('级别', 'Severity'),
        L('本期', 'This period'),
        L('触发次数', 'Occurrences'),
        L('上期', 'Previous'),
        L('变化', 'Change'),
        L('变化 %', 'Change %'),
      ],
      rows: r.alerts.map((a) => [
        tx(lang, a.title),
        tx(lang, r.alerts_by_kind.find((k) => k.key === a.kind)?.name ?? { zh: a.kind, en: a.kind }),
        tx(
          lang,
          r.alerts_by_severity.find((k) => k.key === a.severity)?.name ?? { zh: a.severity, en: a.severity },
        ),
        a.count,
        a.occurrences,
        a.prev,
        a.change,
        a.change_pct,
      ]),
    },
    {
      id: 'alerts_by_kind',
      sheet: L('按类别', 'By kind'),
      title: L('告警(按设备类别)', 'Alerts by kind'),
      columns: [L('类别', 'Kind'), L('本期', 'This period'), L('上期', 'Previous'), L('变化', 'Change')],
      rows: r.alerts_by_kind.map((k) => [tx(lang, k.name), k.count, k.prev, k.count - k.prev]),
    },
    {
      id: 'alerts_by_severity',
      sheet: L('按级别', 'By severity'),
      title: L('告警(按级别)', 'Alerts by severity'),
      columns: [L('级别', 'Severity'), L('本期', 'This period'), L('上期', 'Previous'), L('变化', 'Change')],
      rows: r.alerts_by_severity.map((k) => [tx(lang, k.name), k.count, k.prev, k.count - k.prev]),
    },
    {
      id: 'response',
      sheet: L('响应时效', 'Response'),
      title: L(
        '响应时效(分钟:中位数 / P90)与 SLA 达标率 %',
        'Response times (minutes: median / p90) and SLA attainment %',
      ),
      columns: [
        L('班组', 'Team'),
        L('工单数', 'Orders'),
        L('确认 n', 'Ack n'),
        L('确认 中位', 'Ack median'),
        L('确认 P90', 'Ack p90'),
        L('接单 n', 'Accept n'),
        L('接单 中位', 'Accept median'),
        L('接单 P90', 'Accept p90'),
        L('到场 n', 'Arrive n'),
        L('到场 中位', 'Arrive median'),
        L('到场 P90', 'Arrive p90'),
        L('完成 n', 'Resolve n'),
        L('完成 中位', 'Resolve median'),
        L('完成 P90', 'Resolve p90'),
        L('接单 SLA %', 'Accept SLA %'),
        L('到场 SLA %', 'Arrive SLA %'),
        L('完成 SLA %', 'Resolve SLA %'),
      ],
      rows: r.response.map((x) => [
        team(x.team),
        x.orders,
        ...statCells(x.acknowledge),
        ...statCells(x.accept),
        ...statCells(x.arrive),
        ...statCells(x.resolve),
        slaCell(x.sla.accept),
        slaCell(x.sla.arrive),
        slaCell(x.sla.resolve),
      ]),
    },
    {
      id: 'lifts',
      sheet: L('电梯故障排行', 'Lift faults'),
      title: L(
        `电梯故障排行(共 ${r.lifts.lifts_total} 台,未列出的无故障)`,
        `Lift fault ranking (${r.lifts.lifts_total} lifts; those not listed had no fault)`,
      ),
      columns: [
        L('名次', 'Rank'),
        L('电梯', 'Lift'),
        L('编号', 'Id'),
        L('小区', 'Estate'),
        L('故障数', 'Faults'),
        L('困人', 'Trapped'),
        L('故障类型', 'Fault types'),
        L('阈值', 'Threshold'),
        L('黑名单', 'Black list'),
      ],
      rows: r.lifts.rows.map((l) => [
        l.rank,
        l.name,
        l.device_id,
        site(l.estate),
        l.faults,
        l.trapped,
        Object.entries(l.by_type)
          .map(([k, v]) => `${alertName(`elevator.${k}`)}×${v}`)
          .join(L('、', ', ')),
        l.threshold,
        yesNo(l.blacklisted),
      ]),
      note: r.lifts.rows.length
        ? tx(lang, r.lifts.threshold_note)
        : L('本期无电梯故障', 'No lift faults in the period'),
    },
    {
      id: 'fire_passages',
      sheet: L('消防通道', 'Fire passages'),
      title: L(
        `消防通道堵塞(共 ${r.fire_passages.segments_total} 段)`,
        `Fire-passage blockage (${r.fire_passages.segments_total} segments)`,
      ),
      columns: [
        L('通道段', 'Segment'),
        L('编号', 'Id'),
        L('小区', 'Estate'),
        L('位置', 'Location'),
        L('堵塞次数', 'Blocked'),
        L('堵塞分钟', 'Blocked minutes'),
        L('占用次数', 'Occupied'),
        L('持续堵塞', 'Persistent'),
        L('火警时占用', 'During a fire'),
        L('屡犯', 'Repeat offender'),
      ],
      rows: r.fire_passages.rows.map((p) => [
        p.name,
        p.device_id,
        site(p.estate),
        p.location,
        p.blocked,
        p.blocked_minutes,
        p.occupied,
        p.persistent,
        p.during_fire,
        yesNo(p.repeat_offender),
      ]),
    },
    ...r.kinds.map(
      (k): Table => ({
        id: k.id,
        sheet: tx(lang, k.title),
        title: L(`${k.title.zh}(共 ${k.total} 个)`, `${k.title.en} (${k.total})`),
        columns: [
          tx(lang, k.device),
          L('编号', 'Id'),
          L('小区', 'Estate'),
          L('位置', 'Location'),
          ...k.columns.map((c) => tx(lang, c.header)),
        ],
        rows: k.rows.map((row) => [
          row.name,
          row.device_id,
          site(row.estate),
          row.location,
          ...k.columns.map((c) => row.counts[c.key] ?? 0),
        ]),
      }),
    ),
    {
      id: 'parking_overstays',
      sheet: L('超时停车', 'Overstays'),
      title: L(`超时停车(共 ${r.parking.bays_total} 个车位)`, `Overstays (${r.parking.bays_total} bays)`),
      columns: [
        L('车位', 'Bay'),
        L('编号', 'Id'),
        L('小区', 'Estate'),
        L('分区', 'Zone'),
        L('次数', 'Overstays'),
        L('本期小时数', 'Hours in period'),
      ],
      rows: r.parking.overstays.map((o) => [
        o.name,
        o.device_id,
        site(o.estate),
        zone(o.estate, o.zone),
        o.overstays,
        o.overstay_hours,
      ]),
    },
  ]
  const tel = r.parking.telemetry
  tables.push(
    {
      id: 'parking_hours',
      sheet: L('车位占用-按小时', 'Occupancy by hour'),
      title: L('车位占用率(按时段,%)', 'Parking occupancy by hour of day (%)'),
      columns: [L('时段', 'Hour'), L('占用率 %', 'Occupancy %')],
      rows:
        tel.status === 'ok'
          ? tel.data.by_hour.map((h) => [`${String(h.hour).padStart(2, '0')}:00`, h.occupancy])
          : [],
      note: tel.status === 'ok' ? undefined : tx(lang, tel.reason),
    },
    {
      id: 'parking_zones',
      sheet: L('车位占用-按分区', 'Occupancy by zone'),
      title: L('车位占用率(按分区,%)', 'Parking occupancy by zone (%)'),
      columns: [
        L('小区', 'Estate'),
        L('分区', 'Zone'),
        L('车位数', 'Bays'),
        L('平均 %', 'Mean %'),
        L('峰值 %', 'Peak %'),
      ],
      rows:
        tel.status === 'ok'
          ? tel.data.by_zone.map((z) => [site(z.estate), zone(z.estate, z.zone), z.bays, z.mean, z.peak])
          : [],
      note: tel.status === 'ok' ? undefined : tx(lang, tel.reason),
    },
    {
      id: 'offline',
      sheet: L('离线设备', 'Offline devices'),
      title: L('离线最久的设备', 'Devices offline longest'),
      columns: [
        L('设备', 'Device'),
        L('编号', 'Id'),
        L('类别', 'Kind'),
        L('小区', 'Estate'),
        L('离线次数', 'Episodes'),
        L('离线分钟', 'Offline minutes'),
        L('期末仍离线', 'Still offline'),
      ],
      rows: r.devices.offline.map((d) => [
        d.name,
        d.device_id,
        named(lang, KIND_NAMES, d.kind),
        site(d.estate),
        d.episodes,
        d.offline_minutes,
        yesNo(d.still_offline),
      ]),
    },
    {
      id: 'batteries',
      sheet: L('待换电池', 'Batteries'),
      title: L('待更换电池', 'Batteries to replace'),
      columns: [
        L('设备', 'Device'),
        L('编号', 'Id'),
        L('类别', 'Kind'),
        L('小区', 'Estate'),
        L('电量 %', 'Battery %'),
        L('低电量起', 'Low since'),
      ],
      rows: r.devices.batteries.map((b) => [
        b.name,
        b.device_id,
        named(lang, KIND_NAMES, b.kind),
        site(b.estate),
        b.battery_pct,
        localTime(b.since, tz),
      ]),
    },
    {
      id: 'open_alerts',
      sheet: L('期末未处理告警', 'Open alerts'),
      title: L('期末未处理告警', 'Open alerts at period end'),
      columns: [
        L('告警', 'Alert'),
        L('级别', 'Severity'),
        L('设备', 'Device'),
        L('小区', 'Estate'),
        L('发生时间', 'Raised'),
        L('状态', 'Status'),
      ],
      rows: r.open_at_end.alerts.map((a) => [
        tx(lang, a.title),
        named(lang, SEVERITY_NAMES, a.severity),
        a.device_name ?? a.device_id,
        site(a.estate),
        localTime(a.first_at, tz),
        named(lang, STATUS_NAMES, a.status),
      ]),
    },
    {
      id: 'open_work_orders',
      sheet: L('期末未完成工单', 'Open work orders'),
      title: L('期末未完成工单', 'Open work orders at period end'),
      columns: [
        L('工单', 'Work order'),
        L('班组', 'Team'),
        L('小区', 'Estate'),
        L('派单时间', 'Opened'),
        L('状态', 'Status'),
        L('单号', 'Number'),
      ],
      rows: r.open_at_end.work_orders.map((o) => [
        o.title ? tx(lang, o.title) : alertName(o.alert_type),
        team(o.team),
        site(o.estate),
        localTime(o.opened_at, tz),
        named(lang, STATUS_NAMES, o.status),
        o.id,
      ]),
    },
  )
  return tables
}
