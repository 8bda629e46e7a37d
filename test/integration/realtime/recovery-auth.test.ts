import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import {
  as,
  connected,
  DASHBOARD_ESTATE,
  type DashboardSocket,
  socketOf,
  tokenOf,
} from '../../helpers/session.ts'

/**
 * Connection-state recovery must not outlive the right to see: socket.io 4.8 would write a restored
 * session's missed packets before the auth middleware runs, so these tests resume old sessions with a
 * raw socket.io client and look at every frame the hub sends back.
 */

type Change = { alert: Alert; entry: AuditEntry }

/** A dashboard socket that saw one broadcast alert (so it holds an offset), then lost its connection. */
async function dropped(hub: TestHub, token: string): Promise<{ pid: string; offset: string }> {
  const socket = socketOf(hub.httpUrl, { token })
  const got: Change[] = []
  socket.on('alert', (c) => got.push(c))
  await connected(socket)
  const mh1 = await connectDevice(hub.mqttUrl, 'mh1')
  await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
  await until(() => got.length > 0, 'a first alert at the dashboard')
  const state = socket as unknown as { _pid: string; _lastOffset: string }
  const session = { pid: state._pid, offset: state._lastOffset }
  expect(session.pid).toBeTruthy()
  expect(session.offset).toBeTruthy()
  // The network drops (not a logout): the hub keeps the session for recovery.
  const server = [...hub.hub.realtime.io!.of('/').sockets.values()].find((s) => s.id === socket.id)!
  server.conn.close()
  await until(() => !socket.connected, 'the drop')
  return session
}

/** A lift fault in e1 (GB/T 24476 code 5 raises at once) while the dashboard is away. */
async function raiseWhileAway(hub: TestHub, device: 'lift1' | 'e2_lift1'): Promise<Alert> {
  const lift = await connectDevice(hub.mqttUrl, device)
  await lift.publishAsync(`zhian/elevator/${device}/state`, JSON.stringify({ fault_code: 5 }), { qos: 1 })
  return until(
    () => hub.hub.alerts.openAlerts().find((a) => a.device_id === device),
    `the ${device} alert stored`,
  )
}

/** Resume over a raw WebSocket; every socket.io frame the hub sends until it answered the CONNECT. */
async function resume(hub: TestHub, auth: Record<string, string>): Promise<string[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${hub.hub.httpPort}/socket.io/?EIO=4&transport=websocket`)
  const frames: string[] = []
  ws.on('message', (m) => frames.push(m.toString()))
  await until(() => frames.some((f) => f.startsWith('0{')), 'engine.io open')
  ws.send(`40${JSON.stringify(auth)}`)
  await until(() => frames.some((f) => f.startsWith('40{') || f.startsWith('44{')), 'the CONNECT answer')
  // Anything still queued for this connection arrives within this time.
  await new Promise((r) => setTimeout(r, 300))
  ws.terminate()
  return frames
}

/** Events in the frames, without roll-ups (a fresh one follows every connect, more come on a timer). */
const events = (frames: string[]) =>
  frames
    .filter((f) => f.startsWith('42'))
    .map((f) => JSON.parse(f.slice(2)) as [string, ...unknown[]])
    .filter(([name]) => name !== 'live:rollup')

describe('connection-state recovery re-authenticates before replaying', () => {
  it('a session that expired while the tab was away resumes to a refusal and not one missed alert', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    const session = await dropped(hub, token)
    // Expiry (or `zhian user passwd/remove` from another process) sends no event the hub could act on.
    hub.hub.db.prepare('UPDATE sessions SET expires_at = ?').run(Date.now() - 1)
    await raiseWhileAway(hub, 'lift1')
    const frames = await resume(hub, { token, ...session })
    expect(frames.find((f) => f.startsWith('44'))).toContain('ZHIAN_ERR_UNAUTHORIZED')
    expect(events(frames)).toEqual([])
  })

  it('an old pid and offset without credentials get nothing, and do not spoil the session for its owner', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    const session = await dropped(hub, token)
    const missed = await raiseWhileAway(hub, 'lift1')
    const stranger = await resume(hub, session)
    expect(stranger.some((f) => f.startsWith('44'))).toBe(true)
    expect(events(stranger)).toEqual([])
    // The owner, with its token, still resumes: what it missed (the alert, its work order), then hello
    // with recovered: true.
    const owner = await resume(hub, { token, ...session })
    const got = events(owner)
    const alerts = got.filter(([name]) => name === 'alert').map(([, c]) => (c as Change).alert)
    expect(alerts.map((a) => a.id)).toContain(missed.id)
    expect(got.findIndex(([name]) => name === 'hello')).toBe(got.length - 1)
    expect(got.at(-1)![1]).toMatchObject({ recovered: true, user: { username: 'mgr_e1' } })
  })

  it('after logout the session cannot be resumed, even with a valid token of the same user', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    const session = await dropped(hub, token)
    expect((await as(hub.httpUrl, token)('/api/auth/logout', { method: 'POST' })).status).toBe(204)
    await raiseWhileAway(hub, 'lift1')
    const refused = await resume(hub, { token, ...session })
    expect(refused.some((f) => f.startsWith('44'))).toBe(true)
    expect(events(refused)).toEqual([])
    // Logged in again: a fresh connection (recovered: false → the dashboard re-syncs over HTTP).
    const again = await resume(hub, { token: await tokenOf(hub.httpUrl, 'mgr_e1'), ...session })
    const got = events(again)
    expect(got.map(([name]) => name)).toEqual(['hello'])
    expect(got[0]![1]).toMatchObject({ recovered: false })
  })

  it("another user's valid token does not resume someone else's session", async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const session = await dropped(hub, await tokenOf(hub.httpUrl, 'mgr_e1'))
    await raiseWhileAway(hub, 'lift1')
    const frames = await resume(hub, { token: await tokenOf(hub.httpUrl, 'mgr_e2'), ...session })
    const connect = JSON.parse(frames.find((f) => f.startsWith('40{'))!.slice(2)) as { pid: string }
    expect(connect.pid).not.toBe(session.pid)
    const got = events(frames)
    expect(got.map(([name]) => name)).toEqual(['hello'])
    expect(got[0]![1]).toMatchObject({ recovered: false, user: { username: 'mgr_e2' } })
  })

  it('a scope that narrowed while away replays only what the new scope may see', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'officer_c1')
    const socket: DashboardSocket = socketOf(
      hub.httpUrl,
      { token },
      { reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 500 },
    )
    const hellos: { recovered: boolean; user: { scope: string | null } }[] = []
    const got: Change[] = []
    socket.on('hello', (h) => hellos.push(h))
    socket.on('alert', (c) => got.push(c))
    await connected(socket)
    const mh1 = await connectDevice(hub.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => got.length > 0, 'a first alert')
    const io = hub.hub.realtime.io!
    const allow = io.engine.opts.allowRequest
    io.engine.opts.allowRequest = (_req, callback) => callback('outage', false)
    ;[...io.of('/').sockets.values()][0]!.conn.close()
    await until(() => !socket.connected, 'the drop')
    // The community officer is moved to estate e1 only, then both estates raise an alert.
    hub.hub.db.prepare("UPDATE users SET scope = 'e1' WHERE username = 'officer_c1'").run()
    const e2 = await raiseWhileAway(hub, 'e2_lift1')
    const e1 = await raiseWhileAway(hub, 'lift1')
    io.engine.opts.allowRequest = allow
    await until(() => hellos.length === 2, 'the second hello')
    expect(hellos[1]).toMatchObject({ recovered: true, user: { scope: 'e1' } })
    await until(() => got.some((c) => c.alert.id === e1.id), 'the e1 alert replayed')
    await new Promise((r) => setTimeout(r, 300))
    expect(got.some((c) => c.alert.id === e2.id)).toBe(false)
    // Live pushes after the recovery follow the new scope as well.
    const admin = as(hub.httpUrl, 'test-api-token-0123456789')
    expect((await admin(`/api/alerts/${e2.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    expect((await admin(`/api/alerts/${e1.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(200)
    await until(() => got.some((c) => c.alert.id === e1.id && c.entry.action === 'acknowledged'), 'e1 ack')
    expect(got.some((c) => c.alert.id === e2.id)).toBe(false)
  })
})
