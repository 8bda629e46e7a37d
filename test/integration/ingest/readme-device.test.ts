import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { until } from '../../helpers/hub.ts'
import { startHubProcess } from '../../helpers/hub-process.ts'

/**
 * The README's device example, as a new user runs it: the hub started as `npm start` does (its own
 * process, the demo estate), then the README's mosquitto_sub / mosquitto_pub lines word for word, with
 * only the port added (the test hub listens on a free one).
 */

const run = promisify(execFile)
const AUTH = ['-h', 'localhost', '-u', 'elev_b1_1', '-P', 'demo-secret-elev_b1_1']

it('README: the demo lift\'s reading arrives and {"floor":"seven"} is answered with ZHIAN_ERR_WRONG_TYPE', {
  timeout: 60_000,
}, async () => {
  const hub = await startHubProcess()
  const port = new URL(hub.mqttUrl).port
  const sub = spawn('mosquitto_sub', [...AUTH, '-p', port, '-t', 'zhian/elevator/elev_b1_1/error', '-v'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let errors = ''
  sub.stdout.on('data', (d) => {
    errors += d
  })
  sub.stderr.on('data', (d) => {
    errors += d
  })
  const subExited = new Promise((r) => sub.once('exit', r))
  await until(
    () => hub.metric('zhian_mqtt_connections').then((n) => n === 1),
    'mosquitto_sub connected',
    10_000,
  )

  await run('mosquitto_pub', [
    ...AUTH,
    '-p',
    port,
    '-q',
    '1',
    '-t',
    'zhian/elevator/elev_b1_1/state',
    '-m',
    '{"floor":7,"door":"closed","moving":false,"passenger":true}',
  ])
  await until(
    async () =>
      (await hub.metric('zhian_mqtt_messages_in_total', { kind: 'elevator', suffix: 'state' })) === 1,
    'the reading counted',
  )
  const live = (await (
    await fetch(`${hub.httpUrl}/api/live/devices?q=elev_b1_1`, {
      headers: { authorization: 'Bearer test-api-token-0123456789' },
    })
  ).json()) as { devices: { id: string }[] }
  expect(JSON.stringify(live.devices.find((d) => d.id === 'elev_b1_1'))).toContain('"floor":7')
  expect(errors).toBe('')

  await run('mosquitto_pub', [
    ...AUTH,
    '-p',
    port,
    '-q',
    '1',
    '-t',
    'zhian/elevator/elev_b1_1/state',
    '-m',
    '{"floor":"seven"}',
  ])
  await until(() => errors.includes('ZHIAN_ERR_WRONG_TYPE'), 'the error reply at mosquitto_sub', 10_000)
  const [topic, body] = [errors.slice(0, errors.indexOf(' ')), errors.slice(errors.indexOf(' ') + 1)]
  expect(topic).toBe('zhian/elevator/elev_b1_1/error')
  expect(JSON.parse(body)).toMatchObject({
    code: 'ZHIAN_ERR_WRONG_TYPE',
    topic: 'zhian/elevator/elev_b1_1/state',
  })
  expect(JSON.parse(body).message).toContain('floor')
  // The bad reading changed nothing.
  expect(await hub.metric('zhian_mqtt_messages_in_total', { kind: 'elevator', suffix: 'state' })).toBe(1)

  const health = await fetch(`${hub.httpUrl}/healthz`)
  expect(health.status).toBe(200)
  sub.kill()
  await subExited
})

it('README: the demo manager reads the hub topics with mosquitto_sub -u user:wuye, and sees offline at SIGTERM', {
  timeout: 60_000,
}, async () => {
  const hub = await startHubProcess()
  const port = new URL(hub.mqttUrl).port
  const sub = spawn(
    'mosquitto_sub',
    ['-h', 'localhost', '-p', port, '-u', 'user:wuye', '-P', 'zhian-demo', '-t', 'zhian/hub/#', '-v'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  sub.stdout.on('data', (d) => {
    out += d
  })
  sub.stderr.on('data', (d) => {
    out += d
  })
  const subExited = new Promise((r) => sub.once('exit', r))
  await until(() => out.includes('zhian/hub/availability online'), 'the retained online', 15_000)
  await run('mosquitto_pub', [
    ...AUTH,
    '-p',
    port,
    '-q',
    '1',
    '-t',
    'zhian/elevator/elev_b1_1/event',
    '-m',
    '{"type":"alarm_button"}',
  ])
  await until(() => out.includes('"type":"elevator.alarm_button"'), 'the alert at mosquitto_sub', 10_000)
  expect(out).toContain('"device_id":"elev_b1_1"')
  expect(await hub.stop()).toBe(0)
  await until(() => out.includes('zhian/hub/availability offline'), 'offline at mosquitto_sub', 10_000)
  sub.kill()
  await subExited
})
