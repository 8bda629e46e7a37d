import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { compressRules, generateEstate } from '../../simulators/estate-gen.ts'
import { Fleet } from '../../simulators/fleet.ts'
import { runLoad } from '../../simulators/loadgen.ts'
import { runPlatformDrive } from '../../simulators/platforms/drive.ts'
import {
  findScenario,
  REPO_ROOT,
  scenarioFleetOptions,
  scheduleScenario,
} from '../../simulators/scenario-runner.ts'
import { SCENARIOS } from '../../simulators/scenarios/index.ts'
import { parseDuration } from '../../simulators/time.ts'
import { loadEstateFile, serializeWithSections } from '../config/estate-file.ts'
import { DEMO_API_TOKEN } from './demo.ts'
import {
  compareAlerts,
  connectedDevices,
  expectedAlerts,
  type HubLink,
  hubToken,
  raisedSince,
} from './simulate-hub.ts'

/**
 * `zhian simulate`: simulated devices against any MQTT broker (default: a hub on localhost), a
 * scenario, a speed factor, scale, dry runs, scaled estate files and the load generator.
 * Documented with examples in simulators/README.md.
 */

export const SIMULATE_USAGE = `zhian simulate — devices without hardware

  zhian simulate [--estate FILE] [--url mqtt://HOST:1883] [--scenario NAME] [--speed N]
                 [--devices N] [--duration 30m] [--seed N] [--fault-rate R] [--qos 0|1]
                 [--ts] [--no-seq] [--connect-rate N] [--malformed] [--quiet]
                 [--base-topic zhian] [--ca FILE | --insecure]   (mqtts:// with a private CA / self-signed)
  zhian simulate --dry-run [--scenario NAME] [--duration 10m]    print the timeline as JSON lines, no broker
  zhian simulate --generate-estate N [--estate BASE] > big.yaml  a scaled estate file (BASE + synthesised devices)
  zhian simulate --rules-speed N [--generate-estate M] > x.yaml  the estate with every rule duration ÷ N (for --speed N)
  zhian simulate --load --publishers N [--qos 0|1] [--inflight K] [--duration 10s] [--url …]
                                                                 closed-loop load generator, JSON report on stdout
  zhian simulate --platforms [--estate FILE] [--http http://localhost:8080] [--ns-url mqtt://HOST:1884]
                  [--interval 30s] [--duration 10m]              devices with a model, over ChirpStack / CTWing / OneNET
  zhian simulate --list                                          list the scenarios

  Against a zhian hub, --http URL (default http://localhost:ZHIAN_HTTP_PORT) and --token (default
  ZHIAN_API_TOKEN, else the one in ZHIAN_DATA_DIR's initial-credentials.txt, else the demo's) let it refuse devices another simulator already drives (--force
  drives them anyway) and, with --scenario, print the alerts expected against those the hub raised.
`

const DEFAULT_ESTATE = 'simulators/estates/demo.yaml'

export async function simulateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      estate: { type: 'string' },
      url: { type: 'string' },
      scenario: { type: 'string' },
      speed: { type: 'string' },
      devices: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      'fault-rate': { type: 'string' },
      qos: { type: 'string' },
      ts: { type: 'boolean' },
      'no-seq': { type: 'boolean' },
      'connect-rate': { type: 'string' },
      'base-topic': { type: 'string' },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      malformed: { type: 'boolean' },
      quiet: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'generate-estate': { type: 'string' },
      'rules-speed': { type: 'string' },
      load: { type: 'boolean' },
      publishers: { type: 'string' },
      inflight: { type: 'string' },
      list: { type: 'boolean' },
      platforms: { type: 'boolean' },
      http: { type: 'string' },
      'ns-url': { type: 'string' },
      interval: { type: 'string' },
      token: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(SIMULATE_USAGE)
    return 0
  }
  const num = (name: string, v: string | undefined, fallback?: number) => {
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number, got "${v}"`)
    return n
  }
  const estatePath = (p: string) => (path.isAbsolute(p) || fs.existsSync(p) ? p : path.resolve(REPO_ROOT, p))

  if (values.list) {
    for (const s of Object.values(SCENARIOS)) {
      console.log(
        `${s.name.padEnd(16)} ${s.title}\n${''.padEnd(16)} expects: ${s.expect.join(', ') || '(no alerts)'}`,
      )
    }
    return 0
  }

  if (values['generate-estate'] !== undefined || values['rules-speed'] !== undefined) {
    const baseFile = estatePath(values.estate ?? DEFAULT_ESTATE)
    const base = loadEstateFile(baseFile)
    const total = num('generate-estate', values['generate-estate'], base.devices.length)!
    let estate = generateEstate(Math.floor(total), base)
    const rulesSpeed = num('rules-speed', values['rules-speed'])
    if (rulesSpeed) estate = compressRules(estate, rulesSpeed)
    process.stdout.write(serializeWithSections(estate, baseFile))
    return 0
  }

  if (values.platforms) {
    return runPlatformDrive({
      estate: loadEstateFile(estatePath(values.estate ?? DEFAULT_ESTATE)),
      httpUrl: values.http ?? `http://localhost:${process.env.ZHIAN_HTTP_PORT ?? 8080}`,
      nsUrl: values['ns-url'],
      intervalMs: parseDuration(values.interval ?? '30s'),
      durationMs: values.duration ? parseDuration(values.duration) : undefined,
      log: (line) => {
        if (!values.quiet) process.stderr.write(`[sim] ${line}\n`)
      },
    })
  }

  const baseTopic = values['base-topic'] ?? process.env.ZHIAN_BASE_TOPIC ?? 'zhian'
  const url = values.url ?? `mqtt://localhost:${process.env.ZHIAN_MQTT_PORT ?? 1883}`
  const qos = num('qos', values.qos, 1) === 0 ? 0 : 1

  if (values.load) {
    const report = await runLoad({
      url,
      estate: loadEstateFile(estatePath(values.estate ?? DEFAULT_ESTATE)),
      publishers: Math.floor(num('publishers', values.publishers, 10)!),
      qos,
      inflight: Math.floor(num('inflight', values.inflight, 1)!),
      durationMs: parseDuration(values.duration ?? '10s'),
      connectRate: num('connect-rate', values['connect-rate'], 500)!,
      baseTopic,
      seed: num('seed', values.seed, 1)!,
    })
    console.log(JSON.stringify(report))
    return report.connected === report.publishers ? 0 : 1
  }

  const scenario = values.scenario ? findScenario(values.scenario) : undefined
  const fromScenario = scenario ? scenarioFleetOptions(scenario) : undefined
  const estate = values.estate
    ? loadEstateFile(estatePath(values.estate))
    : (fromScenario?.estate ?? loadEstateFile(estatePath(DEFAULT_ESTATE)))
  const dryRun = values['dry-run'] ?? false
  const quiet = values.quiet ?? dryRun
  const fleet = new Fleet({
    ...fromScenario,
    estate,
    // At ×1 the scenario's clock is the hub's: it starts now (steps keep their offsets), so times of
    // day, dwell times and the hub's rule hold times agree. At another speed, see the note below.
    ...(scenario && !dryRun && num('speed', values.speed, 1) === 1 ? { start: Date.now() } : {}),
    url: dryRun ? undefined : url,
    record: (m) =>
      process.stdout.write(
        `${JSON.stringify({ at: new Date(m.t).toISOString(), topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain })}\n`,
      ),
    baseTopic,
    speed: num('speed', values.speed, 1)!,
    devices: num('devices', values.devices, fromScenario?.devices),
    seed: num('seed', values.seed, fromScenario?.seed ?? 1)!,
    faultRate: num('fault-rate', values['fault-rate'], fromScenario?.faultRate ?? 0.5)!,
    ts: values.ts ?? false,
    seq: !values['no-seq'],
    qos,
    connectRate: num('connect-rate', values['connect-rate'], 200)!,
    malformed: values.malformed ?? false,
    mqttOptions: {
      ...(values.ca ? { ca: fs.readFileSync(values.ca) } : {}),
      ...(values.insecure ? { rejectUnauthorized: false } : {}),
    },
  })
  const log = (line: string) => {
    if (!quiet)
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}[sim ${clockOf(fleet.clock.now())}] ${line}\n`)
  }
  if (fleet.skippedIds.length > 0)
    log(`${fleet.skippedIds.length} devices have only secret_hash in the estate file; not simulated`)
  // A scenario stops at its end unless told otherwise.
  const durationMs = values.duration
    ? parseDuration(values.duration)
    : scenario
      ? parseDuration(scenario.duration)
      : undefined

  if (dryRun) {
    await fleet.start()
    if (scenario) scheduleScenario(fleet, scenario)
    fleet.clock.advance(durationMs ?? parseDuration('10m'))
    await fleet.stop()
    return 0
  }

  const hub: HubLink = {
    http: (values.http ?? `http://localhost:${process.env.ZHIAN_HTTP_PORT ?? 8080}`).replace(/\/$/, ''),
    token: hubToken(values.token, process.env, DEMO_API_TOKEN),
  }
  const ids = fleet.resolve('*')
  let hubAnswers = true
  try {
    const busy = await connectedDevices(hub, ids)
    if (busy.length > 0 && !values.force) {
      process.stderr.write(
        `zhian simulate: ${busy.length} of these ${ids.length} devices are already connected to the hub at ${hub.http} ` +
          `(${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''}): another simulator (npm run demo?) drives them, and two ` +
          "fleets on the same ids take each other's connections (flapping alerts). Stop it, simulate other devices " +
          '(--estate FILE, e.g. from --generate-estate on a hub that loaded it), or pass --force.\n',
      )
      return 2
    }
  } catch (err) {
    hubAnswers = false
    log(
      `could not ask the hub at ${hub.http} which devices are connected (${(err as Error).message}); give --http and --token to check`,
    )
  }
  const speed = fleet.clock.speed
  if (speed !== 1)
    log(
      `×${speed}: the hub keeps wall time, so what lasts 5 minutes here lasts ${Math.round(300 / speed)} s of the hub's time, ` +
        `under its rules' hold times. Start that hub on the estate with rule durations ÷ ${speed}: ` +
        `zhian simulate --rules-speed ${speed} > x${speed}.yaml; ZHIAN_CONFIG=x${speed}.yaml zhian start`,
    )
  log(
    `${fleet.size} devices → ${url}${scenario ? `, scenario ${scenario.name} (${scenario.duration})` : ''}, speed ×${speed}`,
  )
  const runStart = Date.now()
  if (scenario) scheduleScenario(fleet, scenario, log)
  fleet.clock.run()
  const started = fleet.start()
  const progress = setInterval(
    () => {
      if (quiet) return
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${fleet.progress()}`)
      else process.stderr.write(`${fleet.progress()}\n`)
    },
    process.stderr.isTTY ? 1000 : 10_000,
  )
  await new Promise<void>((resolve) => {
    const done = () => resolve()
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
    if (durationMs !== undefined) fleet.clock.after(durationMs, done)
  })
  clearInterval(progress)
  await started
  log(`stopping: ${fleet.progress()}`)
  await fleet.stop()
  if (!scenario) return 0
  if (!hubAnswers) {
    log('no summary of the alerts: the hub did not answer')
    return 0
  }
  const expected = expectedAlerts(scenario, (target) => fleet.resolve(target))
  const raised = await raisedSince(hub, runStart, new Set(ids))
  const summary = compareAlerts(scenario, expected, raised)
  process.stdout.write(`${summary.lines.join('\n')}\n`)
  return summary.ok ? 0 : 1
}

function clockOf(t: number): string {
  return new Date(t).toTimeString().slice(0, 8)
}
