import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'
import { buildHub, DEMO_ESTATE } from '../../helpers/hub.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

test('the load generator runs as its own process, closed loop with QoS 1, and reports counts the hub agrees with', {
  timeout: 60_000,
}, async () => {
  const hub = await buildHub({ estateFile: DEMO_ESTATE })
  const args = [
    '--import',
    'tsx',
    'src/main.ts',
    'simulate',
    '--load',
    '--url',
    hub.mqttUrl,
    '--estate',
    DEMO_ESTATE,
  ]
  const child = spawn(
    process.execPath,
    [...args, '--publishers', '12', '--qos', '1', '--inflight', '2', '--duration', '2s'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  expect(code).toBe(0)
  const report = JSON.parse(out)
  expect(report).toMatchObject({ publishers: 12, qos: 1, inflight: 2, connected: 12, errors: 0 })
  expect(report.completed).toBeGreaterThan(50)
  expect(report.completed).toBe(report.sent)
  expect(Object.keys(report.by_kind).sort()).toEqual(['elevator', 'fire_passage', 'manhole'])
  const accepted =
    (await hub.hub.metrics.registry.getSingleMetric('zhian_mqtt_messages_in_total')?.get())?.values ?? []
  const states = accepted.filter((v) => v.labels.suffix === 'state').reduce((s, v) => s + v.value, 0)
  expect(states).toBe(report.completed) // QoS 1 acknowledged = processed by the hub, none refused
})
