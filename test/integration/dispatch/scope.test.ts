import { describe, expect, it } from 'vitest'
import type { WorkOrder } from '../../../src/dispatch/types.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'
import { alertOf, trapPassenger, userApi, workOrderOf } from './rig.ts'

type Page = { items: WorkOrder[]; total: number }

describe('work orders by principal', () => {
  it('a crew user sees and acts on only its own tasks; a manager sees its estate; a viewer reads but cannot act', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    const e2lift = await connectDevice(h.mqttUrl, 'e2_lift1')
    await trapPassenger(lift1)
    // e2 keeps the catalogue's 60 s trapped timer: open its order by hand from a fault-code alert.
    await e2lift.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
    const a1 = await alertOf(h, 'elevator.trapped')
    const a2 = await alertOf(h, 'elevator.moving_door_open')
    const wo1 = await workOrderOf(h, a1.id)
    const wo2 = await workOrderOf(h, a2.id)
    expect(wo2).toMatchObject({ team: 'lift_b', assignee: 'lift_b/zhao', estate: 'e2' })
    // Feishu to zhao (lift_b serves e2).
    await until(() => rx.to('/zhao-feishu').length === 1, 'feishu to zhao')

    const wang = await userApi(h, 'crew_wang')
    const li = await userApi(h, 'crew_li')
    const zhao = await userApi(h, 'crew_zhao')
    const mgr = await userApi(h, 'mgr_e1')

    const ids = async (api: typeof wang, q = '') =>
      ((await (await api(`/api/work-orders${q}`)).json()) as Page).items.map((w) => w.id)
    expect(await ids(wang)).toEqual([wo1.id])
    expect(await ids(wang, '?mine=1')).toEqual([wo1.id])
    expect(await ids(zhao)).toEqual([wo2.id])
    // li is on the same team but was not dispatched (not yet escalated to): nothing to see.
    expect(await ids(li)).toEqual([])
    expect((await li(`/api/work-orders/${wo1.id}`)).status).toBe(404)
    expect((await li(`/api/work-orders/${wo1.id}/accept`, {})).status).toBe(404)
    // Another estate's crew cannot see or accept it (404, not 403: do not reveal it exists).
    expect((await zhao(`/api/work-orders/${wo1.id}`)).status).toBe(404)
    expect((await zhao(`/api/work-orders/${wo1.id}/accept`, {})).status).toBe(404)
    // A crew member cannot cancel, even its own.
    expect((await wang(`/api/work-orders/${wo1.id}/cancel`, {})).status).toBe(403)
    expect((await wang(`/api/work-orders/${wo1.id}/accept`, {})).status).toBe(200)
    // The manager of e1 sees e1's order only, and cannot open one for an e2 alert.
    expect(await ids(mgr)).toEqual([wo1.id])
    expect((await mgr(`/api/work-orders/${wo2.id}`)).status).toBe(404)
    expect((await mgr('/api/work-orders', { alert_id: a2.id })).status).toBe(404)
    // Nobody in e1's team links to mgr_e1: "mine" is empty for it.
    expect(await ids(mgr, '?mine=1')).toEqual([])
    // A viewer of e1 reads e1's orders but cannot act on them.
    const viewer = await userApi(h, 'viewer_e1')
    expect(await ids(viewer)).toEqual([wo1.id])
    expect((await viewer(`/api/work-orders/${wo1.id}/arrive`, {})).status).toBe(403)
    // The admin token sees both.
    const all = (await (await h.api('/api/work-orders')).json()) as Page
    expect(all.items.map((w) => w.id).sort()).toEqual([wo1.id, wo2.id].sort())
    // Teams: channel types only, never URLs or secrets.
    const teams = await (await h.api('/api/teams?estate=e1')).text()
    expect(teams).not.toContain('secret')
    expect(teams).not.toContain('127.0.0.1')
    const lift = (JSON.parse(teams) as { id: string; on_duty: string[] | null }[]).find(
      (t) => t.id === 'lift_a',
    )
    expect(lift!.on_duty).toEqual(['wang', 'li'])
  })
})
