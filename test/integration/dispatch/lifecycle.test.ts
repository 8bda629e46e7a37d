import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'
import { alertOf, detail, post, trapPassenger, userApi, workOrderOf } from './rig.ts'

describe('dispatch end to end (real hub, MQTT, rule engine, loopback receivers)', () => {
  it('a trapped passenger reaches the on-duty lift contractor’s webhook within seconds; accept, arrive, resolve close the alert; the whole life shows on the work order', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    const sentAt = Date.now()
    await trapPassenger(lift)
    // `for` is 1 s in this estate; the notification follows the alert at once.
    const [hook] = await until(
      () => (rx.to('/wang').length ? rx.to('/wang') : undefined),
      'webhook to wang',
      8000,
    )
    expect(hook!.at - sentAt).toBeLessThan(5000)
    const alert = await alertOf(h, 'elevator.trapped')
    const body = hook!.json as {
      event: string
      text: string
      link: string
      work_order: { id: string; alert_id: string }
    }
    expect(body.event).toBe('work_order.dispatched')
    expect(body.work_order.alert_id).toBe(alert.id)
    expect(body.text).toContain('困人')
    expect(body.text).toContain('1号楼1号电梯')
    expect(body.link).toBe(`${h.httpUrl}/#/work-orders/${body.work_order.id}`)

    const wo = await workOrderOf(h, alert.id)
    expect(wo).toMatchObject({
      status: 'dispatched',
      team: 'lift_a',
      assignee: 'lift_a/wang',
      severity: 'critical',
    })
    expect((await alertOf(h, 'elevator.trapped')).assigned_team).toBe('lift_a')
    await until(
      async () => (await detail(h, wo.id)).deliveries[0]?.status === 'delivered',
      'delivery recorded',
    )

    const wang = await userApi(h, 'crew_wang')
    const mine = (await (await wang('/api/work-orders?mine=1')).json()) as { items: { id: string }[] }
    expect(mine.items.map((w) => w.id)).toEqual([wo.id])
    expect((await wang(`/api/work-orders/${wo.id}/arrive`, {})).status).toBe(409)
    expect((await wang(`/api/work-orders/${wo.id}/accept`, { note: '收到,10分钟到' })).status).toBe(200)
    expect((await alertOf(h, 'elevator.trapped')).status).toBe('acknowledged')
    expect((await wang(`/api/work-orders/${wo.id}/arrive`, {})).status).toBe(200)
    const resolved = await wang(`/api/work-orders/${wo.id}/resolve`, { note: '乘客已救出,电梯恢复' })
    expect(resolved.status).toBe(200)

    const a = await alertOf(h, 'elevator.trapped')
    expect(a.status).toBe('resolved')
    const full = await detail(h, wo.id)
    expect(full.status).toBe('resolved')
    expect(full.events.map((e) => e.action)).toEqual([
      'dispatched',
      'notified',
      'accepted',
      'on_site',
      'resolved',
    ])
    expect(full.events.slice(2).map((e) => e.actor)).toEqual(['crew_wang', 'crew_wang', 'crew_wang'])
    expect(full.events.at(-1)!.note).toBe('乘客已救出,电梯恢复')
    expect(full.deliveries).toEqual([
      expect.objectContaining({
        member: 'lift_a/wang',
        purpose: 'dispatch',
        status: 'delivered',
        channel: 'webhook',
      }),
    ])
    for (const t of ['to_acknowledge_ms', 'to_accept_ms', 'to_arrive_ms', 'to_resolve_ms'] as const)
      expect(full.times[t]).toBeGreaterThanOrEqual(0)
    expect(full.breaches).toEqual([])
    const audit = (
      (await (await h.api(`/api/alerts/${alert.id}`)).json()) as { audit: { action: string; note: string }[] }
    ).audit
    expect(audit.map((e) => e.action)).toEqual(['raised', 'assigned', 'acknowledged', 'resolved'])
    expect(audit.at(-1)!.note).toContain('乘客已救出')
  })

  it('escalates on schedule when nobody accepts (real clock, 1-s steps): SLA breach counted in /metrics, each step audited on the order and the alert', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const mh = await connectDevice(h.mqttUrl, 'mh1')
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true, tilt_deg: 40 }), {
      qos: 1,
    })
    const alert = await alertOf(h, 'manhole.cover_open')
    // Routed by the estate's rule to property duty: the on-duty member gets an SMS.
    const [sms] = await until(() => (rx.to('/sms').length ? rx.to('/sms') : undefined), 'sms to duty1')
    expect(sms!.query.get('to')).toBe('13800000001')
    expect((sms!.json as { content: string }).content).toContain('井盖')
    // 1 s: nobody else on duty (skipped); 2 s: the team lead; 3 s: the community grid.
    await until(() => rx.to('/manager').length === 1, 'escalation to the lead', 6000)
    await until(() => rx.to('/grid').length === 1, 'escalation to the community grid', 6000)
    const wo = await workOrderOf(h, alert.id)
    await until(async () => (await detail(h, wo.id)).reminders_sent === 1, 'one reminder')
    const full = await detail(h, wo.id)
    expect(full.escalation_level).toBe(3)
    expect(full.events.filter((e) => e.action === 'escalated').map((e) => e.note)).toEqual([
      // A step nobody could take, in words: no step ids in what people read.
      expect.stringMatching(
        /^升级至下一位值班人员:无人可通知,跳过 \/ escalation to the next on duty: nobody/,
      ),
      expect.stringContaining('孙经理'),
      expect.stringContaining('网格员小吴'),
    ])
    expect(full.breaches.map((b) => b.stage)).toEqual(['accept'])
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text()
    expect(metrics).toContain(
      'zhian_work_order_sla_breaches_total{type="manhole.cover_open",stage="accept"} 1',
    )
    const audit = (
      (await (await h.api(`/api/alerts/${alert.id}`)).json()) as { audit: { action: string; note: string }[] }
    ).audit
    expect(audit.filter((e) => e.action === 'commented' && e.note.includes('升级')).length).toBe(3)
    // Once escalated, the grid worker's and the lead's deliveries show on the order.
    await until(
      async () => (await detail(h, wo.id)).deliveries.filter((d) => d.status === 'delivered').length >= 4,
      'deliveries delivered',
    )
  })

  it('opens a work order by hand for an alert whose route says not to, and refuses a second open one', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: estateFor(rx) })
    const fp = await connectDevice(h.mqttUrl, 'fp1')
    await fp.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    const alert = await alertOf(h, 'fire_passage.blocked')
    await new Promise((r) => setTimeout(r, 300))
    expect(
      ((await (await h.api(`/api/work-orders?alert=${alert.id}`)).json()) as { total: number }).total,
    ).toBe(0)
    const res = await post(h, '/api/work-orders', { alert_id: alert.id, note: '请物业清理通道' })
    expect(res.status).toBe(201)
    const wo = (await res.json()) as {
      id: string
      team: string
      created_by: string
      events: { note: string }[]
    }
    expect(wo).toMatchObject({ team: 'property_duty', created_by: 'api-token' })
    expect(wo.events[0]!.note).toContain('请物业清理通道')
    const again = await post(h, '/api/work-orders', { alert_id: alert.id })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { code: string }).code).toBe('ZHIAN_ERR_WORK_ORDER_STATE')
    expect((await post(h, '/api/work-orders', { alert_id: 'al_missing' })).status).toBe(404)
    expect((await post(h, '/api/work-orders', { alert_id: alert.id, extra: 1 })).status).toBe(400)
    // Cancelling leaves the alert open; a new order can be opened for it.
    expect((await post(h, `/api/work-orders/${wo.id}/cancel`, { note: '重复' })).status).toBe(200)
    expect((await alertOf(h, 'fire_passage.blocked')).status).not.toBe('resolved')
    const unknown = await post(h, '/api/work-orders', { alert_id: alert.id, team: 'nobody' })
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as { code: string }).code).toBe('ZHIAN_ERR_UNKNOWN_TEAM')
    const again2 = await post(h, '/api/work-orders', { alert_id: alert.id, team: 'community_grid' })
    expect(again2.status).toBe(201)
    const second = (await again2.json()) as { id: string }
    // Newest first, paged.
    type Page = { items: { id: string; status: string }[]; total: number }
    const p1 = (await (await h.api('/api/work-orders?limit=1')).json()) as Page
    const p2 = (await (await h.api('/api/work-orders?limit=1&offset=1')).json()) as Page
    expect([p1.total, p1.items.map((w) => w.id), p2.items.map((w) => w.id)]).toEqual([
      2,
      [second.id],
      [wo.id],
    ])
    const cancelled = (await (await h.api('/api/work-orders?status=cancelled')).json()) as Page
    expect(cancelled.items.map((w) => w.id)).toEqual([wo.id])
  })
})
