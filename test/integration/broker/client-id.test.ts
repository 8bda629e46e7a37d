import mqtt, { type IClientOptions } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, collect, connectDevice, secretOf, type TestHub, until } from '../../helpers/hub.ts'

/**
 * A client id in use belongs to the identity holding it: another device (any estate) or a `user:`
 * login presenting it is refused with CONNACK 2 (identifier rejected) and counted, and the holder
 * stays connected — no takeover, no will, no `offline` on the dashboard. The same device may still
 * take its own connection over (a reconnect after a half-open TCP connection).
 */

const PASSWORD = 'correct-horse-42'
const VICTIM_ID = 'lift1-controller'

/** CONNACK return code of one attempt (0 = accepted; the connection is then closed). */
function connackCode(t: TestHub, options: IClientOptions): Promise<number> {
  const client = mqtt.connect(t.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, ...options })
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true)
      resolve(0)
    })
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true)
      resolve(err.code ?? -1)
    })
  })
}

async function refusedMetric(t: TestHub, reason: string): Promise<number> {
  const { values } = await t.hub.metrics.connectRefused.get()
  return values.find((v) => v.labels.reason === reason)?.value ?? 0
}

describe('client-id takeover', () => {
  it('refuses another estate device and a user presenting a connected device client id; the device stays online', async () => {
    const t = await buildHub()
    await t.hub.auth.users.add({ username: 'view_e2', password: PASSWORD, role: 'viewer', scope: 'e2' })
    const availability: string[] = []
    t.hub.bus.on('availability', (a) => availability.push(`${a.device.id}:${a.online}`))
    const victim = await connectDevice(t.mqttUrl, 'lift1', {
      clientId: VICTIM_ID,
      will: {
        topic: 'zhian/elevator/lift1/availability',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
    })
    await victim.publishAsync('zhian/elevator/lift1/availability', 'online', { qos: 1, retain: true })
    await victim.subscribeAsync('zhian/elevator/lift1/set', { qos: 1 })
    let victimClosed = false
    victim.on('close', () => {
      victimClosed = true
    })

    const attackerDevice = { clientId: VICTIM_ID, username: 'e2_lift1', password: secretOf('e2_lift1') }
    expect(await connackCode(t, attackerDevice)).toBe(2)
    expect(await connackCode(t, { clientId: VICTIM_ID, username: 'user:view_e2', password: PASSWORD })).toBe(
      2,
    )
    // Persistent or clean makes no difference.
    expect(await connackCode(t, { ...attackerDevice, clean: false })).toBe(2)
    expect(await refusedMetric(t, 'client_id_taken')).toBe(3)

    // The victim was never disconnected: a command still reaches it on the same connection.
    const command = collect(victim, 'zhian/elevator/lift1/set', 1)
    await t.hub.broker.publish('zhian/elevator/lift1/set', '{"report_interval_s":30}', {
      qos: 1,
      retain: false,
    })
    expect(await command).toEqual(['{"report_interval_s":30}'])
    expect(victimClosed).toBe(false)
    expect(victim.connected).toBe(true)
    expect(t.hub.broker.connectionsOf('lift1')).toBe(1)
    // Its will was not fired: the dashboard never saw it go offline.
    expect(availability).toEqual(['lift1:true'])
    const live = (await (await t.api('/api/live/devices?estate=e1')).json()) as {
      devices: { id: string; online: boolean }[]
    }
    expect(live.devices.find((d) => d.id === 'lift1')?.online).toBe(true)
  })

  it('lets the same device take its own client id over (reconnect), and frees a clean client id when it closes', async () => {
    const t = await buildHub()
    const first = await connectDevice(t.mqttUrl, 'lift1', { clientId: VICTIM_ID })
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()))
    const second = await connectDevice(t.mqttUrl, 'lift1', { clientId: VICTIM_ID })
    await firstClosed // [MQTT-3.1.4-2]: the old connection of the same client id is closed
    expect(second.connected).toBe(true)

    // A clean session ends with its connection: the id is free again for anyone.
    await second.endAsync()
    await until(() => t.hub.broker.connectionsOf('lift1') === 0, 'lift1 gone')
    const other = await connectDevice(t.mqttUrl, 'e2_lift1', { clientId: VICTIM_ID })
    expect(other.connected).toBe(true)
  })

  it('keeps a persistent session to its device after it disconnects', async () => {
    const t = await buildHub()
    const device = await connectDevice(t.mqttUrl, 'mh1', { clientId: 'mh1-session', clean: false })
    await device.subscribeAsync('zhian/manhole/mh1/set', { qos: 1 })
    await device.endAsync()
    const thief = {
      clientId: 'mh1-session',
      username: 'e2_lift1',
      password: secretOf('e2_lift1'),
      clean: false,
    }
    expect(await connackCode(t, thief)).toBe(2)
    const back = await connectDevice(t.mqttUrl, 'mh1', { clientId: 'mh1-session', clean: false })
    expect(back.connected).toBe(true)
  })
})
