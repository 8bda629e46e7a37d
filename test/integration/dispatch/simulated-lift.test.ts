import fs from 'node:fs'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Fleet } from '../../../simulators/fleet.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { buildHub, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'
import { alertOf, detail, workOrderOf } from './rig.ts'

/**
 * Issue 7's "done when": a trapped passenger from a simulated lift (simulators/, over real MQTT)
 * reaches the on-duty lift contractor's webhook within seconds, escalates on schedule when nobody
 * accepts, and its whole life shows on the work order. The estate's trapped route gets 1-s steps
 * so the real clock can run the whole chain.
 */
describe('simulated lift to work order', () => {
  it('trapped passenger → webhook to the on-duty fitter in seconds → next fitter, lead, estate manager, community at 1-s steps → resolved', async () => {
    const rx = await new Receiver().start()
    const estateFile = estateFor(rx)
    fs.writeFileSync(
      estateFile,
      fs.readFileSync(estateFile, 'utf8').replace(
        'routing:\n',
        `routing:
  - match: { type: elevator.trapped, site: e1 }
    team: lift_a
    sla: { accept: 2s, arrive: 1m }
    escalation: { after: 1s, remind_every: 10m, remind_max: 0 }
`,
      ),
    )
    const h = await buildHub({ estateFile })
    const fleet = new Fleet({ estate: loadEstateFile(estateFile), url: h.mqttUrl, seed: 7, faultRate: 0 })
    onTestFinished(() => fleet.stop())
    await fleet.start()
    await fleet.waitConnected()
    fleet.clock.run()
    const trappedAt = Date.now()
    fleet.act('lift1', 'trapped', { for: '5m' })

    const [hook] = await until(
      () => (rx.to('/wang').length ? rx.to('/wang') : undefined),
      'webhook to wang',
      10_000,
    )
    // The rule holds 1 s (estate override), the car needs a moment to stop: a few seconds in all.
    expect(hook!.at - trappedAt).toBeLessThan(8000)
    const alert = await alertOf(h, 'elevator.trapped')
    expect(alert.device_id).toBe('lift1')
    await until(() => rx.to('/grid').length === 1, 'the whole chain up to the community grid', 10_000)
    const arrivals = ['/wang', '/li-ding', '/boss-wecom', '/manager', '/grid'].map((p) => rx.to(p)[0]!.at)
    for (let i = 1; i < arrivals.length; i++) {
      const gap = arrivals[i]! - arrivals[i - 1]!
      expect(gap).toBeGreaterThan(700)
      expect(gap).toBeLessThan(3000)
    }
    const wo = await workOrderOf(h, alert.id)
    expect(wo.breaches.map((b) => b.stage)).toEqual(['accept'])
    // li, escalated to, accepts at last; then arrives and resolves it.
    const admin = (path: string, body: unknown) =>
      h.api(path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      })
    expect((await admin(`/api/work-orders/${wo.id}/accept`, { note: '李师傅已接' })).status).toBe(200)
    expect((await admin(`/api/work-orders/${wo.id}/arrive`, {})).status).toBe(200)
    expect((await admin(`/api/work-orders/${wo.id}/resolve`, { note: '已放人' })).status).toBe(200)
    expect((await alertOf(h, 'elevator.trapped')).status).toBe('resolved')
    const full = await detail(h, wo.id)
    expect(full.events.filter((e) => e.action !== 'notified').map((e) => e.action)).toEqual([
      'dispatched',
      'escalated',
      'sla_breached',
      'escalated',
      'escalated',
      'escalated',
      'accepted',
      'on_site',
      'resolved',
    ])
    // Five notified on the way up; each then hears it is closed (the admin token is none of them).
    await until(
      async () => (await detail(h, wo.id)).deliveries.filter((d) => d.status === 'delivered').length === 10,
      'ten deliveries',
    )
    const deliveries = (await detail(h, wo.id)).deliveries
    expect(deliveries.filter((d) => d.purpose !== 'closed').map((d) => [d.member, d.channel])).toEqual([
      ['lift_a/wang', 'webhook'],
      ['lift_a/li', 'dingtalk'],
      ['lift_a/boss', 'wecom'],
      ['property_duty/manager', 'webhook'],
      ['community_grid/grid1', 'webhook'],
    ])
    expect(deliveries.filter((d) => d.purpose === 'closed')).toHaveLength(5)
    const closing = rx.to('/grid').at(-1)!.json as { event: string; text: string }
    expect(closing.event).toBe('work_order.closed')
    expect(closing.text).toContain('无需再处理')
  })
})
