import { bool, float, int, type KindDefinition, oneOf, REPORT_INTERVAL } from './types.ts'

/**
 * Passenger lift monitored by an IoT terminal (GB/T 24476-2017 §9 real-time status, §11 faults).
 * Field names follow research/domain-catalog.md §1.4 in snake_case.
 */
export const elevator = {
  id: 'elevator',
  names: { zh: '电梯', en: 'Elevator' },
  interval_s: 60,
  state: {
    floor: int('当前楼层', 'Floor', -20, 300),
    direction: oneOf('运行方向', 'Direction', ['up', 'down', 'none'], {
      up: { zh: '上行', en: 'up' },
      down: { zh: '下行', en: 'down' },
      none: { zh: '停止', en: 'idle' },
    }),
    door: oneOf('轿门状态', 'Door', ['open', 'closed', 'opening', 'closing'], {
      open: { zh: '开', en: 'open' },
      closed: { zh: '关', en: 'closed' },
      opening: { zh: '开门中', en: 'opening' },
      closing: { zh: '关门中', en: 'closing' },
    }),
    moving: bool('运行中', 'Moving'),
    in_door_zone: bool('平层(门区内)', 'In door zone'),
    passenger: bool('轿内有人', 'Passenger inside'),
    speed: float('运行速度', 'Speed', 0, 20, 'm/s'),
    service_mode: oneOf(
      '服务模式',
      'Service mode',
      [
        'normal',
        'inspection',
        'fire_return',
        'firefighter',
        'emergency_power',
        'earthquake',
        'out_of_service',
      ],
      {
        normal: { zh: '正常', en: 'normal' },
        inspection: { zh: '检修', en: 'inspection' },
        fire_return: { zh: '消防返回', en: 'fire return' },
        firefighter: { zh: '消防员运行', en: 'firefighter' },
        emergency_power: { zh: '应急电源', en: 'emergency power' },
        earthquake: { zh: '地震', en: 'earthquake' },
        out_of_service: { zh: '停止服务', en: 'out of service' },
      },
    ),
    // GB/T 24476-2017 fault/event codes (0 none, 1–8 faults, 40–47 events, 90 alarm button); 91–93 are Chongqing extensions.
    fault_code: int('故障代码', 'Fault code', 0, 999),
    power_source: oneOf('供电', 'Power source', ['mains', 'battery'], {
      mains: { zh: '市电', en: 'mains' },
      battery: { zh: '备用电池', en: 'battery' },
    }),
  },
  events: {
    alarm_button: { label: { zh: '报警按钮', en: 'Alarm button' }, data: {} },
    fault: {
      label: { zh: '故障', en: 'Fault' },
      data: { code: int('故障代码', 'Fault code', 0, 999), active: bool('进行中', 'Active') },
    },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    bottom_floor: int('最低层', 'Bottom floor', -20, 300),
    top_floor: int('最高层', 'Top floor', -20, 300),
    rated_speed: float('额定速度', 'Rated speed', 0.1, 20, 'm/s'),
  },
} as const satisfies KindDefinition
