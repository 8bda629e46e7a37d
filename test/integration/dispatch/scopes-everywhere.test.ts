import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import type { WorkOrder } from '../../../src/dispatch/types.ts'
import { buildHub, connectDevice, FIXTURES, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { as, login } from '../../helpers/session.ts'

/**
 * Scopes beyond alerts and live values, on the two-street fixture (test/fixtures/scopes-estate.yaml):
 * routing rules, the team a work order may be opened for, and the report CSV's formula defusing.
 */

const SCOPES_ESTATE = path.join(FIXTURES, 'scopes-estate.yaml')
const PASSWORDS: Record<string, string> = {
  mgr_b1: 'mgr-b1-password',
  mgr_e1: 'mgr-e1-password',
  mgr_e2: 'mgr-e2-password',
  officer_s1: 'officer-s1-password',
}

async function user(hub: TestHub, name: string) {
  const res = await login(hub.httpUrl, name, PASSWORDS[name]!)
  expect(res.status).toBe(200)
  return as(hub.httpUrl, ((await res.json()) as { token: string }).token)
}

type Rule = { match: { site?: string }; team: string }

describe('scopes everywhere', () => {
  it('GET /api/routing and /api/teams show a manager only the rules and teams that concern its scope', async () => {
    const hub = await buildHub({ estateFile: SCOPES_ESTATE })
    const rules = async (name: string) => {
      const res = await (await user(hub, name))('/api/routing')
      expect(res.status).toBe(200)
      return ((await res.json()) as Rule[]).map((r) => `${r.match.site ?? '-'}→${r.team}`)
    }
    const all = ((await (await hub.api('/api/routing')).json()) as Rule[]).map(
      (r) => `${r.match.site ?? '-'}→${r.team}`,
    )
    expect(all).toEqual([
      'e1_b1→e1_lifts',
      'e2→e2_lifts',
      's2→e3_lifts',
      '-→property_duty',
      'c1→property_duty',
    ])
    // Its building's rule, the rules without a site, the community's above it; in order (first match wins).
    expect(await rules('mgr_e1')).toEqual(['e1_b1→e1_lifts', '-→property_duty', 'c1→property_duty'])
    expect(await rules('mgr_b1')).toEqual(['e1_b1→e1_lifts', '-→property_duty', 'c1→property_duty'])
    expect(await rules('mgr_e2')).toEqual(['e2→e2_lifts', '-→property_duty', 'c1→property_duty'])
    // A viewer reads no routing at all.
    expect((await (await user(hub, 'officer_s1'))('/api/routing')).status).toBe(403)

    const teams = async (name: string) => {
      const list = (await (await (await user(hub, name))('/api/teams')).json()) as { id: string }[]
      return list.map((t) => t.id).sort()
    }
    // A building's manager sees the team serving its estate (it works on the building's lifts).
    expect(await teams('mgr_b1')).toEqual(['e1_lifts', 'property_duty'])
    expect(await teams('mgr_e2')).toEqual(['e2_lifts', 'property_duty'])
    expect(await teams('officer_s1')).toEqual(['e1_lifts', 'e2_lifts', 'property_duty'])
  })

  it('a work order cannot be opened for a team that does not serve the alert’s estate', async () => {
    const hub = await buildHub({ estateFile: SCOPES_ESTATE })
    const lift = await connectDevice(hub.mqttUrl, 'b2_lift1')
    // GB/T 24476 fault code 5: a critical alert, and a work order for e1_lifts at once.
    await lift.publishAsync('zhian/elevator/b2_lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
    const mgr = await user(hub, 'mgr_e1')
    const orders = async (alert: string) =>
      ((await (await mgr(`/api/work-orders?alert=${alert}`)).json()) as { items: WorkOrder[] }).items
    const alert = await until(async () => {
      const page = (await (await mgr('/api/alerts?status=active')).json()) as { items: Alert[] }
      const a = page.items.find((x) => x.device_id === 'b2_lift1')
      return a && (await orders(a.id)).length === 1 ? a : undefined
    }, 'the lift alert and its work order')
    const [auto] = await orders(alert.id)
    expect(auto!.team).toBe('e1_lifts')
    const cancel = await mgr(`/api/work-orders/${auto!.id}/cancel`, { method: 'POST', body: '{}' })
    expect(cancel.status).toBe(200)

    for (const team of ['e2_lifts', 'e3_lifts']) {
      const res = await mgr('/api/work-orders', {
        method: 'POST',
        body: JSON.stringify({ alert_id: alert.id, team }),
      })
      expect(res.status, team).toBe(400)
      const body = (await res.json()) as { code: string; message_zh?: string }
      expect(body.code).toBe('ZHIAN_ERR_TEAM_NOT_SERVING')
    }
    // The admin is refused too: it is the team's estate, not the caller's scope.
    const admin = await hub.api('/api/work-orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ alert_id: alert.id, team: 'e2_lifts' }),
    })
    expect(admin.status).toBe(400)
    // Nothing changed: no new order, the alert still with the team it had.
    expect((await orders(alert.id)).map((w) => w.status)).toEqual(['cancelled'])
    const after = (await (await mgr(`/api/alerts/${alert.id}`)).json()) as Alert
    expect(after.assigned_team).toBe('e1_lifts')

    // A team serving every estate, or the estate itself, is fine.
    const ok = await mgr('/api/work-orders', {
      method: 'POST',
      body: JSON.stringify({ alert_id: alert.id, team: 'property_duty' }),
    })
    expect(ok.status).toBe(201)
    expect(((await ok.json()) as WorkOrder).team).toBe('property_duty')
  })

  it('an alert cannot be assigned to a team that does not serve its estate, as a work order cannot', async () => {
    const hub = await buildHub({ estateFile: SCOPES_ESTATE })
    const lift = await connectDevice(hub.mqttUrl, 'b2_lift1')
    await lift.publishAsync('zhian/elevator/b2_lift1/event', JSON.stringify({ type: 'alarm_button' }), {
      qos: 1,
    })
    const mgr = await user(hub, 'mgr_e1')
    const alert = await until(async () => {
      const page = (await (await mgr('/api/alerts?status=active')).json()) as { items: Alert[] }
      return page.items.find((x) => x.device_id === 'b2_lift1')
    }, 'the lift alert')
    const assign = (call: typeof mgr, team: string) =>
      call(`/api/alerts/${alert.id}/assign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ team }),
      })
    type Detail = Alert & { audit: { action: string }[] }
    const detail = async () => (await (await mgr(`/api/alerts/${alert.id}`)).json()) as Detail
    const before = await detail()

    // The manager and the admin alike: it is the team's estate that counts, not the caller's scope.
    for (const [who, call] of [
      ['mgr_e1', mgr],
      ['admin', hub.api],
    ] as const) {
      for (const team of ['e2_lifts', 'e3_lifts']) {
        const res = await assign(call, team)
        expect(res.status, `${who} → ${team}`).toBe(400)
        expect(((await res.json()) as { code: string }).code).toBe('ZHIAN_ERR_TEAM_NOT_SERVING')
      }
    }
    // Nothing changed: the alert keeps its team and its history has no new assignment.
    const after = await detail()
    expect(after.assigned_team).toBe(before.assigned_team)
    expect(after.audit).toEqual(before.audit)

    // A team serving every estate is fine.
    const ok = await assign(mgr, 'property_duty')
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as Alert).assigned_team).toBe('property_duty')
  })

  it('the report CSV defuses cells starting with a tab or carriage return, as the alerts export does', async () => {
    // Site names are the estate file's free text: one crafted to smuggle a formula past a plain = check.
    const yaml = fs
      .readFileSync(SCOPES_ESTATE, 'utf8')
      .replace('name: 三号小区', 'name: "\\t=HYPERLINK(\\"http://evil.example\\")"')
      .replace('name: 二号小区\n', 'name: "\\r=1+2"\n')
    const estateFile = path.join(tempDir('zhian-csv-'), 'estate.yaml')
    fs.writeFileSync(estateFile, yaml)
    const hub = await buildHub({ estateFile })
    const csv = async (scope: string) => {
      const res = await hub.api(`/api/reports?scope=${scope}&period=today&format=csv`)
      expect(res.status).toBe(200)
      return res.text()
    }
    const tab = await csv('e3')
    // The scope row names the site (no id): the whole cell is the crafted name, defused.
    expect(tab).toContain(`,"'\t=HYPERLINK(""http://evil.example"")"`)
    expect(tab).not.toMatch(/,"?\t=HYPERLINK/)
    const cr = await csv('e2')
    expect(cr).toContain(`,"'\r=1+2"`)
    expect(cr).not.toMatch(/,"?\r=1\+2/)
  })
})
