import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Hub } from '../../../src/app.ts'
import { buildHub, connectDevice, tempDir, testConfig } from '../../helpers/hub.ts'
import { getAlert, listAlerts, post, RULES_ESTATE, send, waitAlert } from './rig.ts'

describe('alerts HTTP API', () => {
  it('filters alerts by severity, kind, site, status and time, and pages through them', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const mh1 = await connectDevice(h.mqttUrl, 'mh1')
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    const e2lift = await connectDevice(h.mqttUrl, 'e2_lift1')
    await send(mh1, 'zhian/manhole/mh1/state', { cover_open: true })
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    await send(e2lift, 'zhian/elevator/e2_lift1/event', { type: 'alarm_button' })
    await send(lift1, 'zhian/elevator/lift1/state', { service_mode: 'inspection' })
    await waitAlert(h, 'elevator.mode_change')
    await waitAlert(h, 'elevator.alarm_button', (a) => a.device_id === 'e2_lift1')

    expect((await listAlerts(h, 'severity=critical')).total).toBe(3)
    expect((await listAlerts(h, 'severity=info')).items.map((a) => a.type)).toEqual(['elevator.mode_change'])
    expect((await listAlerts(h, 'kind=elevator')).total).toBe(3)
    expect((await listAlerts(h, 'site=e2')).items.map((a) => a.device_id)).toEqual(['e2_lift1'])
    expect((await listAlerts(h, 'site=e1_b1&severity=critical')).items.map((a) => a.type)).toEqual([
      'elevator.alarm_button',
    ])
    expect((await listAlerts(h, 'status=resolved')).total).toBe(0)
    expect((await listAlerts(h, `from=${Date.now() + 60_000}`)).total).toBe(0)
    const page1 = await listAlerts(h, 'limit=2&offset=0')
    const page2 = await listAlerts(h, 'limit=2&offset=2')
    expect(page1.total).toBe(4)
    expect(page1.items).toHaveLength(2)
    expect(page2.items).toHaveLength(2)
    expect(new Set([...page1.items, ...page2.items].map((a) => a.id)).size).toBe(4)

    const bad = await h.api('/api/alerts?severity=catastrophic')
    expect(bad.status).toBe(400)
    expect((await bad.json()).code).toBe('ZHIAN_ERR_VALIDATION')
  })

  it('refuses bad bodies and impossible transitions with coded errors and changes nothing', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    const alert = await waitAlert(h, 'elevator.alarm_button')

    const refused = async (res: Response, code: string) => {
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe(code)
    }
    await refused(
      await post(h, `/api/alerts/${alert.id}/assign`, { team: 'Not A Team!' }),
      'ZHIAN_ERR_VALIDATION',
    )
    // Id-shaped, but neither a dispatch team nor a catalogue crew.
    await refused(
      await post(h, `/api/alerts/${alert.id}/assign`, { team: 'night_shift' }),
      'ZHIAN_ERR_UNKNOWN_TEAM',
    )
    await refused(await post(h, `/api/alerts/${alert.id}/assign`, {}), 'ZHIAN_ERR_VALIDATION')
    await refused(
      await post(h, `/api/alerts/${alert.id}/ack`, { note: 'ok', status: 'resolved' }),
      'ZHIAN_ERR_VALIDATION',
    )
    await refused(await post(h, `/api/alerts/${alert.id}/resolve`, { note: '' }), 'ZHIAN_ERR_VALIDATION')
    await refused(await post(h, `/api/alerts/${alert.id}/comment`, {}), 'ZHIAN_ERR_VALIDATION')
    const notJson = await h.api(`/api/alerts/${alert.id}/comment`, {
      method: 'POST',
      body: '{"note":',
      headers: { 'content-type': 'application/json' },
    })
    expect(notJson.status).toBe(400)
    expect((await notJson.json()).code).toBe('ZHIAN_ERR_VALIDATION')
    let full = await getAlert(h, alert.id)
    // Dispatch may route it to the catalogue crew; the refused teams never got it.
    expect(['Not A Team!', 'night_shift']).not.toContain(full.assigned_team)
    expect(full.status).toBe('active')
    expect(full.audit.map((e) => e.action)).toEqual(['raised'])

    const assign = await post(h, `/api/alerts/${alert.id}/assign`, {
      team: 'elevator_contractor',
      note: '请速到',
    })
    expect(assign.status).toBe(200)
    expect((await post(h, `/api/alerts/${alert.id}/comment`, { note: '维保已出发' })).status).toBe(200)
    expect((await post(h, `/api/alerts/${alert.id}/ack`)).status).toBe(200)
    const twice = await post(h, `/api/alerts/${alert.id}/ack`)
    expect(twice.status).toBe(409)
    expect((await twice.json()).code).toBe('ZHIAN_ERR_ALERT_STATE')
    full = await getAlert(h, alert.id)
    expect(full.assigned_team).toBe('elevator_contractor')
    expect(full.audit.map((e) => [e.action, e.note])).toEqual([
      ['raised', null],
      ['assigned', 'elevator_contractor: 请速到'],
      ['commented', '维保已出发'],
      ['acknowledged', null],
    ])

    const missing = await h.api('/api/alerts/al_nope')
    expect(missing.status).toBe(404)
    expect((await missing.json()).code).toBe('ZHIAN_ERR_UNKNOWN_ALERT')
  })

  it('refuses a silence for an unknown alert type or without a reason, and creates none', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const unknownType = await post(h, '/api/silences', {
      site: 'e1',
      types: ['fire_passage.parked'],
      duration: '1h',
      reason: 'x',
    })
    expect(unknownType.status).toBe(400)
    expect((await unknownType.json()).code).toBe('ZHIAN_ERR_UNKNOWN_ALERT_TYPE')
    for (const body of [
      { site: 'e1', duration: '1h' },
      { site: 'e1', device: 'fp1', duration: '1h', reason: 'x' },
      { site: 'e1', duration: 'forever', reason: 'x' },
    ]) {
      const res = await post(h, '/api/silences', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect((await res.json()).code, JSON.stringify(body)).toBe('ZHIAN_ERR_VALIDATION')
    }
    expect(await (await h.api('/api/silences')).json()).toEqual([])
    const gone = await h.api('/api/silences/si_nope', { method: 'DELETE' })
    expect(gone.status).toBe(404)
    expect((await gone.json()).code).toBe('ZHIAN_ERR_UNKNOWN_SILENCE')
  })

  it('silences a whole estate for a while: alerts of its devices are recorded as suppressed', async () => {
    const h = await buildHub({ estateFile: RULES_ESTATE })
    const res = await post(h, '/api/silences', { site: 'e1', duration: '10m', reason: '消防演练' })
    expect(res.status).toBe(201)
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    const e2lift = await connectDevice(h.mqttUrl, 'e2_lift1')
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    await send(e2lift, 'zhian/elevator/e2_lift1/event', { type: 'alarm_button' })
    const inE1 = await waitAlert(h, 'elevator.alarm_button', (a) => a.device_id === 'lift1')
    const inE2 = await waitAlert(h, 'elevator.alarm_button', (a) => a.device_id === 'e2_lift1')
    expect(inE1.suppressed).toBe(true)
    expect(inE2.suppressed).toBe(false)
  })
})

describe('assigning to a team of the dispatch config', () => {
  it('accepts a configured team id as well as a catalogue crew', async () => {
    const dir = tempDir('zhian-rules-')
    const file = path.join(dir, 'estate.yaml')
    const team = ['teams:', '  - id: lift_a', '    name: 永安电梯维保', '    crew: elevator_contractor']
    const member = ['    members:', '      - { id: wang, name: 王师傅 }', '']
    fs.writeFileSync(file, `${fs.readFileSync(RULES_ESTATE, 'utf8')}\n${[...team, ...member].join('\n')}`)
    const h = await buildHub({ estateFile: file })
    const lift1 = await connectDevice(h.mqttUrl, 'lift1')
    await send(lift1, 'zhian/elevator/lift1/event', { type: 'alarm_button' })
    const alert = await waitAlert(h, 'elevator.alarm_button')
    const res = await post(h, `/api/alerts/${alert.id}/assign`, { team: 'lift_a' })
    expect(res.status).toBe(200)
    expect((await getAlert(h, alert.id)).assigned_team).toBe('lift_a')
  })
})

describe('estate overrides', () => {
  async function startWith(replace: [string, string]): Promise<Error | undefined> {
    const dir = tempDir('zhian-rules-')
    const file = path.join(dir, 'estate.yaml')
    const text = fs.readFileSync(RULES_ESTATE, 'utf8')
    if (!text.includes(replace[0])) throw new Error('fixture changed')
    fs.writeFileSync(file, text.replace(replace[0], replace[1]))
    const hub = new Hub(testConfig(dir, { estateFile: file }))
    try {
      await hub.start()
      return undefined
    } catch (err) {
      return err as Error
    } finally {
      await hub.stop()
    }
  }

  it('refuses to start with an unknown override parameter and names estate, alert and parameter', async () => {
    const err = await startWith(['{ for: "2s", clear_for: "1s" }', '{ forr: "2s" }'])
    expect(err?.message).toMatch(/overrides\.e1\.fire_passage\.blocked\.forr: unknown parameter/)
  })

  it('refuses to start with a duration that is not one, or an unknown alert type', async () => {
    const bad = await startWith(['{ for: "2s", clear_for: "1s" }', '{ for: "2 parsecs" }'])
    expect(bad?.message).toMatch(/overrides\.e1\.fire_passage\.blocked\.for: "2 parsecs" is not a duration/)
    const unknown = await startWith(['fire_passage.blocked:', 'fire_passage.parked:'])
    expect(unknown?.message).toMatch(/overrides\.e1\.fire_passage\.parked: unknown alert type/)
  })
})
