import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Report } from '../../../src/reports/model.ts'
import { localParts, ymd } from '../../../src/reports/period.ts'
import { minuteOfDay } from '../../../src/rules/schedule.ts'
import { buildHub, connectDevice, FIXTURES, tempDir } from '../../helpers/hub.ts'
import { listAlerts, send, waitAlert } from './rig.ts'

const ESTATE = path.join(FIXTURES, 'cross-device-estate.yaml')
const SNAP = 'https://nvr.example/snap/cam_b1-0001.jpg'
const IDLE_LIFT = {
  floor: 7,
  moving: false,
  in_door_zone: true,
  door: 'closed',
  passenger: false,
  direction: 'none',
  service_mode: 'normal',
  speed: 0,
  fault_code: 0,
  power_source: 'mains',
}
const state = (kind: string, id: string) => `zhian/${kind}/${id}/state`
const event = (kind: string, id: string) => `zhian/${kind}/${id}/event`

describe('fire facts from evidence, through a real hub and real MQTT', () => {
  it("a camera seeing smoke on building 1: the smoke alert, the blocked passage of that building, and the fire-return hint for building 1's lifts only", async () => {
    const h = await buildHub({ estateFile: ESTATE })
    const [lift, liftB, lift2, fp, cam] = await Promise.all(
      ['lift_b1', 'lift_b1b', 'lift_b2', 'fp_b1', 'cam_b1'].map((id) => connectDevice(h.mqttUrl, id)),
    )
    await send(lift!, state('elevator', 'lift_b1'), IDLE_LIFT)
    await send(lift2!, state('elevator', 'lift_b2'), IDLE_LIFT)
    // The second lift of building 1 answers the fire linkage: it goes to fire return at once.
    await send(liftB!, state('elevator', 'lift_b1b'), IDLE_LIFT)
    await send(fp!, state('fire_passage', 'fp_b1'), { occupied: true, object_class: 'car' })
    await send(cam!, event('ai_camera', 'cam_b1'), {
      type: 'smoke_fire',
      data: { what: 'smoke', snapshot_url: SNAP },
    })
    await send(liftB!, state('elevator', 'lift_b1b'), { service_mode: 'fire_return' })

    const smoke = await waitAlert(h, 'ai_camera.smoke_fire')
    expect(smoke).toMatchObject({ device_id: 'cam_b1', severity: 'critical', crew: 'fire_safety' })
    expect(smoke.message.zh).toBe(`1号楼外立面摄像机 视频识别到烟火(烟雾),请立即核实,抓拍:${SNAP}`)
    const blocked = await waitAlert(h, 'fire_passage.blocked_during_fire')
    expect(blocked).toMatchObject({ device_id: 'fp_b1', severity: 'critical' })
    const hint = await waitAlert(h, 'elevator.fire_in_service')
    expect(hint).toMatchObject({ device_id: 'lift_b1', severity: 'critical', crew: 'fire_safety' })
    expect(hint.message.zh).toContain('请切换到消防返回')
    // Building 2 has no fire; the lift that went to fire return in time has no hint.
    const hints = await listAlerts(h, 'type=elevator.fire_in_service')
    expect(hints.items.map((a) => a.device_id)).toEqual(['lift_b1'])

    // The lift goes to fire return: its hint clears (auto-resolves).
    await send(lift!, state('elevator', 'lift_b1'), { service_mode: 'fire_return' })
    await waitAlert(h, 'elevator.fire_in_service', (a) => a.condition === 'cleared')
  })

  it('a lift fire-return drill with an occupied passage raises no fire alert of any kind', async () => {
    const h = await buildHub({ estateFile: ESTATE })
    const [lift, fp, yard] = await Promise.all(
      ['lift_b1', 'fp_b1', 'fp_yard'].map((id) => connectDevice(h.mqttUrl, id)),
    )
    await send(fp!, state('fire_passage', 'fp_b1'), { occupied: true, object_class: 'car' })
    await send(yard!, state('fire_passage', 'fp_yard'), { occupied: true, object_class: 'goods' })
    await send(lift!, state('elevator', 'lift_b1'), { ...IDLE_LIFT, service_mode: 'fire_return' })
    // The rules handle messages in order: once the drill's mode change is an alert, and the passages'
    // ordinary occupied alerts (1 s) are raised, the fire rule has seen everything it would have.
    await waitAlert(h, 'elevator.mode_change')
    await waitAlert(h, 'fire_passage.occupied', (a) => a.device_id === 'fp_b1')
    await waitAlert(h, 'fire_passage.occupied', (a) => a.device_id === 'fp_yard')
    const all = await listAlerts(h)
    expect(all.items.map((a) => a.type).sort()).toEqual([
      'elevator.mode_change',
      'fire_passage.occupied',
      'fire_passage.occupied',
    ])
  })
})

describe('links from a camera to the device it watches, through a real hub and real MQTT', () => {
  it('an e-bike seen by the car camera is an alert on that lift, with the snapshot link', async () => {
    const h = await buildHub({ estateFile: ESTATE })
    const cam = await connectDevice(h.mqttUrl, 'cam_lift')
    const snap = 'https://nvr.example/snap/lift-0042.jpg'
    await send(cam, event('ai_camera', 'cam_lift'), {
      type: 'ebike_in_lift',
      data: { snapshot_url: snap, confidence: 0.91 },
    })
    const alert = await waitAlert(h, 'elevator.ebike_in_lift')
    expect(alert).toMatchObject({ device_id: 'lift_b1', kind: 'elevator', severity: 'warning' })
    expect(alert.message.zh).toBe(`1号楼1号电梯 轿厢内发现电动车,请劝离(抓拍:${snap})`)
    expect(alert.values.snapshot_url).toBe(snap)
    expect((await listAlerts(h, 'device=cam_lift')).total).toBe(0)
  })

  it("a car seen in the yard passage by its camera feeds the passage's rules, and a fire seen anywhere makes it blocked during a fire", async () => {
    const h = await buildHub({ estateFile: ESTATE })
    const [yardCam, b1Cam] = await Promise.all(
      ['cam_yard', 'cam_b1'].map((id) => connectDevice(h.mqttUrl, id)),
    )
    await send(yardCam!, event('ai_camera', 'cam_yard'), {
      type: 'passage_occupied',
      data: { occupied: true, object_class: 'car', plate: '浙A12345' },
    })
    const occupied = await waitAlert(h, 'fire_passage.occupied')
    expect(occupied).toMatchObject({ device_id: 'fp_yard' })
    expect(occupied.message.zh).toContain('被汽车占用')
    // A passage without a building takes a fire anywhere in the estate.
    await send(b1Cam!, event('ai_camera', 'cam_b1'), { type: 'smoke_fire', data: { what: 'fire' } })
    const blocked = await waitAlert(h, 'fire_passage.blocked_during_fire')
    expect(blocked.device_id).toBe('fp_yard')
  })
})

describe('detections in the report, through a real hub and real MQTT', () => {
  it('counts every e-bike sighting on the lift it was seen in, and repeat high-altitude throwing per building, by name', async () => {
    const h = await buildHub({ estateFile: ESTATE })
    const [liftCam, facade] = await Promise.all(
      ['cam_lift', 'cam_b1'].map((id) => connectDevice(h.mqttUrl, id)),
    )
    for (let i = 0; i < 3; i++)
      await send(liftCam!, event('ai_camera', 'cam_lift'), {
        type: 'ebike_in_lift',
        data: { snapshot_url: SNAP },
      })
    for (const floor of [12, 11])
      await send(facade!, event('ai_camera', 'cam_b1'), {
        type: 'high_altitude_throw',
        data: { floor, snapshot_url: SNAP },
      })
    await waitAlert(h, 'elevator.ebike_in_lift', (a) => a.occurrences === 3)
    await waitAlert(h, 'ai_camera.high_altitude_throw', (a) => a.occurrences === 2)
    const today = ymd(localParts(Date.now(), 'Asia/Shanghai'))
    const res = await h.api(`/api/reports?scope=e1&period=${today}`)
    expect(res.status).toBe(200)
    const report = (await res.json()) as Report
    const ebikes = report.kinds.find((k) => k.id === 'ebike_in_lift')!
    expect(ebikes.rows.map((r) => [r.name, r.counts.ebike_in_lift])).toEqual([['1号楼1号电梯', 3]])
    const throws = report.kinds.find((k) => k.id === 'high_altitude_throw')!
    expect(throws.rows.map((r) => [r.name, r.counts.high_altitude_throw])).toEqual([['1号楼', 2]])
    // The same tables in the CSV a manager downloads.
    const csv = await (await h.api(`/api/reports?scope=e1&period=${today}&format=csv`)).text()
    expect(csv).toContain('高空抛物(按楼栋)')
    expect(csv).toContain('1号楼,b1')
  })
})

/** `HH:MM-HH:MM` around (or away from) the current Asia/Shanghai time. */
function windowFrom(offsetMin: number, lengthMin: number): string {
  const start = (minuteOfDay(Date.now(), 'Asia/Shanghai') + offsetMin + 1440) % 1440
  const end = (start + lengthMin) % 1440
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
  return `${hhmm(start)}-${hhmm(end)}`
}

/** The fixture estate with the perimeter zone's own arming hours. */
function estateWithArming(schedule: string): string {
  const text = fs
    .readFileSync(ESTATE, 'utf8')
    .replace(
      'secret: demo-secret-per1 }',
      `secret: demo-secret-per1, params: { arm_schedule: "${schedule}" } }`,
    )
  const file = path.join(tempDir('zhian-perimeter-'), 'estate.yaml')
  fs.writeFileSync(file, text)
  return file
}

describe('perimeter intrusion and its arming hours, through a real hub and real MQTT', () => {
  it('raises on two beams while armed inside the arming hours', async () => {
    const h = await buildHub({ estateFile: estateWithArming(windowFrom(-60, 120)) })
    const zone = await connectDevice(h.mqttUrl, 'per1')
    await send(zone, state('perimeter', 'per1'), { armed: true })
    await send(zone, event('perimeter', 'per1'), { type: 'trigger', data: { beam: 'B1' } })
    await send(zone, event('perimeter', 'per1'), { type: 'trigger', data: { beam: 'B2' } })
    const alert = await waitAlert(h, 'perimeter.intrusion')
    expect(alert).toMatchObject({ device_id: 'per1', severity: 'critical', crew: 'property_duty' })
    expect(alert.message.zh).toBe('北围墙1防区 周界入侵报警(2 次触发),请保安立即到场核实')
  })

  it('counts nothing outside the arming hours: the same beams raise no intrusion, the tamper after them does alert', async () => {
    const h = await buildHub({ estateFile: estateWithArming(windowFrom(120, 60)) })
    const zone = await connectDevice(h.mqttUrl, 'per1')
    await send(zone, state('perimeter', 'per1'), { armed: true })
    for (const beam of ['B1', 'B2', 'B3', 'B1'])
      await send(zone, event('perimeter', 'per1'), { type: 'trigger', data: { beam } })
    await send(zone, state('perimeter', 'per1'), { tamper: true })
    await waitAlert(h, 'perimeter.tamper')
    expect((await listAlerts(h, 'type=perimeter.intrusion')).total).toBe(0)
  })
})
