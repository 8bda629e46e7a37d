import { describe, expect, it } from 'vitest'
import type { WorkOrder, WorkOrderEvent } from '../../../src/dispatch/types.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { connected, type DashboardSocket, login, socketOf } from '../../helpers/session.ts'
import { estateFor, Receiver } from '../dispatch/receiver.ts'
import { trapPassenger } from '../dispatch/rig.ts'

/**
 * `work_order` over socket.io (the crew app), on the dispatch fixture: lift_a (wang → crew_wang,
 * li → crew_li) in e1, lift_b (zhao → crew_zhao) in e2, property_duty (duty1 → crew_zhou) in e1 with
 * 1-s escalation steps for an open manhole cover.
 */

type Change = { work_order: WorkOrder; event: WorkOrderEvent }

const PASSWORDS: Record<string, string> = {
  crew_wang: 'crew-wang-password',
  crew_zhao: 'crew-zhao-password',
  crew_zhou: 'crew-zhou-password',
  mgr_e1: 'mgr-e1-password',
  viewer_e1: 'viewer-e1-password',
}

async function listen(h: TestHub, username: string): Promise<Change[]> {
  const res = await login(h.httpUrl, username, PASSWORDS[username]!)
  const { token } = (await res.json()) as { token: string }
  const socket: DashboardSocket = socketOf(h.httpUrl, { token })
  const got: Change[] = []
  socket.on('work_order', (c) => got.push(c))
  await connected(socket)
  return got
}

const actions = (got: Change[], id: string) =>
  got.filter((c) => c.work_order.id === id).map((c) => c.event.action)

describe('work orders live over socket.io', () => {
  it("each crew login gets its own orders' changes (dispatch, reminders, escalations, deliveries) and never another team's", async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    // A crew login of property_duty with no linked member gets its team's orders (as over HTTP).
    await h.hub.auth.users.add({
      username: 'duty_desk',
      password: 'duty-desk-password',
      role: 'crew',
      scope: 'e1',
      team: 'property_duty',
    })
    PASSWORDS.duty_desk = 'duty-desk-password'
    const got = {
      zhou: await listen(h, 'crew_zhou'),
      desk: await listen(h, 'duty_desk'),
      wang: await listen(h, 'crew_wang'),
      zhao: await listen(h, 'crew_zhao'),
      mgr: await listen(h, 'mgr_e1'),
      viewer: await listen(h, 'viewer_e1'),
    }

    const mh = await connectDevice(h.mqttUrl, 'mh1')
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true, tilt_deg: 40 }), {
      qos: 1,
    })
    const cover = await until(
      () => got.zhou.find((c) => c.event.action === 'dispatched'),
      'the dispatch at duty1',
    )
    const id = cover.work_order.id
    expect(cover.work_order).toMatchObject({ team: 'property_duty', assignee: 'property_duty/duty1' })
    // Nobody accepts: a reminder, then escalation steps; each delivery settling is a `notified` event.
    await until(
      () => (['reminded', 'escalated', 'notified'] as const).every((a) => actions(got.zhou, id).includes(a)),
      'reminder, escalation and delivery status at duty1',
      8000,
    )
    await until(
      () => actions(got.zhou, id).filter((a) => a === 'escalated').length === 3,
      'all three steps',
      8000,
    )

    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await trapPassenger(lift)
    const trapped = await until(
      () => got.wang.find((c) => c.event.action === 'dispatched'),
      'the dispatch at wang',
      8000,
    )
    expect(trapped.work_order.team).toBe('lift_a')
    const accept = await fetch(`${h.httpUrl}/api/work-orders/${trapped.work_order.id}/accept`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor(h, 'crew_wang')}`,
        'content-type': 'application/json',
      },
      body: '{}',
    })
    expect(accept.status).toBe(200)
    await until(() => actions(got.wang, trapped.work_order.id).includes('accepted'), 'the accept at wang')
    await until(
      () => actions(got.mgr, trapped.work_order.id).includes('accepted'),
      'the accept at the manager',
    )
    await new Promise((r) => setTimeout(r, 300))

    // Every change reached the e1 manager and viewer; each crew only its own orders.
    expect(new Set(got.mgr.map((c) => c.work_order.id))).toEqual(new Set([id, trapped.work_order.id]))
    expect(new Set(got.viewer.map((c) => c.work_order.id))).toEqual(new Set([id, trapped.work_order.id]))
    expect(new Set(got.zhou.map((c) => c.work_order.id))).toEqual(new Set([id]))
    expect(new Set(got.desk.map((c) => c.work_order.id))).toEqual(new Set([id]))
    expect(new Set(got.wang.map((c) => c.work_order.id))).toEqual(new Set([trapped.work_order.id]))
    expect(got.zhao).toEqual([])
    // What a crew receives is what the API shows it: the same order, readable with its own login.
    const seen = await fetch(`${h.httpUrl}/api/work-orders/${id}`, {
      headers: { authorization: `Bearer ${await tokenFor(h, 'crew_zhou')}` },
    })
    expect(seen.status).toBe(200)
    const hidden = await fetch(`${h.httpUrl}/api/work-orders/${id}`, {
      headers: { authorization: `Bearer ${await tokenFor(h, 'crew_wang')}` },
    })
    expect(hidden.status).toBe(404)
  })
})

async function tokenFor(h: TestHub, username: string): Promise<string> {
  const res = await login(h.httpUrl, username, PASSWORDS[username]!)
  return ((await res.json()) as { token: string }).token
}
