import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'
import { publishersOf } from '../../../simulators/loadgen.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
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

test('the publishers are the measured mix whatever the estate lists first: lifts, fire passages, manholes, parking bays by weight, no kind of weight 0', () => {
  const demo = loadEstateFile(DEMO_ESTATE)
  // The demo street lists perimeter zones and cameras before its manholes; they are not in the mix.
  const count = (n: number) => {
    const c: Record<string, number> = {}
    for (const d of publishersOf(demo, n)) c[d.kind] = (c[d.kind] ?? 0) + 1
    return c
  }
  expect(count(12)).toEqual({ elevator: 6, fire_passage: 4, manhole: 2 })
  // 200 publishers: more than the demo's own devices of the mix, made up with synthesised ones.
  expect(count(200)).toEqual({ elevator: 12, fire_passage: 8, manhole: 30, parking_bay: 150 })
  expect(new Set(publishersOf(demo, 200).map((d) => d.id)).size).toBe(200)
})
