import {
  bool,
  dur,
  float,
  held,
  int,
  type KindDefinition,
  offlineAlert,
  onEvent,
  oneOf,
  REPORT_INTERVAL,
  text,
} from './types.ts'

const SNAPSHOT = text('抓拍图片', 'Snapshot', 1024)
const CONFIDENCE = float('置信度', 'Confidence', 0, 1)

/**
 * A camera with an edge AI box (边缘计算盒) that pushes detections, each with a snapshot URL the
 * dashboard and the notifications link to (domain-catalog §0: video alerts keep their evidence).
 * What it watches is in its params: the lift car (`elevator`), the fire-passage segment
 * (`fire_passage`) — those detections are applied to that device through `links` —, a marked
 * no-parking zone; its `building` is the façade it watches for high-altitude throwing.
 */
export const ai_camera = {
  id: 'ai_camera',
  names: { zh: 'AI摄像机', en: 'AI camera' },
  interval_s: 300,
  state: {
    video_ok: bool('视频正常', 'Video OK'),
    fps: float('分析帧率', 'Analysed frame rate', 0, 60, 'fps'),
  },
  events: {
    high_altitude_throw: {
      label: { zh: '高空抛物', en: 'High-altitude throwing' },
      data: {
        floor: int('估计楼层', 'Estimated floor', -5, 200),
        snapshot_url: SNAPSHOT,
        confidence: CONFIDENCE,
      },
    },
    ebike_in_lift: {
      label: { zh: '电动车进电梯', en: 'E-bike entering a lift' },
      data: { snapshot_url: SNAPSHOT, confidence: CONFIDENCE },
    },
    illegal_parking: {
      label: { zh: '禁停区停车', en: 'Vehicle in a no-parking zone' },
      // active: a vehicle stopped in the zone (true) or left it (false); the hub applies the dwell time.
      data: { active: bool('停留中', 'Stopped'), plate: text('车牌', 'Plate', 16), snapshot_url: SNAPSHOT },
    },
    passage_occupied: {
      label: { zh: '消防通道占用', en: 'Fire passage occupied' },
      data: {
        occupied: bool('占用', 'Occupied'),
        object_class: oneOf('占用物', 'Object', ['car', 'ebike', 'goods', 'person', 'unknown']),
        plate: text('车牌', 'Plate', 16),
        confidence: CONFIDENCE,
        snapshot_url: SNAPSHOT,
      },
    },
    smoke_fire: {
      label: { zh: '烟火', en: 'Smoke or fire' },
      data: {
        what: oneOf('类型', 'What', ['smoke', 'fire']),
        snapshot_url: SNAPSHOT,
        confidence: CONFIDENCE,
      },
    },
  },
  settable: { report_interval_s: REPORT_INTERVAL },
  params: {
    elevator: text('所看电梯', 'Lift watched', 64),
    fire_passage: text('所看消防通道', 'Fire passage watched', 64),
    no_parking_zone: text('禁停区', 'No-parking zone', 64),
  },
  links: [
    { event: 'ebike_in_lift', param: 'elevator', kind: 'elevator', as: { event: 'ebike_in_lift' } },
    { event: 'passage_occupied', param: 'fire_passage', kind: 'fire_passage', as: { reading: true } },
  ],
  /** The latest no-parking sighting stays in the state until the vehicle leaves: the dwell timer needs it. */
  foldEvent: (type, data, s) => {
    if (type !== 'illegal_parking') return
    s.parked = data.active !== false
    if (data.active === false) {
      delete s.parked_plate
      delete s.parked_snapshot_url
    } else {
      if (typeof data.plate === 'string') s.parked_plate = data.plate
      if (typeof data.snapshot_url === 'string') s.parked_snapshot_url = data.snapshot_url
    }
  },
  simulator: {
    behaviour: 'ai_camera',
    mix: { weight: 0, abbr: 'cam' },
    inBuilding: true,
    healthy: (n) => ({ video_ok: true, fps: 25 - (n % 3) }),
    faulty: { state: { video_ok: false }, raises: 'video_lost' },
  },
  view: {
    panel: 'camera_detections',
    title: { zh: '摄像机识别', en: 'Camera detections' },
    order: 7,
    wide: true,
  },
  dashboard: {
    file: 'ai-cameras.json',
    title: { zh: '智安 AI摄像机', en: 'AI cameras' },
    panels: [
      {
        type: 'timeseries',
        title: { zh: '识别次数(按类型)', en: 'Detections by type' },
        w: 24,
        h: 8,
        query: `SELECT sum("count") FROM "ai_camera_event" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY time($__interval), "type" fill(none)`,
        custom: { drawStyle: 'bars' },
      },
      {
        type: 'bargauge',
        title: { zh: '各摄像机识别次数', en: 'Detections per camera' },
        w: 12,
        h: 9,
        query: `SELECT sum("count") AS "detections" FROM "ai_camera_event" WHERE "estate" =~ /^$estate$/ AND $timeFilter GROUP BY "device_id"`,
        format: 'table',
        options: { reduceOptions: { values: true, calcs: ['lastNotNull'] }, orientation: 'horizontal' },
      },
      { field: 'fps', select: 'min', fill: 'none', w: 12, h: 9 },
    ],
  },
  report: {
    id: 'camera_detections',
    title: { zh: '摄像机识别', en: 'Camera detections' },
    device: { zh: '摄像机', en: 'Camera' },
    counts: [
      { alert: 'high_altitude_throw', header: { zh: '高空抛物', en: 'Throws' } },
      { alert: 'illegal_parking', header: { zh: '违停', en: 'Illegal parking' } },
      { alert: 'smoke_fire', header: { zh: '烟火', en: 'Smoke / fire' } },
      { alert: 'video_lost', header: { zh: '视频丢失', en: 'Video lost' } },
    ],
    rankBy: ['high_altitude_throw', 'smoke_fire', 'illegal_parking'],
  },
  // Repeat high-altitude throwing per building: every sighting counts, the worst building first.
  extraReports: [
    {
      id: 'high_altitude_throw',
      title: { zh: '高空抛物(按楼栋)', en: 'High-altitude throwing per building' },
      device: { zh: '楼栋', en: 'Building' },
      counts: [{ alert: 'high_altitude_throw', header: { zh: '发现次数', en: 'Sightings' } }],
      by: 'building',
      occurrences: true,
    },
  ],
  alerts: {
    high_altitude_throw: {
      severity: 'major',
      crew: 'property_duty',
      latched: true,
      title: { zh: '高空抛物', en: 'High-altitude throwing' },
      message: {
        zh: '{name} 发现高空抛物[(约 {floor} 层)][,抓拍:{snapshot_url}]',
        en: '{name}: object thrown[ from about floor {floor}][; snapshot: {snapshot_url}]',
      },
      // 民法典 art. 1254 forbids it and makes the property manager answer for its safeguards: every
      // sighting is kept (a repeat re-triggers the open alert) and counted per building in reports.
      params: {},
      triggers: [onEvent((c) => c.event?.type === 'high_altitude_throw')],
    },
    illegal_parking: {
      severity: 'minor',
      crew: 'property_duty',
      latched: false,
      title: { zh: '禁停区违停', en: 'Illegal parking' },
      message: {
        zh: '{name} 禁停区车辆停留 {held_min} 分钟[,车牌 {plate}][,抓拍:{snapshot_url}]',
        en: '{name}: vehicle[ {plate}] in the no-parking zone for {held_min} min[; snapshot: {snapshot_url}]',
      },
      // A stop to load or drop someone off is no violation: only one that lasts `for` (domain-catalog §2.4's 3 min for lanes).
      params: { for: dur('5m') },
      triggers: [held((c) => c.s.parked === true)],
      // The sighting's plate and snapshot, kept in the state while the vehicle stays (foldEvent).
      vars: (c) => ({
        ...(typeof c.s.parked_plate === 'string' ? { plate: c.s.parked_plate } : {}),
        ...(typeof c.s.parked_snapshot_url === 'string' ? { snapshot_url: c.s.parked_snapshot_url } : {}),
      }),
    },
    smoke_fire: {
      severity: 'critical',
      crew: 'fire_safety',
      latched: true,
      // Evidence of a fire in the camera's building (or estate): drives the cross-device fire facts.
      fire: true,
      title: { zh: '视频发现烟火', en: 'Smoke or fire seen by camera' },
      message: {
        zh: '{name} 视频识别到烟火[({what})],请立即核实[,抓拍:{snapshot_url}]',
        en: '{name} sees smoke or fire[ ({what})]; check at once[; snapshot: {snapshot_url}]',
      },
      // Edge boxes report sightings, not their end: a fire fact for `clear_for` after the last one.
      params: { clear_for: dur('10m') },
      triggers: [onEvent((c) => c.event?.type === 'smoke_fire', { clearFor: 'clear_for' })],
      vars: (c) => ({
        what: c.event?.data.what === 'fire' ? { zh: '明火', en: 'fire' } : { zh: '烟雾', en: 'smoke' },
      }),
    },
    video_lost: {
      severity: 'warning',
      crew: 'property_engineering',
      latched: false,
      title: { zh: '视频丢失', en: 'Video lost' },
      message: { zh: '{name} 视频丢失,识别停止', en: '{name}: video lost, no detections' },
      params: {},
      triggers: [held((c) => c.s.video_ok === false)],
    },
    offline: offlineAlert(2, '5m'),
  },
} as const satisfies KindDefinition
