import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import { device, IDLE_LIFT, lift, MIN, rig, S } from './harness.ts'

const SNAP = 'https://nvr.example/snap/20260302-2301-cam1.jpg'
const camera = (params: Record<string, unknown> = {}, id = 'cam1', estate = 'e1') =>
  device(id, 'ai_camera', params, estate, '1号楼电梯摄像机')
const passage = (id = 'fp1') => device(id, 'fire_passage', { entrance: false }, 'e1', '消防通道1段')

describe('ai_camera → the lift it watches (link): elevator.ebike_in_lift', () => {
  it('raises on the lift the camera names, with the snapshot link in the text and values, not on the camera', () => {
    const l = lift('lift1')
    const cam = camera({ elevator: 'lift1' })
    const r = rig({ devices: [l, cam] })
    r.event(cam, 'ebike_in_lift', { snapshot_url: SNAP, confidence: 0.93 })
    const [raise] = r.raises('elevator.ebike_in_lift')
    expect(raise).toMatchObject({ subject: 'lift1', severity: 'warning', crew: 'property_duty' })
    expect(raise!.message.zh).toBe(`1号楼2号电梯 轿厢内发现电动车,请劝离(抓拍:${SNAP})`)
    expect(raise!.values.snapshot_url).toBe(SNAP)
    expect(r.signals.filter((s) => s.subject === 'cam1' && s.op === 'raise')).toHaveLength(0)
  })

  it('re-triggers on a second sighting and clears 10 min after the last, not at 9:59', () => {
    const l = lift('lift1')
    const cam = camera({ elevator: 'lift1' })
    const r = rig({ devices: [l, cam] })
    r.event(cam, 'ebike_in_lift', { snapshot_url: SNAP })
    r.advance(5 * MIN)
    r.event(cam, 'ebike_in_lift', { snapshot_url: SNAP })
    expect(r.raises('elevator.ebike_in_lift').map((s) => s.retrigger)).toEqual([false, true])
    r.advance(10 * MIN - S)
    expect(r.clears('elevator.ebike_in_lift')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('elevator.ebike_in_lift')).toHaveLength(1)
  })

  it('ignores a link to a device of another kind, another estate, or none at all', () => {
    const fp = passage()
    const other = lift('lift9', 'e2')
    const r = rig({
      devices: [
        fp,
        other,
        camera({ elevator: 'fp1' }, 'c1'),
        camera({ elevator: 'lift9' }, 'c2'),
        camera({}, 'c3'),
      ],
    })
    for (const id of ['c1', 'c2', 'c3']) r.event(camera({}, id), 'ebike_in_lift', { snapshot_url: SNAP })
    expect(r.raises('elevator.ebike_in_lift')).toHaveLength(0)
  })

  it('is no life sign of the lift: a silent lift still goes offline on time', () => {
    const l = lift('lift1')
    const cam = camera({ elevator: 'lift1' })
    const r = rig({ devices: [l, cam] })
    r.advance(3 * MIN)
    r.event(cam, 'ebike_in_lift', { snapshot_url: SNAP })
    r.advance(30 * S)
    expect(r.raises('elevator.offline')).toHaveLength(1)
  })

  it('applies again, the same way, when the rules replay the journalled camera message after a restart', () => {
    const l = lift('lift1')
    const cam = camera({ elevator: 'lift1' })
    const clock = new FakeClock()
    const first = rig({ devices: [l, cam], clock })
    const snapshot = first.engine.takeSnapshot({ all: true })
    first.event(cam, 'ebike_in_lift', { snapshot_url: SNAP })
    first.engine.stop()
    // The state flushed before the message; the replay hands it to a fresh engine at the same time.
    const again = rig({ devices: [l, cam], clock, snapshot })
    again.event(cam, 'ebike_in_lift', { snapshot_url: SNAP })
    const strip = (s: (typeof first.signals)[number]) => ({ ...s, device: undefined })
    expect(again.signals.map(strip)).toEqual(first.signals.map(strip))
  })
})

describe('ai_camera → the fire passage it watches (link as a reading)', () => {
  it("feeds the passage's own rules: occupied 3 min raises fire_passage.occupied on the passage", () => {
    const fp = passage()
    const cam = camera({ fire_passage: 'fp1' })
    const r = rig({ devices: [fp, cam] })
    r.event(cam, 'passage_occupied', {
      occupied: true,
      object_class: 'car',
      plate: '浙A12345',
      snapshot_url: SNAP,
    })
    r.advance(3 * MIN - S)
    expect(r.raises('fire_passage.occupied')).toHaveLength(0)
    r.advance(S)
    const [raise] = r.raises('fire_passage.occupied', 'fp1')
    expect(raise!.message.zh).toBe('消防通道1段 被汽车占用 已持续 180 秒')
    expect(r.engine.stateOf('fp1')).toMatchObject({ occupied: true, plate: '浙A12345' })
    r.event(cam, 'passage_occupied', { occupied: false })
    r.advance(30 * S)
    expect(r.clears('fire_passage.occupied')).toHaveLength(1)
  })

  it('a camera seeing smoke in the building and a car in its passage: blocked_during_fire at once', () => {
    const fp = passage()
    const cam = camera({ fire_passage: 'fp1' })
    const r = rig({ devices: [fp, cam] })
    r.event(cam, 'passage_occupied', { occupied: true, object_class: 'car' })
    r.event(cam, 'smoke_fire', { what: 'smoke', snapshot_url: SNAP })
    expect(r.raises('ai_camera.smoke_fire')[0]).toMatchObject({ severity: 'critical', latched: true })
    expect(r.raises('ai_camera.smoke_fire')[0]!.message.zh).toBe(
      `1号楼电梯摄像机 视频识别到烟火(烟雾),请立即核实,抓拍:${SNAP}`,
    )
    expect(r.raises('fire_passage.blocked_during_fire')).toHaveLength(1)
  })
})

describe('ai_camera.smoke_fire', () => {
  it('is a fire while sightings go on: its condition clears 10 min after the last one, and the fire fact with it', () => {
    const fp = passage()
    const cam = camera()
    const r = rig({ devices: [fp, cam] })
    r.send(fp, { occupied: true })
    r.event(cam, 'smoke_fire', { what: 'fire' })
    r.advance(5 * MIN)
    r.event(cam, 'smoke_fire', { what: 'fire' })
    r.advance(10 * MIN - S)
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(0)
    r.advance(S)
    expect(r.clears('ai_camera.smoke_fire')).toHaveLength(1)
    expect(r.clears('fire_passage.blocked_during_fire')).toHaveLength(1)
  })

  it('makes the lifts of its building a fire_in_service hint', () => {
    const l = lift('lift1')
    const cam = camera()
    const r = rig({ devices: [l, cam] })
    r.send(l, IDLE_LIFT)
    r.event(cam, 'smoke_fire', { what: 'smoke' })
    r.advance(30 * S)
    expect(r.raises('elevator.fire_in_service')).toHaveLength(1)
  })
})

describe('ai_camera.high_altitude_throw', () => {
  it('raises latched with the estimated floor and snapshot; a repeat re-triggers the open alert', () => {
    const cam = camera()
    const r = rig({ devices: [cam] })
    r.event(cam, 'high_altitude_throw', { floor: 12, snapshot_url: SNAP })
    const [raise] = r.raises('ai_camera.high_altitude_throw')
    expect(raise).toMatchObject({ severity: 'major', latched: true, retrigger: false })
    expect(raise!.message.zh).toBe(`1号楼电梯摄像机 发现高空抛物(约 12 层),抓拍:${SNAP}`)
    r.advance(2 * MIN)
    r.event(cam, 'high_altitude_throw', { floor: 11, snapshot_url: SNAP })
    expect(r.raises('ai_camera.high_altitude_throw')[1]).toMatchObject({ retrigger: true })
  })
})

describe('ai_camera.illegal_parking', () => {
  it('raises after 5 min in the no-parking zone with the plate, not at 4:59, and clears when the vehicle leaves', () => {
    const cam = camera({ no_parking_zone: '东门禁停区' })
    const r = rig({ devices: [cam] })
    r.event(cam, 'illegal_parking', { active: true, plate: '浙A88888', snapshot_url: SNAP })
    r.advance(5 * MIN - S)
    expect(r.raises('ai_camera.illegal_parking')).toHaveLength(0)
    r.advance(S)
    const [raise] = r.raises('ai_camera.illegal_parking')
    expect(raise!.message.zh).toBe(`1号楼电梯摄像机 禁停区车辆停留 5 分钟,车牌 浙A88888,抓拍:${SNAP}`)
    r.event(cam, 'illegal_parking', { active: false })
    expect(r.clears('ai_camera.illegal_parking')).toHaveLength(1)
  })

  it('does not raise for a stop shorter than the dwell time, and leaves out a plate and snapshot it does not have', () => {
    const cam = camera()
    const r = rig({ devices: [cam] })
    r.event(cam, 'illegal_parking', { active: true })
    r.advance(4 * MIN)
    r.event(cam, 'illegal_parking', { active: false })
    r.advance(10 * MIN)
    expect(r.raises('ai_camera.illegal_parking')).toHaveLength(0)
    r.event(cam, 'illegal_parking', { active: true })
    r.advance(5 * MIN)
    expect(r.raises('ai_camera.illegal_parking')[0]!.message.zh).toBe('1号楼电梯摄像机 禁停区车辆停留 5 分钟')
  })
})

describe('ai_camera.video_lost', () => {
  it('raises when the box reports video lost and clears when it is back', () => {
    const cam = camera()
    const r = rig({ devices: [cam] })
    r.send(cam, { video_ok: true })
    expect(r.raises('ai_camera.video_lost')).toHaveLength(0)
    r.send(cam, { video_ok: false })
    expect(r.raises('ai_camera.video_lost')).toHaveLength(1)
    r.send(cam, { video_ok: true })
    expect(r.clears('ai_camera.video_lost')).toHaveLength(1)
  })
})

describe('links are declared, not coded', () => {
  it('name a target kind, an event or the reading, and a string param of the source kind', () => {
    for (const [id, def] of Object.entries(KINDS)) {
      for (const link of ('links' in def ? def.links : []) ?? []) {
        const target = KINDS[link.kind as keyof typeof KINDS]
        expect(target, `${id} → ${link.kind}`).toBeDefined()
        expect(def.events, `${id}.${link.event}`).toHaveProperty(link.event)
        expect(
          (def.params as Record<string, { type: string }>)[link.param]?.type,
          `${id}.params.${link.param}`,
        ).toBe('string')
        if ('event' in link.as) expect(target.events).toHaveProperty(link.as.event)
      }
    }
  })
})
