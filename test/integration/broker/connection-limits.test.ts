import net from 'node:net'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, secretOf, type TestHub, until } from '../../helpers/hub.ts'

/**
 * One host cannot exhaust the hub's file descriptors: per source address, a cap on open MQTT
 * connections and on connections that have not completed CONNECT, and a CONNECT deadline. The caps
 * are set small here, and loopback (exempt by default) is not exempt.
 */

const LIMITS = { maxConnectionsPerAddress: 3, maxPendingPerAddress: 2, connectTimeoutMs: 500, exempt: [] }

async function limitedHub(): Promise<TestHub> {
  return buildHub({ config: { mqtt: { host: '127.0.0.1', port: 0, limits: LIMITS } } })
}

/** A TCP connection that never sends CONNECT; `closed` resolves when the hub closes it. */
async function silentSocket(t: TestHub): Promise<{ closed: Promise<void> }> {
  const socket = net.connect(t.hub.broker.mqttPort, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  return { closed: new Promise((resolve) => socket.once('close', () => resolve())) }
}

/** 'connected', or 'closed' when the hub drops the connection before CONNACK. */
function tryDevice(t: TestHub, id: string): Promise<'connected' | 'closed'> {
  const client = mqtt.connect(t.mqttUrl, {
    username: id,
    password: secretOf(id),
    protocolVersion: 4,
    reconnectPeriod: 0,
  })
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true)
      resolve('connected')
    })
    client.once('close', () => resolve('closed'))
    client.on('error', () => {})
  })
}

async function refused(t: TestHub, reason: string): Promise<number> {
  const { values } = await t.hub.metrics.connectRefused.get()
  return values.find((v) => v.labels.reason === reason)?.value ?? 0
}

describe('MQTT connection limits per source address', () => {
  it('closes connections over the pending cap at once, and drops a silent connection at the CONNECT deadline', async () => {
    const t = await limitedHub()
    const first = await silentSocket(t)
    const second = await silentSocket(t)
    // Over the cap: closed by the hub straight away, whoever it is.
    await (await silentSocket(t)).closed
    expect(await tryDevice(t, 'lift1')).toBe('closed')
    expect(await refused(t, 'address_pending_limit')).toBe(2)

    // The silent ones never sent CONNECT: closed at the deadline, and the address may connect again.
    await Promise.all([first.closed, second.closed])
    expect(await tryDevice(t, 'lift1')).toBe('connected')
  })

  it('refuses a connection over the per-address cap and admits one again when another closes', async () => {
    const t = await limitedHub()
    const held = [
      await connectDevice(t.mqttUrl, 'lift1'),
      await connectDevice(t.mqttUrl, 'lift2'),
      await connectDevice(t.mqttUrl, 'mh1'),
    ]
    expect(await tryDevice(t, 'pb1')).toBe('closed')
    expect(await refused(t, 'address_connection_limit')).toBe(1)
    // Those already connected are untouched.
    expect(held.every((c) => c.connected)).toBe(true)

    await held[0]!.endAsync()
    await until(() => t.hub.broker.connectionsOf('lift1') === 0, 'lift1 closed')
    expect(await tryDevice(t, 'pb1')).toBe('connected')
  })

  it('exempts loopback by default (the simulators and the benchmark connect from it)', async () => {
    const t = await buildHub({
      config: {
        mqtt: {
          host: '127.0.0.1',
          port: 0,
          limits: { maxConnectionsPerAddress: 1, maxPendingPerAddress: 1 },
        },
      },
    })
    const a = await connectDevice(t.mqttUrl, 'lift1')
    const b = await connectDevice(t.mqttUrl, 'lift2')
    expect(a.connected && b.connected).toBe(true)
  })
})
