import fs from 'node:fs'
import path from 'node:path'
import { compressRules } from '../../../simulators/estate-gen.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import {
  findScenario,
  REPO_ROOT,
  scenarioFleetOptions,
  scheduleScenario,
} from '../../../simulators/scenario-runner.ts'
import { parseDuration } from '../../../simulators/time.ts'
import { serializeWithSections } from '../../../src/config/estate-file.ts'
import { buildHub, type TestHub, tempDir } from '../../helpers/hub.ts'

export interface ScenarioRun {
  /** Alert types raised (or raised and suppressed). */
  raised: Set<string>
  /** `<type> <device> <message>` per raise. */
  detail: string[]
  /** Raises per `<type> <device>`. */
  raises: Record<string, number>
  hub: TestHub
  fleet: Fleet
  /** Taken just before the fleet stopped: devices connected, as the fleet and the hub see them. */
  atEnd: { fleetConnected: number; hubConnections: number }
}

/**
 * Play a scenario at `speed` against a real hub whose rule durations are divided by the same factor
 * (compressRules), and return the alert types the hub raised.
 */
export async function playScenario(
  name: string,
  speed: number,
  options: { duration?: string } = {},
): Promise<ScenarioRun> {
  const scenario = findScenario(name)
  const base = scenarioFleetOptions(scenario)
  const fleet0 = new Fleet({ ...base }) // resolves `devices`: the estate the hub must know
  const estateFile = path.join(tempDir('zhian-scenario-'), `${name}.yaml`)
  fs.writeFileSync(
    estateFile,
    serializeWithSections(compressRules(fleet0.estate, speed), path.resolve(REPO_ROOT, scenario.estate)),
  )
  const hub = await buildHub({ estateFile })
  const raised = new Set<string>()
  const detail: string[] = []
  const raises: Record<string, number> = {}
  hub.hub.bus.on('alert', ({ alert, entry }) => {
    if (entry.action === 'raised' || entry.action === 'suppressed') {
      raised.add(alert.type)
      detail.push(`${alert.type} ${alert.device_id} ${alert.message.en}`)
      const key = `${alert.type} ${alert.device_id}`
      raises[key] = (raises[key] ?? 0) + 1
    }
  })
  const fleet = new Fleet({ ...base, estate: fleet0.estate, devices: undefined, url: hub.mqttUrl, speed })
  scheduleScenario(fleet, scenario)
  await fleet.start()
  await fleet.waitConnected(fleet.size, 120_000)
  fleet.clock.run()
  const wallMs = parseDuration(options.duration ?? scenario.duration) / speed
  await new Promise((r) => setTimeout(r, wallMs + 1500))
  const atEnd = {
    fleetConnected: fleet.stats.connected,
    hubConnections: (await hub.hub.metrics.connections.get()).values[0]?.value ?? 0,
  }
  await fleet.stop()
  return { raised, detail, raises, hub, fleet, atEnd }
}
