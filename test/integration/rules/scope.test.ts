import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, type TestHub } from '../../helpers/hub.ts'
import { getAlert, RULES_ESTATE, send, waitAlert } from './rig.ts'

/** Fixture users of rules-estate.yaml: a manager and a viewer of estate e1. */
async function as(h: TestHub, username: 'mgr_e1' | 'viewer_e1') {
  const password = username === 'mgr_e1' ? 'mgr-e1-password' : 'viewer-e1-password'
  const res = await fetch(`${h.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`)
  const { token } = (await res.json()) as { token: string }
  return (pathname: string, body?: unknown) =>
    fetch(`${h.httpUrl}${pathname}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
}

describe('alerts are scoped to the caller’s part of the site tree', () => {
  it('shows an estate manager only the alerts of their estate and lets them act on nothing else', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    const e2lift = await connectDevice(h.mqttUrl, 'e2_lift1')
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    await send(e2lift, 'zhian/elevator/e2_lift1/event', { type: 'alarm_button' })
    const mine = await waitAlert(h, 'elevator.alarm_button', (a) => a.device_id === 'lift1')
    const theirs = await waitAlert(h, 'elevator.alarm_button', (a) => a.device_id === 'e2_lift1')

    const mgr = await as(h, 'mgr_e1')
    const list = (await (await mgr('/api/alerts')).json()) as { items: { id: string }[]; total: number }
    expect(list.items.map((a) => a.id)).toEqual([mine.id])
    expect(list.total).toBe(1)
    expect((await mgr(`/api/alerts/${theirs.id}`)).status).toBe(404)
    const ack = await mgr(`/api/alerts/${theirs.id}/ack`, {})
    expect(ack.status).toBe(404)
    expect((await ack.json()).code).toBe('ZHIAN_ERR_UNKNOWN_ALERT')
    expect((await getAlert(h, theirs.id)).status).toBe('active')
    expect((await mgr(`/api/alerts/${mine.id}/ack`, { note: '收到' })).status).toBe(200)

    expect((await mgr('/api/silences', { site: 'e2', duration: '1h', reason: 'x' })).status).toBe(400)
    expect((await mgr('/api/silences', { device: 'e2_lift1', duration: '1h', reason: 'x' })).status).toBe(404)
    expect((await mgr('/api/devices/e2_lift1/maintenance', { on: true })).status).toBe(404)
    expect((await mgr('/api/silences', { site: 'e1_b1', duration: '1h', reason: '检修' })).status).toBe(201)
  })

  it('lets a viewer read alerts but not act on them', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    const alert = await waitAlert(h, 'elevator.alarm_button')
    const viewer = await as(h, 'viewer_e1')
    expect((await viewer(`/api/alerts/${alert.id}`)).status).toBe(200)
    for (const action of ['ack', 'resolve']) {
      const res = await viewer(`/api/alerts/${alert.id}/${action}`, {})
      expect(res.status).toBe(403)
      expect((await res.json()).code).toBe('ZHIAN_ERR_FORBIDDEN')
    }
    expect((await viewer('/api/silences', { site: 'e1', duration: '1h', reason: 'x' })).status).toBe(403)
    const after = await getAlert(h, alert.id)
    expect(after.status).toBe('active')
    expect(after.audit.map((e) => e.action)).toEqual(['raised'])
    expect(after.audit.some((e) => e.actor === 'viewer_e1')).toBe(false)
  })
})
