import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { as, connected, DASHBOARD_ESTATE, socketOf, tokenOf } from '../../helpers/session.ts'

describe('socket.io reconnects', () => {
  it('recovers a dropped connection with the alerts it missed, and re-checks the session on the way back', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    const socket = socketOf(
      hub.httpUrl,
      { token },
      { reconnection: true, reconnectionDelay: 800, reconnectionDelayMax: 800 },
    )
    const hellos: boolean[] = []
    const alerts: { alert: Alert; entry: AuditEntry }[] = []
    socket.on('hello', (h) => hellos.push(h.recovered))
    socket.on('alert', (c) => alerts.push(c))
    await connected(socket)
    await until(() => hellos.length === 1, 'first hello')
    expect(hellos).toEqual([false])

    // The network drops (no new transports, the open one closes); an alert is raised while the tab is away.
    const io = hub.hub.realtime.io!
    const allow = io.engine.opts.allowRequest
    io.engine.opts.allowRequest = (_req, callback) => callback('outage', false)
    ;[...io.of('/').sockets.values()][0]!.conn.close()
    await until(() => !socket.connected, 'client notices the drop')
    const mh1 = await connectDevice(hub.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => hub.hub.alerts.openAlerts().length === 1, 'the alert stored')
    expect(alerts).toHaveLength(0)
    io.engine.opts.allowRequest = allow

    // Back within the recovery window: same session, and the missed alert is replayed.
    await until(() => hellos.length === 2, 'second hello', 5000)
    expect(hellos[1]).toBe(true)
    expect((socket as unknown as { recovered: boolean }).recovered).toBe(true)
    await until(() => alerts.some((c) => c.entry.action === 'raised'), 'the missed alert replayed')

    // The session expires while the tab is connected; the next recovery runs the auth middleware
    // again (skipMiddlewares: false) and is refused.
    hub.hub.db.prepare('UPDATE sessions SET expires_at = ?').run(Date.now() - 1)
    const refused = new Promise<Error>((resolve) => socket.once('connect_error', resolve))
    ;[...hub.hub.realtime.io!.of('/').sockets.values()][0]!.conn.close()
    expect((await refused).message).toBe('unauthorized')
    socket.disconnect()
  })

  it('a fresh connection is not "recovered", so the dashboard re-syncs open alerts from /api/live/alerts', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const mh1 = await connectDevice(hub.mqttUrl, 'mh1')
    await mh1.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await until(() => hub.hub.alerts.openAlerts().length === 1, 'an open alert')
    const token = await tokenOf(hub.httpUrl, 'viewer_e1')
    const socket = socketOf(hub.httpUrl, { token })
    const hello = await new Promise<{ recovered: boolean }>((resolve) => socket.once('hello', resolve))
    expect(hello.recovered).toBe(false)
    const open = (await (await as(hub.httpUrl, token)('/api/live/alerts')).json()) as Alert[]
    expect(open.map((a) => a.type)).toEqual(['manhole.cover_open'])
  })

  it('a dashboard that stops reading holds up neither ingest nor the other dashboards', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(hub.httpUrl, 'mgr_e1')
    // A raw engine.io/socket.io client that logs in, watches e1 and then stops reading its socket.
    const ws = new WebSocket(`ws://127.0.0.1:${hub.hub.httpPort}/socket.io/?EIO=4&transport=websocket`)
    const frames: string[] = []
    ws.on('message', (m) => frames.push(m.toString()))
    await until(() => frames.some((f) => f.startsWith('0{')), 'engine.io open')
    ws.send(`40${JSON.stringify({ token })}`)
    await until(() => frames.some((f) => f.startsWith('40{')), 'socket.io connect')
    ws.send('421["watch","e1"]')
    await until(() => frames.some((f) => f.startsWith('431')), 'watch ack')
    ;(ws as unknown as { _socket: { pause: () => void } })._socket.pause()

    const healthy = socketOf(hub.httpUrl, { token: await tokenOf(hub.httpUrl, 'mgr_e1') })
    await connected(healthy)
    await healthy.emitWithAck('watch', 'e1')
    let lastFloor: unknown
    healthy.on('live:devices', (ds) => {
      for (const d of ds) if (d.id === 'lift1') lastFloor = d.values.floor
    })
    let readings = 0
    hub.hub.bus.on('reading', () => readings++)
    const lift = await connectDevice(hub.mqttUrl, 'lift1')
    const t0 = Date.now()
    const N = 3000
    for (let i = 1; i <= N; i++) {
      lift.publish('zhian/elevator/lift1/state', JSON.stringify({ floor: (i % 200) + 1, moving: true }), {
        qos: 0,
      })
    }
    await until(() => readings >= N, `${N} readings ingested`, 15_000)
    const ingestMs = Date.now() - t0
    await until(() => lastFloor === (N % 200) + 1, 'the healthy dashboard shows the last floor')
    // Volatile: the stalled socket's server-side buffer did not collect a packet per reading.
    const stalled = [...hub.hub.realtime.io!.of('/').sockets.values()].find(
      (s) => s.conn.transport.name === 'websocket' && s.id !== healthy.id,
    )!
    const buffered = (stalled.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length
    expect(buffered).toBeLessThan(50)
    expect(ingestMs).toBeLessThan(10_000)
    ws.terminate()
  })
})

describe('sessions end live connections too', () => {
  it('logging out closes the sockets of that session at once, and only those', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const a = await tokenOf(hub.httpUrl, 'mgr_e1')
    const b = await tokenOf(hub.httpUrl, 'mgr_e1')
    const first = await connected(socketOf(hub.httpUrl, { token: a }))
    const second = await connected(socketOf(hub.httpUrl, { token: b }))
    const reason = new Promise<string>((resolve) => first.once('disconnect', resolve))
    await as(hub.httpUrl, a)('/api/auth/logout', { method: 'POST' })
    expect(await reason).toBe('io server disconnect')
    await new Promise((r) => setTimeout(r, 200))
    expect(second.connected).toBe(true)
  })
})
