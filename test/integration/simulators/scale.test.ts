import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { generateEstate } from '../../../simulators/estate-gen.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import { loadEstateFile, serializeWithSections } from '../../../src/config/estate-file.ts'
import { buildHub, DEMO_ESTATE, tempDir, until } from '../../helpers/hub.ts'

test('2,000 simulated devices from a generated estate connect and report without a single error', {
  timeout: 240_000,
}, async () => {
  const estate = generateEstate(2000, loadEstateFile(DEMO_ESTATE))
  const file = path.join(tempDir('zhian-scale-'), 'big.yaml')
  fs.writeFileSync(file, serializeWithSections(estate, DEMO_ESTATE))
  const hub = await buildHub({ estateFile: file })
  const reported = new Set<string>()
  hub.hub.bus.on('reading', ({ device }) => reported.add(device.id))
  const online = new Set<string>()
  hub.hub.bus.on('availability', ({ device, online: up }) => up && online.add(device.id))

  const fleet = new Fleet({
    estate: loadEstateFile(file),
    url: hub.mqttUrl,
    seed: 3,
    connectRate: 250,
    faultRate: 0,
  })
  expect(fleet.size).toBe(2000)
  fleet.clock.run()
  await fleet.start()
  await fleet.waitConnected(2000, 180_000)
  await until(
    () => reported.size === 2000 && online.size === 2000,
    'a reading and "online" from every device',
    60_000,
  )
  const progress = fleet.progress()
  await fleet.stop()

  expect(Object.fromEntries(fleet.stats.errorsByMessage)).toEqual({})
  expect(fleet.stats.errors).toBe(0)
  expect(fleet.stats.rejected).toBe(0)
  expect(fleet.stats.connects).toBe(2000) // nobody had to reconnect
  expect(progress).toMatch(/^connected 2000\/2000 \| \d+ msg\/s \| sent \d+ \| refused 0 \| errors 0/)
  const rejected =
    (await hub.hub.metrics.registry.getSingleMetric('zhian_mqtt_messages_rejected_total')?.get())?.values ??
    []
  expect(rejected.reduce((s, v) => s + v.value, 0)).toBe(0)
})
