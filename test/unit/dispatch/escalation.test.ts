import { describe, expect, it } from 'vitest'
import { until } from '../../helpers/hub.ts'
import { Receiver } from '../../integration/dispatch/receiver.ts'
import { dispatchRig, flush, MIN } from './rig.ts'

/** Fake clock for the work-order timers; real loopback receivers for every notification. */
describe('SLA, reminders and escalation on a fake clock', () => {
  it('reminds every 2 min (capped at 2), breaches the 5-min accept SLA, then escalates on-duty → next on duty → lead → estate manager → community', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    expect(wo).toMatchObject({
      status: 'dispatched',
      team: 'lift_a',
      assignee: 'lift_a/wang',
      participants: ['lift_a/wang'],
      sla: { accept: 5 * MIN, arrive: 30 * MIN },
    })
    // The alert now names the team it went to.
    expect(r.alerts.get(alert.id)!.assigned_team).toBe('lift_a')
    await until(() => rx.to('/wang').length === 1, 'dispatch to wang')

    r.clock.advance(2 * MIN)
    await until(() => rx.to('/wang').length === 2, 'first reminder to wang')
    expect((rx.to('/wang')[1]!.json as { event: string }).event).toBe('work_order.reminder')
    r.clock.advance(2 * MIN)
    await until(() => rx.to('/wang').length === 3, 'second reminder to wang')

    // 5 min: accept SLA breached, first escalation step: the next on-duty fitter (li, DingTalk).
    r.clock.advance(1 * MIN)
    await until(() => rx.to('/li-ding').length === 1, 'escalation to li')
    let now = r.dispatcher.get(wo!.id)!
    expect(now.escalation_level).toBe(1)
    expect(now.assignee).toBe('lift_a/li')
    expect(now.breaches).toEqual([
      { stage: 'accept', due_at: alert.first_at + 5 * MIN, at: alert.first_at + 5 * MIN },
    ])
    expect(rx.to('/li-ding')[0]!.body).toContain('工单升级')

    // 6 min: the reminder cap (2) holds; nothing more to wang.
    r.clock.advance(1 * MIN)
    await flush()
    // 10 min: team lead (WeCom); 15 min: estate manager (property duty's lead); 20 min: community grid.
    r.clock.advance(4 * MIN)
    await until(() => rx.to('/boss-wecom').length === 1, 'escalation to the lead')
    r.clock.advance(5 * MIN)
    await until(() => rx.to('/manager').length === 1, 'escalation to the estate manager')
    r.clock.advance(5 * MIN)
    await until(() => rx.to('/grid').length === 1, 'escalation to the community grid')
    // 30 min: not on site either.
    r.clock.advance(10 * MIN)
    await flush()
    now = r.dispatcher.get(wo!.id)!
    expect(now.escalation_level).toBe(4)
    expect(now.participants).toEqual([
      'lift_a/wang',
      'lift_a/li',
      'lift_a/boss',
      'property_duty/manager',
      'community_grid/grid1',
    ])
    expect(now.breaches.map((b) => b.stage)).toEqual(['accept', 'arrive'])
    expect(rx.to('/wang')).toHaveLength(3)

    const events = r.dispatcher.store.events(wo!.id)
    const life = events
      .filter((e) => e.action !== 'notified')
      .map((e) => [e.action, (e.at - alert.first_at) / MIN])
    expect(life).toEqual([
      ['dispatched', 0],
      ['reminded', 2],
      ['reminded', 4],
      ['sla_breached', 5],
      ['escalated', 5],
      ['escalated', 10],
      ['escalated', 15],
      ['escalated', 20],
      ['sla_breached', 30],
    ])
    expect(events.filter((e) => e.action === 'escalated').map((e) => e.note)).toEqual([
      expect.stringContaining('李师傅'),
      expect.stringContaining('陈经理'),
      expect.stringContaining('孙经理'),
      expect.stringContaining('网格员小吴'),
    ])
    // Every escalation and breach is on the alert's audit log too.
    const audit = r.alerts.audit(alert.id).filter((e) => e.action === 'commented')
    expect(audit).toHaveLength(6)
    expect(audit.every((e) => e.actor === 'dispatch' && e.channel === 'dispatch')).toBe(true)
    const metrics = await r.metrics.registry.metrics()
    expect(metrics).toContain('zhian_work_order_sla_breaches_total{type="elevator.trapped",stage="accept"} 1')
    expect(metrics).toContain('zhian_work_order_sla_breaches_total{type="elevator.trapped",stage="arrive"} 1')
    expect(metrics).toContain('zhian_work_order_escalations_total{team="lift_a"} 4')
  })

  it('stops reminding and escalating once accepted; accepting acknowledges the alert; times are recorded', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    r.clock.advance(3 * MIN)
    r.dispatcher.accept(wo!.id, { username: 'crew_wang', note: '马上到' })
    expect(r.alerts.get(alert.id)).toMatchObject({
      status: 'acknowledged',
      acknowledged_at: alert.first_at + 3 * MIN,
    })
    r.clock.advance(60 * MIN)
    await until(() => rx.to('/wang').length === 2, 'dispatch and one reminder')
    await new Promise((res) => setTimeout(res, 200))
    expect(rx.requests.map((q) => q.path)).toEqual(['/wang', '/wang'])
    const after = r.dispatcher.get(wo!.id)!
    // Accepted in time; the arrival SLA (30 min) was missed while nobody arrived.
    expect(after.breaches.map((b) => b.stage)).toEqual(['arrive'])
    expect(after.escalation_level).toBe(0)
    r.clock.advance(1 * MIN)
    r.dispatcher.arrive(wo!.id, { username: 'crew_wang' })
    r.clock.advance(10 * MIN)
    r.dispatcher.resolve(wo!.id, { username: 'crew_wang', note: '已救出乘客' })
    const done = r.dispatcher.get(wo!.id)!
    expect(done.status).toBe('resolved')
    expect(r.alerts.get(alert.id)).toMatchObject({ status: 'resolved' })
    expect(r.alerts.audit(alert.id).at(-1)!.note).toContain('已救出乘客')
    const { timesOf } = await import('../../../src/dispatch/types.ts')
    expect(timesOf(done)).toEqual({
      to_acknowledge_ms: 3 * MIN,
      to_accept_ms: 3 * MIN,
      to_arrive_ms: 64 * MIN,
      to_resolve_ms: 74 * MIN,
    })
  })

  it('resolving the alert resolves its work order, with a note; the order then takes no step', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    r.alerts.resolve(alert.id, { actor: 'mgr_e1', channel: 'http', note: '误报' })
    await flush()
    const after = r.dispatcher.get(wo!.id)!
    expect(after.status).toBe('resolved')
    const last = r.dispatcher.store.events(wo!.id).at(-1)!
    expect(last).toMatchObject({ action: 'resolved', actor: 'mgr_e1' })
    expect(last.note).toContain('误报')
    expect(() => r.dispatcher.accept(wo!.id, { username: 'crew_wang' })).toThrow(/resolved/)
    // wang was told about it, and is told it is closed.
    await until(() => rx.to('/wang').length === 2, 'closing notice to wang')
    expect((rx.to('/wang')[1]!.json as { event: string }).event).toBe('work_order.closed')
  })

  it('picks up timers again after a restart: a breach due while the hub was down is recorded at start', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    await r.dispatcher.stop()
    r.clock.advance(6 * MIN)
    // A second dispatcher on the same database, same clock (the hub restarted six minutes later).
    const r2 = await dispatchRig(rx, { dataDir: r.dataDir, clock: r.clock })
    r.clock.advance(0)
    await until(() => rx.to('/li-ding').length === 1, 'the overdue escalation after restart')
    // The missed reminders become one, to wang only (li was just escalated to).
    await until(() => rx.to('/wang').length === 2, 'one catch-up reminder to wang')
    await new Promise((res) => setTimeout(res, 200))
    expect(rx.to('/li-ding')).toHaveLength(1)
    const after = r2.dispatcher.get(wo!.id)!
    expect(after.breaches.map((b) => b.stage)).toEqual(['accept'])
    expect(after.reminders_sent).toBe(2)
    expect(after.escalation_level).toBe(1)
    expect(alert.id).toBe(after.alert_id)
  })
})

describe('which alerts open work orders', () => {
  it('a suppressed (silenced) alert opens none; the re-trigger outside the silence does', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise({ suppressed: 'silence:s1' })
    expect(r.dispatcher.store.query({ alert: alert.id })).toHaveLength(0)
    r.clock.advance(MIN)
    await r.raise({ retrigger: true })
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    expect(wo).toMatchObject({ status: 'dispatched', assignee: 'lift_a/wang' })
    await until(() => rx.to('/wang').length === 1, 'dispatch after the silence')
  })

  it('a minor alert opens none by itself; a manager opens one by hand, to another team', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise({ severity: 'minor', alert: 'elevator.door_fault' })
    expect(r.dispatcher.store.query({ alert: alert.id })).toHaveLength(0)
    const wo = r.dispatcher.open(alert, { username: 'mgr_e1', note: '顺便检查' }, 'property_duty')
    expect(wo).toMatchObject({ team: 'property_duty', assignee: 'property_duty/duty1', created_by: 'mgr_e1' })
    await until(() => rx.to('/sms').length === 1, 'sms to duty1')
    expect(() => r.dispatcher.open(alert, { username: 'mgr_e1' })).toThrow(/already has an open work order/)
  })
})
