import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { getAlert, hubAlertFeed, listAlerts, post, RULES_ESTATE, send, waitAlert } from './rig.ts'

const FP1 = 'zhian/fire_passage/fp1/state'
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
const MH1 = 'zhian/manhole/mh1/state'

describe('alert lifecycle through real MQTT', () => {
  it('raises fire_passage.blocked once after `for`, without a further message, and publishes it on zhian/hub/alert', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const feed = hubAlertFeed(h.hub)
    const fp1 = await connectDevice(h.mqttUrl, 'fp1')
    const sentAt = Date.now()
    await send(fp1, FP1, { occupied: true, object_class: 'car' })
    const alert = await waitAlert(h, 'fire_passage.blocked')
    expect(alert.first_at - sentAt).toBeGreaterThanOrEqual(1900)
    expect(alert).toMatchObject({
      device_id: 'fp1',
      estate: 'e1',
      severity: 'major',
      status: 'active',
      condition: 'raised',
      crew: 'property_duty',
      occurrences: 1,
      suppressed: false,
    })
    expect(alert.message.zh).toContain('消防通道1段')
    expect(alert.message.zh).toContain('汽车')
    // The same state again is not a second alert.
    await send(fp1, FP1, { occupied: true, object_class: 'car' })
    await new Promise((r) => setTimeout(r, 300))
    const all = await listAlerts(h, 'type=fire_passage.blocked')
    expect(all.total).toBe(1)
    expect(all.items[0]!.occurrences).toBe(1)
    // Dispatch may add its own transitions (work order assigned); the rule published exactly one.
    const published = feed.messages.filter(
      (m) => m.type === 'fire_passage.blocked' && m.event.channel === 'rule',
    )
    expect(published).toHaveLength(1)
    expect(published[0]!.event.action).toBe('raised')
    feed.close()
  })

  it('clears and auto-resolves fire_passage.blocked once the passage stays free for clear_for, with every step audited', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const fp1 = await connectDevice(h.mqttUrl, 'fp1')
    await send(fp1, FP1, { occupied: true })
    const raised = await waitAlert(h, 'fire_passage.blocked')
    await send(fp1, FP1, { occupied: false })
    const resolved = await waitAlert(h, 'fire_passage.blocked', (a) => a.status === 'resolved')
    expect(resolved.id).toBe(raised.id)
    expect(resolved.condition).toBe('cleared')
    expect(resolved.cleared_at).not.toBeNull()
    const full = await getAlert(h, raised.id)
    expect(full.audit.map((e) => e.action)).toEqual(['raised', 'cleared', 'resolved'])
    expect(full.audit.every((e) => e.channel === 'rule' && e.actor === 'rule')).toBe(true)
  })

  it('keeps latched manhole.cover_open open after the cover is re-seated, counts a re-trigger, and resolves it when a person does', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const mh1 = await connectDevice(h.mqttUrl, 'mh1')
    await send(mh1, MH1, { tilt_deg: 35 })
    const alert = await waitAlert(h, 'manhole.cover_open')
    expect(alert).toMatchObject({ severity: 'critical', latched: true, status: 'active' })
    await send(mh1, MH1, { tilt_deg: 1 })
    const cleared = await waitAlert(h, 'manhole.cover_open', (a) => a.condition === 'cleared')
    expect(cleared.status).toBe('active')
    await new Promise((r) => setTimeout(r, 300))
    expect((await getAlert(h, alert.id)).status).toBe('active')

    await send(mh1, MH1, { tilt_deg: 40 })
    const again = await waitAlert(h, 'manhole.cover_open', (a) => a.occurrences === 2)
    expect(again.id).toBe(alert.id)
    expect(again.condition).toBe('raised')

    const ack = await post(h, `/api/alerts/${alert.id}/ack`, { note: '已派人' })
    expect(ack.status).toBe(200)
    expect((await ack.json()).status).toBe('acknowledged')
    const res = await post(h, `/api/alerts/${alert.id}/resolve`, { note: '井盖已复位' })
    expect(res.status).toBe(200)
    const full = await getAlert(h, alert.id)
    expect(full.status).toBe('resolved')
    expect(full.audit.at(-1)).toMatchObject({
      action: 'resolved',
      actor: 'api-token',
      channel: 'http',
      note: '井盖已复位',
    })
    expect(full.audit.map((e) => e.action)).toEqual([
      'raised',
      'cleared',
      'retriggered',
      'acknowledged',
      'resolved',
    ])
  })

  it('records an alert as suppressed while a silence covers the device, and alerts normally once the silence is deleted', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const feed = hubAlertFeed(h.hub)
    const silence = await post(h, '/api/silences', {
      device: 'fp1',
      types: ['fire_passage.blocked'],
      duration: '1h',
      reason: '搬家车辆临时停靠',
    })
    expect(silence.status).toBe(201)
    const { id } = (await silence.json()) as { id: string }
    const fp1 = await connectDevice(h.mqttUrl, 'fp1')
    await send(fp1, FP1, { occupied: true })
    const muted = await waitAlert(h, 'fire_passage.blocked')
    expect(muted.suppressed).toBe(true)
    expect(muted.suppressed_reason).toBe(`silence:${id}`)
    expect((await getAlert(h, muted.id)).audit[0]!.action).toBe('suppressed')
    expect(feed.messages.filter((m) => m.type === 'fire_passage.blocked')).toHaveLength(0)
    await send(fp1, FP1, { occupied: false })
    await waitAlert(h, 'fire_passage.blocked', (a) => a.status === 'resolved')

    const del = await h.api(`/api/silences/${id}`, { method: 'DELETE' })
    expect(del.status).toBe(204)
    await send(fp1, FP1, { occupied: true })
    const loud = await waitAlert(h, 'fire_passage.blocked', (a) => a.id !== muted.id)
    expect(loud.suppressed).toBe(false)
    expect(
      feed.messages.filter((m) => m.type === 'fire_passage.blocked' && m.event.action === 'raised'),
    ).toHaveLength(1)
    feed.close()
  })

  it('notifies a passenger still trapped when the lift leaves inspection: the suppressed alert becomes an ordinary one', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const feed = hubAlertFeed(h.hub)
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift, 'zhian/elevator/lift1/state', { ...IDLE_LIFT, service_mode: 'inspection' })
    await send(lift, 'zhian/elevator/lift1/state', { passenger: true })
    const muted = await waitAlert(h, 'elevator.trapped')
    expect(muted).toMatchObject({ suppressed: true, suppressed_reason: 'service_mode:inspection' })
    await send(lift, 'zhian/elevator/lift1/state', { service_mode: 'normal' })
    const loud = await waitAlert(h, 'elevator.trapped', (a) => !a.suppressed)
    expect(loud).toMatchObject({ id: muted.id, status: 'active', condition: 'raised', occurrences: 1 })
    expect((await getAlert(h, muted.id)).audit.map((e) => e.action)).toEqual(['suppressed', 'raised'])
    await until(
      () => feed.messages.some((m) => m.type === 'elevator.trapped' && m.event.action === 'raised'),
      'elevator.trapped published on zhian/hub/alert',
    )
    feed.close()
  })

  it('notifies a passage still blocked once its silence is deleted, without another message from the device', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const silence = await post(h, '/api/silences', { device: 'fp1', duration: '1h', reason: '搬家' })
    const { id } = (await silence.json()) as { id: string }
    const fp1 = await connectDevice(h.mqttUrl, 'fp1')
    await send(fp1, FP1, { occupied: true })
    const muted = await waitAlert(h, 'fire_passage.blocked')
    expect(muted.suppressed).toBe(true)
    expect((await h.api(`/api/silences/${id}`, { method: 'DELETE' })).status).toBe(204)
    const loud = await waitAlert(h, 'fire_passage.blocked', (a) => !a.suppressed)
    expect(loud.id).toBe(muted.id)
    const audit = (await getAlert(h, muted.id)).audit
    expect(audit.map((e) => e.action)).toEqual(['suppressed', 'raised'])
    expect(audit[1]!.note).toBe(`no longer suppressed: silence:${id} ended`)
  })

  it('records alerts of a device in maintenance mode as suppressed', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const on = await post(h, '/api/devices/mh1/maintenance', { on: true, reason: '更换井盖' })
    expect(on.status).toBe(200)
    expect((await on.json()).on).toBe(true)
    const mh1 = await connectDevice(h.mqttUrl, 'mh1')
    await send(mh1, MH1, { cover_open: true })
    const alert = await waitAlert(h, 'manhole.cover_open')
    expect(alert.suppressed).toBe(true)
    expect(alert.suppressed_reason).toBe('maintenance')
    const off = await post(h, '/api/devices/mh1/maintenance', { on: false })
    expect((await off.json()).on).toBe(false)
    // The cover is still open: once maintenance ends it is an ordinary, notified alert.
    const loud = await waitAlert(h, 'manhole.cover_open', (a) => !a.suppressed)
    expect(loud).toMatchObject({ id: alert.id, status: 'active', condition: 'raised' })
    expect((await getAlert(h, alert.id)).audit.map((e) => e.action)).toEqual(['suppressed', 'raised'])
  })

  it('raises elevator.offline when a device stays silent past its announced interval and resolves it on its next message', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift, 'zhian/elevator/lift1/info', { interval_s: 1 })
    const offline = await waitAlert(h, 'elevator.offline', (a) => a.device_id === 'lift1')
    expect(offline).toMatchObject({ severity: 'warning', crew: 'property_engineering', status: 'active' })
    expect(offline.message.en).toContain('offline')
    await send(lift, 'zhian/elevator/lift1/state', { floor: 1 })
    const back = await waitAlert(h, 'elevator.offline', (a) => a.id === offline.id && a.status === 'resolved')
    expect(back.condition).toBe('cleared')
  })

  it('counts parking occupancy per zone and raises parking_bay.zone_full when the zone fills', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const pb1 = await connectDevice(h.mqttUrl, 'pb1')
    const pb2 = await connectDevice(h.mqttUrl, 'pb2')
    await send(pb1, 'zhian/parking_bay/pb1/state', { occupied: true })
    await send(pb2, 'zhian/parking_bay/pb2/state', { occupied: true })
    const zones = await (await h.api('/api/zones?estate=e1')).json()
    expect(zones).toEqual([
      { estate: 'e1', zone: 'ground', total: 2, occupied: 2, free: 0, unknown: 0, percent: 100 },
    ])
    const full = await waitAlert(h, 'parking_bay.zone_full')
    expect(full).toMatchObject({ subject: 'zone:e1:ground', device_id: null, estate: 'e1', severity: 'info' })
    await send(pb2, 'zhian/parking_bay/pb2/state', { occupied: false })
    await send(pb1, 'zhian/parking_bay/pb1/state', { occupied: false })
    await waitAlert(h, 'parking_bay.zone_full', (a) => a.status === 'resolved')
  })
})
