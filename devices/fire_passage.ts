import { BATTERY_PCT, bool, float, type KindDefinition, oneOf, REPORT_INTERVAL, text } from './types.ts'

/** A fire-passage (消防车通道) segment watched by a camera or a geomagnetic sensor (domain-catalog §2.3). */
export const fire_passage = {
  id: 'fire_passage',
  names: { zh: '消防通道', en: 'Fire passage' },
  interval_s: 300,
  state: {
    occupied: bool('占用', 'Occupied'),
    object_class: oneOf('占用物', 'Object', ['car', 'ebike', 'goods', 'person', 'unknown'], {
      car: { zh: '汽车', en: 'car' },
      ebike: { zh: '电动车', en: 'e-bike' },
      goods: { zh: '杂物', en: 'goods' },
      person: { zh: '行人', en: 'person' },
      unknown: { zh: '未知', en: 'unknown' },
    }),
    confidence: float('置信度', 'Confidence', 0, 1),
    plate: text('车牌', 'Plate', 16),
    battery_pct: BATTERY_PCT,
  },
  events: {},
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    // Entrances and turning areas alert sooner (1 min vs 3 min, domain-catalog §2.4).
    entrance: bool('通道入口/转弯处', 'Entrance or turning area'),
  },
} as const satisfies KindDefinition
