import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, DEMO_ESTATE, secretOf, tempDir, until } from '../../helpers/hub.ts'
import { startHubProcess } from '../../helpers/hub-process.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

/** A deterministic stream of junk: random bytes, broken JSON, huge numbers, wrong topics (demo estate ids). */
function garbage(i: number): { topic: string; payload: Buffer } {
  const topics = [
    'zhian/manhole/mh_01/state',
    'zhian/manhole/mh_01/event',
    'zhian/manhole/mh_01/info',
    'zhian/manhole/mh_01/availability',
    'zhian/elevator/mh_01/state',
    'zhian/manhole/elev_b1_1/state',
    'zhian/hub/alert',
    `zhian/${'x'.repeat(i % 50)}/mh_01/state`,
    'elsewhere/entirely',
  ]
  const payloads = [
    () => randomBytes(i % 300),
    () => Buffer.from(`{"tilt_deg":${'9'.repeat(i % 400)}}`),
    () => Buffer.from(`{"tilt_deg":1,"k${i}":true}`),
    () => Buffer.from(JSON.stringify({ tilt_deg: { nested: [i, i, i] } })),
    () => Buffer.from('{'.repeat(i % 1000)),
    () => Buffer.from(JSON.stringify({ type: `t${i}`, data: { a: i } })),
    () => Buffer.alloc(10_000 + (i % 5000), 0x41),
  ]
  return { topic: topics[i % topics.length]!, payload: payloads[i % payloads.length]!() }
}

const MB = 1024 * 1024

describe('robustness', () => {
  it('stays up with flat memory through 10,000 garbage payloads, and still serves good devices', {
    timeout: 120_000,
  }, async () => {
    // The hub in its own process: the test's clients and their buffers are not in what is measured.
    const hub = await startHubProcess({ ZHIAN_DEVICE_RATE: '1000000', ZHIAN_DEVICE_BURST: '1000000' })
    const junk = await connectDevice(hub.mqttUrl, 'mh_01')
    let good = 0
    const send = async (from: number, to: number) => {
      let bytes = 0
      for (let i = from; i < to; i++) {
        const g = garbage(i)
        bytes += g.payload.length
        junk.publish(g.topic, g.payload, { qos: i % 2 === 0 ? 0 : 1 })
        if (i % 200 === 0) {
          await junk.publishAsync('zhian/manhole/mh_01/state', '{"tilt_deg":1}', { qos: 1 })
          good++
        }
      }
      await junk.publishAsync('zhian/manhole/mh_01/state', '{"tilt_deg":1}', { qos: 1 })
      good++
      return bytes
    }
    await send(0, 2000) // warm-up: JIT, pools and bounded maps reach their size
    const before = await hub.sample()
    const input = await send(2000, 10_000)
    const after = await hub.sample()
    expect(input).toBeGreaterThan(12 * MB)
    // Flat: the 8,000 payloads after the warm-up (~14 MB) leave well under a third of themselves
    // behind, in the JS heap plus Buffers (external) and in the process's resident memory. Retaining
    // every payload would add all of it.
    const retained = after.heapUsed + after.external - (before.heapUsed + before.external)
    expect(retained, `JS heap + Buffers grew ${(retained / MB).toFixed(1)} MB`).toBeLessThan(input / 3)
    const rss = after.rss - before.rss
    expect(rss, `RSS grew ${(rss / MB).toFixed(1)} MB`).toBeLessThan(input / 3)

    expect((await fetch(`${hub.httpUrl}/healthz`)).status).toBe(200)
    const lift = await connectDevice(hub.mqttUrl, 'elev_b1_1')
    await lift.publishAsync('zhian/elevator/elev_b1_1/state', '{"floor":2}', { qos: 1 })
    await until(
      async () =>
        (await hub.metric('zhian_mqtt_messages_in_total', { kind: 'manhole', suffix: 'state' })) >= good &&
        (await hub.metric('zhian_mqtt_messages_in_total', { kind: 'elevator', suffix: 'state' })) === 1,
      'the good readings among the junk',
    )
    expect(
      await hub.metric('zhian_mqtt_messages_rejected_total', {
        reason: 'ZHIAN_ERR_INVALID_JSON',
        kind: 'manhole',
      }),
    ).toBeGreaterThan(0)
    expect(
      await hub.metric('zhian_mqtt_messages_rejected_total', {
        reason: 'ZHIAN_ERR_TOPIC_FORBIDDEN',
        kind: 'manhole',
      }),
    ).toBeGreaterThan(0)
    expect(
      await hub.metric('zhian_mqtt_messages_rejected_total', {
        reason: 'ZHIAN_ERR_PAYLOAD_TOO_LARGE',
        kind: 'manhole',
      }),
    ).toBeGreaterThan(0)
  })

  it('survives a client that sends raw protocol garbage instead of MQTT', async () => {
    const t = await buildHub()
    const net = await import('node:net')
    for (let i = 0; i < 20; i++) {
      const s = net.connect(t.hub.broker.mqttPort, '127.0.0.1')
      await new Promise((r) => s.once('connect', r))
      s.write(randomBytes(64 + i * 37))
      s.destroy()
    }
    const ok = await connectDevice(t.mqttUrl, 'pb1')
    expect(ok.connected).toBe(true)
  })

  it('shuts down cleanly on SIGTERM: logs the stop, closes device connections, exits 0', async () => {
    const dataDir = tempDir()
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ZHIAN_DATA_DIR: dataDir,
        ZHIAN_CONFIG: DEMO_ESTATE,
        ZHIAN_MQTT_PORT: '0',
        ZHIAN_HTTP_PORT: '0',
        ZHIAN_MQTT_HOST: '127.0.0.1',
        ZHIAN_HTTP_HOST: '127.0.0.1',
        ZHIAN_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    const port = await until(() => /mqtt:\/\/localhost:(\d+)/.exec(out)?.[1], 'the hub banner', 20_000)
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'elev_b1_1',
      password: secretOf('elev_b1_1'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    await device.publishAsync('zhian/elevator/elev_b1_1/state', '{"floor":1}', { qos: 1 })
    const closed = new Promise<void>((r) => device.once('close', () => r()))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    await closed
    expect(out).toContain('"msg":"shutting down"')
    expect(out).toContain('"msg":"hub stopped"')
    device.end(true)
  })
})
