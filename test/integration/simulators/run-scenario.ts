import fs from 'node:fs'
import path from 'node:path'
import { compressRules } from '../../../simulators/estate-gen.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import { findScenario, scenarioFleetOptions, scheduleScenario } from '../../../simulators/scenario-runner.ts'
import { parseDuration } from '../../../simulators/time.ts'
import { serializeEstate } from '../../../src/config/estate-file.ts'
import { buildHub, type TestHub, tempDir } from '../../helpers/hub.ts'

/**
 * Play a scenario at `speed` against a real hub whose rule durations are divided by the same factor
 * (compressRules), and return the alert types the hub raised.
 */
export async function playScenario(
  name: string,
  speed: number,
  options: { duration?: string } = {},
): Promise<{ raised: Set<string>; detail: string[]; hub: TestHub; fleet: Fleet }> {
  const scenario = findScenario(name)
  const base = scenarioFleetOptions(scenario)
  const fleet0 = new Fleet({ ...base }) // resolves `devices`: the estate the hub must know
  const estateFile = path.join(tempDir('zhian-scenario-'), `${name}.yaml`)
  fs.writeFileSync(estateFile, serializeEstate(compressRules(fleet0.estate, speed)))
  const hub = await buildHub({ estateFile })
  const raised = new Set<string>()
  const detail: string[] = []
  hub.hub.bus.on('alert', ({ alert, entry }) => {
    if (entry.action === 'raised' || entry.action === 'suppressed') {
      raised.add(alert.type)
      detail.push(`${alert.type} ${alert.device_id} ${alert.message.en}`)
    }
  })
  const fleet = new Fleet({ ...base, estate: fleet0.estate, devices: undefined, url: hub.mqttUrl, speed })
  scheduleScenario(fleet, scenario)
  await fleet.start()
  await fleet.waitConnected()
  fleet.clock.run()
  const wallMs = parseDuration(options.duration ?? scenario.duration) / speed
  await new Promise((r) => setTimeout(r, wallMs + 1500))
  await fleet.stop()
  return { raised, detail, hub, fleet }
}
