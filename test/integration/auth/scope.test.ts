import type { MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import {
  addCrew,
  as,
  connected,
  DASHBOARD_ESTATE,
  type DashboardSocket,
  socketOf,
  tokenOf,
} from '../../helpers/session.ts'

type Change = { alert: Alert; entry: AuditEntry }

function record(socket: DashboardSocket): Change[] {
  const got: Change[] = []
  socket.on('alert', (c) => got.push(c))
  return got
}

/** Raise one critical alert in each estate through MQTT and the real rule engine. */
async function raiseBoth(hub: TestHub): Promise<{ e1: Alert; e2: Alert; devices: MqttClient[] }> {
  const mh1 = await connectDevice(hub.mqttUrl, 'mh1')
  await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true, tilt_deg: 40 }), {
    qos: 1,
  })
  const lift = await connectDevice(hub.mqttUrl, 'e2_lift1')
  // GB/T 24476 fault code 5 (unintended car movement) raises at once.
  await lift.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
  const open = await until(async () => {
    const page = (await (await hub.api('/api/alerts?status=active')).json()) as { items: Alert[] }
    const e1 = page.items.find((a) => a.estate === 'e1')
    const e2 = page.items.find((a) => a.estate === 'e2')
    return e1 && e2 ? { e1, e2 } : undefined
  }, 'an open alert in e1 and in e2')
  return { ...open, devices: [mh1, lift] }
}

describe('every role × scope over HTTP', () => {
  it('a manager of e1 neither reads, acks nor exports e2 alerts; sees only e1 in lists, live and sites', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const { e1, e2 } = await raiseBoth(hub)
    const mgr = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_e1'))

    const list = (await (await mgr('/api/alerts')).json()) as { items: Alert[] }
    expect(list.items.map((a) => a.id)).toEqual([e1.id])
    expect((await mgr(`/api/alerts/${e1.id}`)).status).toBe(200)
    expect((await mgr(`/api/alerts/${e2.id}`)).status).toBe(404)
    expect((await mgr(`/api/alerts/${e2.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(404)
    expect((await mgr(`/api/alerts/${e2.id}/resolve`, { method: 'POST', body: '{}' })).status).toBe(404)
    const after = (await (await hub.api(`/api/alerts/${e2.id}`)).json()) as Alert
    expect(after.status).toBe('active')

    const csv = await (await mgr('/api/alerts/export.csv')).text()
    expect(csv).toContain(e1.id)
    expect(csv).not.toContain(e2.id)
    expect(csv).not.toContain('e2_lift1')

    const live = (await (await mgr('/api/live/alerts')).json()) as Alert[]
    expect(live.map((a) => a.id)).toEqual([e1.id])
    expect((await mgr('/api/live/estates/e2')).status).toBe(400) // as an estate that does not exist
    expect((await mgr('/api/live/estates/e1')).status).toBe(200)
    const devices = (await (await mgr('/api/live/devices')).json()) as { devices: { id: string }[] }
    expect(devices.devices.map((d) => d.id)).not.toContain('e2_lift1')
    expect(devices.devices).toHaveLength(6)
    const sites = (await (await mgr('/api/sites')).json()) as { id: string }[]
    // Its subtree, and the street and community above it (for names), not the sibling estate.
    expect(sites.map((s) => s.id).sort()).toEqual(['c1', 'e1', 'e1_b1', 'e1_b2', 's1'])
    const rollup = (await (await mgr('/api/live')).json()) as {
      sites: { id: string; open: { critical: number } }[]
    }
    expect(rollup.sites.find((s) => s.id === 'e1')?.open.critical).toBe(1)
    expect(rollup.sites.find((s) => s.id === 'e2')).toBeUndefined()
    // Device management stays with the unscoped admin.
    expect((await mgr('/api/devices')).status).toBe(403)

    // And the mirror image: e2's manager cannot touch e1's alert.
    const mgr2 = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_e2'))
    expect((await mgr2(`/api/alerts/${e1.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(404)
    const csv2 = await (await mgr2('/api/alerts/export.csv')).text()
    expect(csv2).toContain(e2.id)
    expect(csv2).not.toContain(e1.id)
  })

  it('a viewer reads and exports but cannot ack, assign, comment, resolve or silence', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const { e1 } = await raiseBoth(hub)
    const viewer = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'viewer_e1'))
    expect((await viewer(`/api/alerts/${e1.id}`)).status).toBe(200)
    expect((await viewer('/api/alerts/export.csv')).status).toBe(200)
    for (const [path, body] of [
      ['ack', {}],
      ['resolve', {}],
      ['comment', { note: 'x' }],
      ['assign', { team: 'property_duty' }],
    ] as const) {
      const res = await viewer(`/api/alerts/${e1.id}/${path}`, { method: 'POST', body: JSON.stringify(body) })
      expect(res.status, path).toBe(403)
    }
    const silence = await viewer('/api/silences', {
      method: 'POST',
      body: JSON.stringify({ device: 'mh1', duration: '1h', reason: 'test' }),
    })
    expect(silence.status).toBe(403)
    const still = (await (await hub.api(`/api/alerts/${e1.id}`)).json()) as Alert & { audit: AuditEntry[] }
    expect(still.status).toBe('active')
    expect(still.audit.filter((e) => e.actor === 'viewer_e1')).toEqual([])
  })

  it('a community officer and a street admin see both estates; the street admin acts on both', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const { e1, e2 } = await raiseBoth(hub)
    const officer = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'officer_c1'))
    const ids = ((await (await officer('/api/alerts')).json()) as { items: Alert[] }).items.map((a) => a.id)
    expect(ids.sort()).toEqual([e1.id, e2.id].sort())
    expect((await officer(`/api/alerts/${e2.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(403)
    const admin = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'street_admin'))
    expect((await admin(`/api/alerts/${e2.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    const acked = (await (await admin(`/api/alerts/${e2.id}`)).json()) as Alert & { audit: AuditEntry[] }
    expect(acked.status).toBe('acknowledged')
    expect(acked.audit.at(-1)).toMatchObject({
      action: 'acknowledged',
      actor: 'street_admin',
      channel: 'http',
    })
  })
})

const post = (call: ReturnType<typeof as>, path: string, body: unknown) =>
  call(path, { method: 'POST', body: JSON.stringify(body) })

describe("acting outside one's role or scope changes nothing", () => {
  it('a manager of e1 can neither comment, assign, silence nor put into maintenance anything of e2', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const { e2 } = await raiseBoth(hub)
    const mgr = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_e1'))
    expect((await post(mgr, `/api/alerts/${e2.id}/comment`, { note: 'x' })).status).toBe(404)
    expect((await post(mgr, `/api/alerts/${e2.id}/assign`, { team: 'property_duty' })).status).toBe(404)
    // Out of scope reads as not there: the same code as an id that does not exist.
    const silences = [
      [{ device: 'e2_lift1', duration: '1h', reason: 'test' }, 'ZHIAN_ERR_UNKNOWN_DEVICE'],
      [{ site: 'e2', duration: '1h', reason: 'test' }, 'ZHIAN_ERR_UNKNOWN_SITE'],
      [{ site: 'c1', duration: '1h', reason: 'test' }, 'ZHIAN_ERR_UNKNOWN_SITE'],
    ] as const
    for (const [body, code] of silences) {
      const res = await post(mgr, '/api/silences', body)
      expect(((await res.json()) as { code: string }).code, JSON.stringify(body)).toBe(code)
    }
    expect((await post(mgr, '/api/devices/e2_lift1/maintenance', { on: true })).status).toBe(404)
    expect((await mgr('/api/devices/e2_lift1/maintenance')).status).toBe(404)
    const after = (await (await hub.api(`/api/alerts/${e2.id}`)).json()) as Alert & { audit: AuditEntry[] }
    expect(after.status).toBe('active')
    expect(after.assigned_team).not.toBe('property_duty')
    expect(after.audit.filter((e) => e.actor === 'mgr_e1')).toEqual([])
    expect(await (await hub.api('/api/silences')).json()).toEqual([])
    expect(await (await hub.api('/api/devices/e2_lift1/maintenance')).json()).toMatchObject({ on: false })
  })

  it("a crew reads its team's alert but cannot ack, resolve, comment, assign, silence or set maintenance", async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const crew = as(hub.httpUrl, await addCrew(hub))
    const { e1 } = await raiseBoth(hub)
    expect(e1.crew).toBe('property_duty')
    expect((await crew(`/api/alerts/${e1.id}`)).status).toBe(200)
    for (const [path, body] of [
      ['ack', {}],
      ['resolve', {}],
      ['comment', { note: 'x' }],
      ['assign', { team: 'elevator_contractor' }],
    ] as const) {
      const res = await post(crew, `/api/alerts/${e1.id}/${path}`, body)
      expect(res.status, path).toBe(403)
      expect(((await res.json()) as { code: string }).code).toBe('ZHIAN_ERR_FORBIDDEN')
    }
    expect((await post(crew, '/api/silences', { device: 'mh1', duration: '1h', reason: 'x' })).status).toBe(
      403,
    )
    expect((await post(crew, '/api/devices/mh1/maintenance', { on: true })).status).toBe(403)
    const still = (await (await hub.api(`/api/alerts/${e1.id}`)).json()) as Alert & { audit: AuditEntry[] }
    expect(still.status).toBe('active')
    expect(still.audit.filter((e) => e.actor === 'crew_e1')).toEqual([])
    expect(await (await hub.api('/api/silences')).json()).toEqual([])
  })
})

describe('a building scope', () => {
  it('a manager of building e1_b1 sees its estate page cut to the building, and silences and maintains its own devices only', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const { e1: cover } = await raiseBoth(hub)
    const lift = await connectDevice(hub.mqttUrl, 'lift1')
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ fault_code: 5 }), { qos: 1 })
    const fault = await until(
      () => hub.hub.alerts.openAlerts().find((a) => a.device_id === 'lift1'),
      'the lift1 fault',
    )
    const mgr = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_b1'))

    const page = await mgr('/api/live/estates/e1')
    expect(page.status).toBe(200)
    const estate = (await page.json()) as { devices: { id: string }[]; alerts: Alert[] }
    expect(estate.devices.map((d) => d.id).sort()).toEqual(['lift1', 'lift2'])
    expect(estate.alerts.map((a) => a.id)).toEqual([fault.id])
    expect((await mgr('/api/live/estates/e2')).status).toBe(400) // as an estate that does not exist
    const listed = (await (await mgr('/api/alerts')).json()) as { items: Alert[] }
    expect(listed.items.map((a) => a.id)).toEqual([fault.id])
    expect((await post(mgr, `/api/alerts/${fault.id}/ack`, {})).status).toBe(200)
    expect((await post(mgr, `/api/alerts/${cover.id}/ack`, {})).status).toBe(404)

    const own = await post(mgr, '/api/silences', { device: 'lift1', duration: '1h', reason: '维保' })
    expect(own.status).toBe(201)
    expect((await post(mgr, '/api/silences', { site: 'e1_b1', duration: '1h', reason: '维保' })).status).toBe(
      201,
    )
    // The estate around the building and its other devices are not the building manager's.
    expect((await post(mgr, '/api/silences', { device: 'mh1', duration: '1h', reason: 'x' })).status).toBe(
      404,
    )
    const estateWide = await post(mgr, '/api/silences', { site: 'e1', duration: '1h', reason: 'x' })
    expect(((await estateWide.json()) as { code: string }).code).toBe('ZHIAN_ERR_UNKNOWN_SITE')
    const maintenance = await post(mgr, '/api/devices/lift2/maintenance', { on: true, reason: '年检' })
    expect(maintenance.status).toBe(200)
    expect(await (await mgr('/api/devices/lift2/maintenance')).json()).toMatchObject({ on: true })
    expect((await post(mgr, '/api/devices/mh1/maintenance', { on: true })).status).toBe(404)
    // An estate-wide silence by the admin is not in the building manager's list.
    expect(
      (
        await hub.api('/api/silences', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ site: 'e1', duration: '1h', reason: 'admin' }),
        })
      ).status,
    ).toBe(201)
    const mine = (await (await mgr('/api/silences')).json()) as {
      device_id: string | null
      site_id: string | null
    }[]
    expect(mine.map((s) => s.device_id ?? s.site_id).sort()).toEqual(['e1_b1', 'lift1'])
    expect((await (await hub.api('/api/silences')).json()) as unknown[]).toHaveLength(3)
  })
})

describe('every role × scope over socket.io', () => {
  it('pushes each alert only to the sockets whose scope holds it', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const sockets = {
      mgr_e1: socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'mgr_e1') }),
      mgr_e2: socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'mgr_e2') }),
      viewer_e1: socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'viewer_e1') }),
      officer_c1: socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'officer_c1') }),
      admin: socketOf(hub.httpUrl, { token: 'test-api-token-0123456789' }),
    }
    const got = Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, record(s)])) as Record<
      keyof typeof sockets,
      Change[]
    >
    await Promise.all(Object.values(sockets).map(connected))
    const { e1, e2 } = await raiseBoth(hub)
    await until(
      () => got.officer_c1.length >= 2 && got.admin.length >= 2,
      'both alerts at the officer and admin',
    )
    // Give a wrongly routed packet time to arrive before asserting its absence.
    await new Promise((r) => setTimeout(r, 300))
    const ids = (k: keyof typeof sockets) => [...new Set(got[k].map((c) => c.alert.id))].sort()
    expect(ids('mgr_e1')).toEqual([e1.id])
    expect(ids('viewer_e1')).toEqual([e1.id])
    expect(ids('mgr_e2')).toEqual([e2.id])
    expect(ids('officer_c1')).toEqual([e1.id, e2.id].sort())
    expect(ids('admin')).toEqual([e1.id, e2.id].sort())

    // An ack over HTTP reaches every socket in scope as a state change, within a second.
    const mgr = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_e1'))
    const t0 = Date.now()
    expect((await mgr(`/api/alerts/${e1.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    await until(
      () => got.viewer_e1.some((c) => c.entry.action === 'acknowledged' && c.alert.status === 'acknowledged'),
      'the ack at the e1 viewer',
    )
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(got.mgr_e2.some((c) => c.alert.id === e1.id)).toBe(false)
  })

  it('a crew gets the alerts routed or assigned to its team in its scope, and hears when one is reassigned away', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    await hub.hub.auth.users.add({
      username: 'duty_e1',
      password: 'duty-e1-password',
      role: 'crew',
      scope: 'e1',
      team: 'property_duty',
    })
    await hub.hub.auth.users.add({
      username: 'lifts_e1',
      password: 'lifts-e1-password',
      role: 'crew',
      scope: 'e1',
      team: 'elevator_contractor',
    })
    const login = async (username: string, password: string) => {
      const res = await fetch(`${hub.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
      return ((await res.json()) as { token: string }).token
    }
    const duty = socketOf(hub.httpUrl, { token: await login('duty_e1', 'duty-e1-password') })
    const lifts = socketOf(hub.httpUrl, { token: await login('lifts_e1', 'lifts-e1-password') })
    const gotDuty = record(duty)
    const gotLifts = record(lifts)
    await Promise.all([connected(duty), connected(lifts)])
    const { e1 } = await raiseBoth(hub)
    expect(e1.crew).toBe('property_duty')
    await until(() => gotDuty.some((c) => c.alert.id === e1.id), 'the cover alert at the duty crew')
    await new Promise((r) => setTimeout(r, 300))
    // Neither the lift crew (other team) nor anyone gets e2's alert (out of scope).
    expect(gotLifts).toEqual([])
    expect(gotDuty.every((c) => c.alert.estate === 'e1')).toBe(true)

    const mgr = as(hub.httpUrl, await tokenOf(hub.httpUrl, 'mgr_e1'))
    const assign = await mgr(`/api/alerts/${e1.id}/assign`, {
      method: 'POST',
      body: JSON.stringify({ team: 'elevator_contractor' }),
    })
    expect(assign.status).toBe(200)
    await until(() => gotLifts.some((c) => c.alert.assigned_team === 'elevator_contractor'), 'the lift crew')
    await until(() => gotDuty.some((c) => c.entry.action === 'assigned'), 'the duty crew told it moved away')
    const crewLive = as(hub.httpUrl, await login('lifts_e1', 'lifts-e1-password'))
    const open = (await (await crewLive('/api/live/alerts')).json()) as Alert[]
    expect(open.map((a) => a.id)).toEqual([e1.id])
  })

  it('refuses handshakes without credentials, with forged or expired tokens, and cross-site cookies', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const none = await new Promise<Error & { data?: { code: string; message_zh: string } }>((resolve) => {
      socketOf(hub.httpUrl, undefined).once('connect_error', resolve)
    })
    expect(none.message).toBe('unauthorized')
    expect(none.data).toEqual({ code: 'ZHIAN_ERR_UNAUTHORIZED', message_zh: '未登录或令牌无效' })

    const forged = await new Promise<Error>((resolve) => {
      socketOf(hub.httpUrl, { token: 'A'.repeat(43) }).once('connect_error', resolve)
    })
    expect(forged.message).toBe('unauthorized')

    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    hub.hub.db.prepare('UPDATE sessions SET expires_at = ?').run(Date.now() - 1)
    const expired = await new Promise<Error>((resolve) => {
      socketOf(hub.httpUrl, { token }).once('connect_error', resolve)
    })
    expect(expired.message).toBe('unauthorized')

    // The session cookie works from our own origin and not from another site's page.
    const res = await fetch(`${hub.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'viewer_e1', password: 'viewer-e1-password' }),
    })
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!
    const own = socketOf(hub.httpUrl, undefined, { extraHeaders: { cookie, origin: hub.httpUrl } })
    const hello = await new Promise<{ user: { username: string } }>((resolve) => own.once('hello', resolve))
    expect(hello.user.username).toBe('viewer_e1')
    const evil = await new Promise<Error>((resolve) => {
      socketOf(hub.httpUrl, undefined, { extraHeaders: { cookie, origin: 'http://evil.example' } }).once(
        'connect_error',
        resolve,
      )
    })
    expect(evil.message).toBe('unauthorized')
  })

  it('streams live device values only for watched sites in scope, within a second', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const socket = socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'mgr_e1') })
    await connected(socket)
    const outside = await socket.emitWithAck('watch', 'e2')
    expect(outside).toMatchObject({ ok: false, code: 'ZHIAN_ERR_FORBIDDEN' })
    // Bad input over socket.io gets a coded refusal and changes nothing.
    const bad = await socket.emitWithAck('watch', { $ne: 1 } as unknown as string)
    expect(bad).toMatchObject({ ok: false, code: 'ZHIAN_ERR_FORBIDDEN' })
    socket.emit('unwatch', 42 as unknown as string)
    expect(await socket.emitWithAck('watch', '*')).toMatchObject({ ok: false })
    expect(await socket.emitWithAck('watch', 'e1')).toEqual({ ok: true })
    const floors: unknown[] = []
    const seen = new Set<string>()
    socket.on('live:devices', (devices) => {
      for (const d of devices) {
        seen.add(d.id)
        if (d.id === 'lift1') floors.push(d.values.floor)
      }
    })
    const lift = await connectDevice(hub.mqttUrl, 'lift1')
    const other = await connectDevice(hub.mqttUrl, 'e2_lift1')
    const t0 = Date.now()
    await lift.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 12, moving: true }), {
      qos: 1,
    })
    await other.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ floor: 3 }), { qos: 1 })
    await until(() => floors.includes(12), 'lift1 at floor 12')
    expect(Date.now() - t0).toBeLessThan(1000)
    await new Promise((r) => setTimeout(r, 400))
    expect(seen.has('e2_lift1')).toBe(false)

    // An unscoped admin's device list watches everything.
    const admin = socketOf(hub.httpUrl, { token: 'test-api-token-0123456789' })
    await connected(admin)
    expect(await admin.emitWithAck('watch', '*')).toEqual({ ok: true })
    const adminSeen = new Set<string>()
    admin.on('live:devices', (ds) => {
      for (const d of ds) adminSeen.add(d.id)
    })
    await other.publishAsync('zhian/elevator/e2_lift1/state', JSON.stringify({ floor: 4 }), { qos: 1 })
    await until(() => adminSeen.has('e2_lift1'), 'the e2 lift at the admin')
  })
})
