import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { buildHub, connectDevice, secretOf, type TestHub, until } from '../../helpers/hub.ts'

/**
 * The ACL holds for persistent sessions (clean: false): a SUBSCRIBE that mixes an allowed and a
 * refused topic gets SUBACK [1, 128], and the refused one is never stored in the session nor served
 * on any path — live, the offline queue replayed on reconnect, retained messages, wills. The attacker
 * is a manhole of estate e1 (mh1) or a viewer of e1; the victims are elevators of e1 and e2.
 *
 * No waiting for silence: each check ends with a marker the attacker may receive (its own `set`, or an
 * alert of its own estate) sent after the forbidden traffic; messages to one client are delivered in
 * order, so once the marker is in, anything wrongly queued before it would be too.
 */

const MH1_SET = 'zhian/manhole/mh1/set'
const PASSWORD = 'correct-horse-42'

interface Session {
  client: MqttClient
  /** Every message received, as "topic payload", from the first byte of the connection. */
  got: string[]
}

/** Connect with clean: false, recording messages from the start (a replayed queue comes right after CONNACK). */
async function openSession(
  t: TestHub,
  clientId: string,
  username: string,
  password: string,
): Promise<Session> {
  const options: IClientOptions = {
    clientId,
    username,
    password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  }
  const client = mqtt.connect(t.mqttUrl, options)
  const got: string[] = []
  client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  onTestFinished(() => client.endAsync(true))
  return { client, got }
}

const deviceSession = (t: TestHub, id: string, clientId = `${id}-persistent`) =>
  openSession(t, clientId, id, secretOf(id))

/** ONE SUBSCRIBE with an allowed and a refused filter: the attack. */
async function subscribeMixed(s: Session, allowed: string): Promise<number[]> {
  const granted = await s.client
    .subscribeAsync({ [allowed]: { qos: 1 }, '#': { qos: 1 } })
    .catch((err: { packet?: { granted: number[] } }) => {
      if (err.packet) return err.packet.granted.map((qos) => ({ qos }))
      throw err
    })
  return granted.map((g) => g.qos)
}

/** Plant a persistent session holding `<allowed>` and `#`, then go offline. */
async function plant(s: Session, allowed: string): Promise<void> {
  expect(await subscribeMixed(s, allowed)).toEqual([1, 128])
  await s.client.endAsync()
}

async function markerToMh1(t: TestHub, text: string): Promise<void> {
  await t.hub.broker.publish(MH1_SET, JSON.stringify({ marker: text }), { qos: 1, retain: false })
}

const lift1State = '{"floor":3,"door":"closed"}'

describe('persistent sessions cannot widen a device or user ACL', () => {
  it('offline queue: what a refused `#` would have matched is not replayed on reconnect', async () => {
    const t = await buildHub()
    await plant(await deviceSession(t, 'mh1'), MH1_SET)
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    const e2lift = await connectDevice(t.mqttUrl, 'e2_lift1')
    await lift1.publishAsync('zhian/elevator/lift1/state', lift1State, { qos: 1 })
    await e2lift.publishAsync('zhian/elevator/e2_lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    await until(async () => (await alertCount(t)) === 1, 'the e2 alert')
    await markerToMh1(t, 'offline')

    const back = await deviceSession(t, 'mh1')
    await until(() => back.got.some((m) => m.includes('"marker":"offline"')), 'the queued marker')
    expect(back.got).toEqual([`${MH1_SET} {"marker":"offline"}`])
  })

  it('live: a connected session with a refused `#` receives only its own topic, now and after reconnecting', async () => {
    const t = await buildHub()
    const mh1 = await deviceSession(t, 'mh1')
    expect(await subscribeMixed(mh1, MH1_SET)).toEqual([1, 128])
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    await lift1.publishAsync('zhian/elevator/lift1/state', lift1State, { qos: 1 })
    await markerToMh1(t, 'live')
    await until(() => mh1.got.length > 0, 'the live marker')
    expect(mh1.got).toEqual([`${MH1_SET} {"marker":"live"}`])

    // Nothing was queued for the refused filter behind the live delivery either.
    await mh1.client.endAsync()
    await markerToMh1(t, 'later')
    const back = await deviceSession(t, 'mh1')
    await until(() => back.got.some((m) => m.includes('"marker":"later"')), 'the queued marker')
    expect(back.got).toEqual([`${MH1_SET} {"marker":"later"}`])
  })

  it('retained: a retained message of another device is neither replayed nor served to a refused filter', async () => {
    const t = await buildHub()
    await plant(await deviceSession(t, 'mh1'), MH1_SET)
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    await lift1.publishAsync('zhian/elevator/lift1/info', '{"model":"ZX-9"}', { qos: 1, retain: true })
    await markerToMh1(t, 'offline')
    const back = await deviceSession(t, 'mh1')
    await until(() => back.got.length > 0, 'the queued marker')
    expect(back.got).toEqual([`${MH1_SET} {"marker":"offline"}`])

    // Subscribing afresh: the retained message of its own topic comes, never lift1's info.
    await t.hub.broker.publish(MH1_SET, '{"marker":"retained"}', { qos: 1, retain: true })
    expect(await subscribeMixed(back, MH1_SET)).toEqual([1, 128])
    await until(() => back.got.length > 1, 'the retained marker')
    await new Promise((r) => setTimeout(r, 300)) // the retained stream of `#` would come with it
    // (It may come twice: live on the restored subscription, and as the retained copy on SUBSCRIBE.)
    expect(new Set(back.got.slice(1))).toEqual(new Set([`${MH1_SET} {"marker":"retained"}`]))
  })

  it("will: another device's will does not reach a session through a refused filter", async () => {
    const t = await buildHub()
    await plant(await deviceSession(t, 'mh1'), MH1_SET)
    const offline: string[] = []
    t.hub.bus.on('availability', (a) => {
      if (!a.online) offline.push(a.device.id)
    })
    const lift1 = await connectDevice(t.mqttUrl, 'lift1', {
      will: {
        topic: 'zhian/elevator/lift1/availability',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: false,
      },
    })
    // Drop the socket without DISCONNECT so the hub publishes the will [MQTT-3.1.2-8].
    ;(lift1.stream as unknown as { destroy: () => void }).destroy()
    await until(() => offline.includes('lift1'), 'the will processed')
    await markerToMh1(t, 'offline')
    const back = await deviceSession(t, 'mh1')
    await until(() => back.got.length > 0, 'the queued marker')
    expect(back.got).toEqual([`${MH1_SET} {"marker":"offline"}`])
  })

  it("a viewer of estate e1 never receives estate e2's telemetry or alerts through a persistent session", async () => {
    const t = await buildHub()
    await t.hub.auth.users.add({ username: 'view_e1', password: PASSWORD, role: 'viewer', scope: 'e1' })
    const viewer = () => openSession(t, 'viewer-e1-persistent', 'user:view_e1', PASSWORD)
    await plant(await viewer(), 'zhian/hub/#')

    const e2lift = await connectDevice(t.mqttUrl, 'e2_lift1')
    await e2lift.publishAsync('zhian/elevator/e2_lift1/state', '{"floor":7}', { qos: 1 })
    await e2lift.publishAsync('zhian/elevator/e2_lift1/event', '{"type":"alarm_button"}', { qos: 1 })
    await until(async () => (await alertCount(t)) === 1, 'the e2 alert')
    // The marker: an alert of the viewer's own estate.
    const lift1 = await connectDevice(t.mqttUrl, 'lift1')
    await lift1.publishAsync('zhian/elevator/lift1/event', '{"type":"alarm_button"}', { qos: 1 })

    const back = await viewer()
    await until(() => back.got.some((m) => m.includes('"device_id":"lift1"')), 'the e1 alert')
    expect(back.got.filter((m) => m.includes('e2_lift1'))).toEqual([])
    expect(back.got.every((m) => m.startsWith('zhian/hub/'))).toBe(true)
  })
})

async function alertCount(t: TestHub): Promise<number> {
  const res = await t.api('/api/alerts')
  const body = (await res.json()) as { items?: unknown[] } | unknown[]
  return Array.isArray(body) ? body.length : (body.items?.length ?? 0)
}
