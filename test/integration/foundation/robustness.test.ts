import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, DEMO_ESTATE, secretOf, tempDir, until } from '../../helpers/hub.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

/** A deterministic stream of junk: random bytes, broken JSON, huge numbers, wrong topics. */
function garbage(i: number): { topic: string; payload: Buffer } {
  const topics = [
    'zhian/manhole/mh1/state',
    'zhian/manhole/mh1/event',
    'zhian/manhole/mh1/info',
    'zhian/manhole/mh1/availability',
    'zhian/elevator/mh1/state',
    'zhian/manhole/lift1/state',
    'zhian/hub/alert',
    `zhian/${'x'.repeat(i % 50)}/mh1/state`,
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

describe('robustness', () => {
  it('stays up with flat memory through 10,000 garbage payloads, and still serves good devices', async () => {
    const t = await buildHub()
    let readings = 0
    t.hub.bus.on('reading', () => readings++)
    const junk = await connectDevice(t.mqttUrl, 'mh1')
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const g = garbage(i)
        junk.publish(g.topic, g.payload, { qos: i % 2 === 0 ? 0 : 1 })
        if (i % 200 === 0) await junk.publishAsync('zhian/manhole/mh1/state', '{"tilt_deg":1}', { qos: 1 })
      }
      await junk.publishAsync('zhian/manhole/mh1/state', '{"tilt_deg":1}', { qos: 1 })
    }
    await send(0, 2000)
    global.gc?.()
    const before = process.memoryUsage().heapUsed
    await send(2000, 10_000)
    global.gc?.()
    const after = process.memoryUsage().heapUsed
    // 8,000 more junk messages must not leave megabytes behind (bounded maps, nothing accumulating).
    expect(after - before).toBeLessThan(40 * 1024 * 1024)
    const health = await fetch(`${t.httpUrl}/healthz`)
    expect(health.status).toBe(200)
    const good = await connectDevice(t.mqttUrl, 'lift1')
    await good.publishAsync('zhian/elevator/lift1/state', '{"floor":2}', { qos: 1 })
    await until(() => readings >= 52, 'good readings among the junk')
    const metrics = await t.hub.metrics.registry.metrics()
    expect(metrics).toMatch(
      /zhian_mqtt_messages_rejected_total\{reason="ZHIAN_ERR_INVALID_JSON",kind="manhole"\} \d+/,
    )
    expect(metrics).toMatch(
      /zhian_mqtt_messages_rejected_total\{reason="ZHIAN_ERR_TOPIC_FORBIDDEN",kind="manhole"\} \d+/,
    )
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
