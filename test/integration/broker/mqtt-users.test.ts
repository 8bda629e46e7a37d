import { spawn } from 'node:child_process'
import mqtt from 'mqtt'
import { expect, it } from 'vitest'
import { buildHub, collect, connectDevice, until } from '../../helpers/hub.ts'

/**
 * Dashboard users over MQTT (`user:<username>` + password): read-only subscribers of the hub's own
 * topics, receiving only the alerts inside their scope. Real mosquitto_sub (Debian) and mqtt.js.
 */

const PASSWORD = 'correct-horse-42'

it('a manager of estate e1 reads e1 alerts and hub availability over MQTT, never e2 alerts, and cannot publish', {
  timeout: 60_000,
}, async () => {
  const t = await buildHub()
  await t.hub.auth.users.add({ username: 'mgr_e1', password: PASSWORD, role: 'manager', scope: 'e1' })
  await t.hub.auth.users.add({ username: 'mgr_e2', password: PASSWORD, role: 'manager', scope: 'e2' })
  const port = String(t.hub.broker.mqttPort)

  // mosquitto_sub as a new user would run it, on everything under zhian/hub/.
  const sub = spawn(
    'mosquitto_sub',
    [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv311',
      '-u',
      'user:mgr_e1',
      '-P',
      PASSWORD,
      '-t',
      'zhian/hub/#',
      '-v',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  sub.stdout.on('data', (d) => {
    out += d
  })
  sub.stderr.on('data', (d) => {
    out += d
  })
  const subExited = new Promise<number | null>((r) => sub.once('exit', (code) => r(code)))
  // The retained `online` arrives on subscribe.
  await until(() => out.includes('zhian/hub/availability online'), 'the retained hub availability', 10_000)

  const e2 = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: 'user:mgr_e2',
    password: PASSWORD,
    protocolVersion: 4,
    reconnectPeriod: 0,
  })
  await e2.subscribeAsync('zhian/hub/alert', { qos: 1 })
  const e2Alerts = collect(e2, 'zhian/hub/alert', 1, 10_000)

  const lift1 = await connectDevice(t.mqttUrl, 'lift1') // estate e1
  const e2lift = await connectDevice(t.mqttUrl, 'e2_lift1') // estate e2
  await lift1.publishAsync('zhian/elevator/lift1/event', '{"type":"alarm_button"}', { qos: 1 })
  await e2lift.publishAsync('zhian/elevator/e2_lift1/event', '{"type":"alarm_button"}', { qos: 1 })

  const [e2Alert] = await e2Alerts
  expect(JSON.parse(e2Alert!)).toMatchObject({
    type: 'elevator.alarm_button',
    device_id: 'e2_lift1',
    estate: 'e2',
  })
  await until(() => out.includes('"device_id":"lift1"'), 'the e1 alert at mosquitto_sub', 10_000)
  // Give a wrongly forwarded e2 alert the same chance to arrive: e2's own subscriber already has it.
  await new Promise((r) => setTimeout(r, 300))
  expect(out).not.toContain('e2_lift1')

  // Read-only: publishing anywhere reaches nobody (acknowledged, dropped, counted).
  await lift1.subscribeAsync('zhian/elevator/lift1/set')
  const toDevice = collect(lift1, 'zhian/elevator/lift1/set', 1, 1000)
  const fakeAlert = collect(e2, 'zhian/hub/alert', 1, 1000)
  await e2.publishAsync('zhian/elevator/lift1/set', '{"report_interval_s":1}', { qos: 1 })
  await e2.publishAsync('zhian/hub/alert', '{"type":"fake","estate":"e2"}', { qos: 1 })
  expect(await toDevice).toEqual([])
  expect(await fakeAlert).toEqual([])
  const rejected = await t.hub.metrics.messagesRejected.get()
  expect(rejected.values.find((v) => v.labels.kind === 'user')?.value).toBe(2)

  // Nothing but the hub topics: device telemetry and `#` are refused in the SUBACK (0x80).
  await expect(e2.subscribeAsync('zhian/elevator/e2_lift1/state')).rejects.toThrow(/Subscribe error/)
  await expect(e2.subscribeAsync('#')).rejects.toThrow(/Subscribe error/)
  expect(await t.hub.metrics.subscribeRefused.get()).toMatchObject({ values: [{ value: 2 }] })

  // Shutdown: the subscriber sees the hub say offline.
  await Promise.all([e2.endAsync(), lift1.endAsync(), e2lift.endAsync()])
  await t.close()
  await until(() => out.includes('zhian/hub/availability offline'), 'hub offline at mosquitto_sub', 10_000)
  sub.kill()
  await subExited
})

it('refuses a wrong password (return code 4) and a device secret used as a user', async () => {
  const t = await buildHub()
  await t.hub.auth.users.add({ username: 'viewer1', password: PASSWORD, role: 'viewer', scope: null })
  const connect = (username: string, password: string) =>
    mqtt.connectAsync(t.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0 }).then(
      (c) => {
        c.end(true)
        return 'connected'
      },
      (err: Error & { code?: number }) => err.code,
    )
  expect(await connect('user:viewer1', 'wrong-password')).toBe(4)
  expect(await connect('user:lift1', 'lift1-secret-0001')).toBe(4)
  expect(await connect('user:viewer1', PASSWORD)).toBe('connected')
})
