import fs from 'node:fs'
import path from 'node:path'
import { Fleet } from '../../simulators/fleet.ts'
import {
  findScenario,
  REPO_ROOT,
  scenarioFleetOptions,
  scheduleScenario,
} from '../../simulators/scenario-runner.ts'
import { Hub } from '../app.ts'
import { configFromEnv } from '../config/env.ts'
import { recordPast } from './demo-history.ts'

/**
 * `zhian demo` (`npm run demo`): the hub with the demo estate, and the simulated estate playing the
 * demo scenario against it, in one process, from a fresh `data/demo` each time. Listens on localhost only, with fixed demo credentials
 * (override with the usual ZHIAN_* variables); prints the URLs, the login and each alert as it is
 * raised. Ctrl-C stops the devices (they say "offline"), then the hub.
 */

export const DEMO_PASSWORD = 'zhian-demo'
export const DEMO_API_TOKEN = 'zhian-demo-api-token'

export async function demoCommand(args: string[]): Promise<number> {
  const env = { ...process.env }
  env.ZHIAN_CONFIG ??= path.join(REPO_ROOT, 'simulators/estates/demo.yaml')
  const fresh = !env.ZHIAN_DATA_DIR
  if (fresh) {
    // Every demo starts from a clean slate, so it always plays the same way (alerts of a previous
    // run would still be open and not be raised again). A data dir you choose is left alone.
    env.ZHIAN_DATA_DIR = path.join(REPO_ROOT, 'data/demo')
    fs.rmSync(env.ZHIAN_DATA_DIR, { recursive: true, force: true })
  }
  env.ZHIAN_HTTP_HOST ??= '127.0.0.1'
  env.ZHIAN_MQTT_HOST ??= '127.0.0.1'
  env.ZHIAN_LOG_LEVEL ??= 'warn'
  env.ZHIAN_API_TOKEN ??= DEMO_API_TOKEN
  const scenario = findScenario(
    args.includes('--scenario') ? (args[args.indexOf('--scenario') + 1] ?? 'demo') : 'demo',
  )
  const speedArg = args.includes('--speed') ? Number(args[args.indexOf('--speed') + 1]) : 1

  const config = configFromEnv(env)
  // The demo estate is in Hangzhou: its simulated day (lift traffic, parking curves) follows the
  // estate's clock, not the machine's (often UTC on servers).
  process.env.TZ ??= config.reportTz ?? 'Asia/Shanghai'
  const adminPassword = env.ZHIAN_ADMIN_PASSWORD || DEMO_PASSWORD
  if (fresh && !args.includes('--no-past')) {
    // Last week and this week so far, recorded by the hub itself (demo-history.ts): the reports page's
    // default, last week, has something to show.
    const t0 = Date.now()
    const past = await recordPast(config, { to: t0, tz: config.reportTz ?? 'Asia/Shanghai', adminPassword })
    console.log(
      `  recorded the estate's past (since ${new Date(past.from).toISOString().slice(0, 10)}): ${past.alerts} alerts, ${past.workOrders} work orders, ${past.messages} readings in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    )
  }
  const hub = new Hub(config)
  hub.adminPassword = adminPassword
  await hub.start()
  const mqttUrl = `mqtt://127.0.0.1:${hub.broker.mqttPort}`
  const httpUrl = `http://localhost:${hub.httpPort}`

  const fleet = new Fleet({
    ...scenarioFleetOptions(scenario),
    url: mqttUrl,
    baseTopic: hub.config.baseTopic,
    start: Date.now(), // the demo lives in the present; the scenario's offsets still apply
    speed: speedArg > 0 ? speedArg : 1,
  })
  const offAlerts = hub.bus.on('alert', ({ alert, entry }) => {
    if (entry.action !== 'raised') return
    const time = new Date(entry.at).toTimeString().slice(0, 8)
    console.log(
      `  ${time}  ⚠ ${alert.severity.padEnd(8)} ${alert.type.padEnd(30)} ${alert.title.zh} · ${alert.message.zh}`,
    )
  })

  let stopping = false
  const finished = new Promise<number>((resolve) => {
    const stop = async () => {
      if (stopping) return
      stopping = true
      console.log('\n  stopping the simulated devices and the hub…')
      const force = setTimeout(() => process.exit(1), 15_000)
      force.unref()
      offAlerts()
      await fleet.stop()
      await hub.stop()
      console.log('  stopped.')
      resolve(0)
    }
    process.once('SIGINT', () => void stop())
    process.once('SIGTERM', () => void stop())
  })

  scheduleScenario(fleet, scenario)
  fleet.clock.run()
  await fleet.start()
  const password = hub.generatedAdminPassword ?? (env.ZHIAN_ADMIN_PASSWORD || DEMO_PASSWORD)
  console.log(
    [
      '',
      `  zhian demo — ${fleet.size} simulated devices of 闸弄口街道 (前新福苑 and three more estates), scenario "${scenario.name}" (×${fleet.clock.speed})`,
      `  dashboard   ${httpUrl}/   login admin / ${password}${fresh ? '' : ' (unless that data dir had an admin already)'}`,
      `              property manager wuye / zhian-demo, lift fitter fitter_wang / zhian-demo (crew app #/tasks)`,
      `  admin API   ${httpUrl}/api   token ${env.ZHIAN_API_TOKEN}`,
      `  MQTT        ${mqttUrl}   metrics ${httpUrl}/metrics`,
      '  alerts appear below as they are raised; Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  const progress = setInterval(() => {
    if (!stopping) console.log(`  · ${fleet.progress()}`)
  }, 60_000)
  progress.unref()
  const code = await finished
  clearInterval(progress)
  return code
}
