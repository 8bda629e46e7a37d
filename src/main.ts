import { Hub } from './app.ts'
import { clusterCommand } from './cli/cluster.ts'
import { demoCommand } from './cli/demo.ts'
import { deviceCommand } from './cli/device.ts'
import { modelsCommand } from './cli/models.ts'
import { reportCommand } from './cli/report.ts'
import { simulateCommand } from './cli/simulate.ts'
import { storeCommand } from './cli/store.ts'
import { userCommand } from './cli/user.ts'
import { configFromEnv } from './config/env.ts'
import { loadEstateFile, serializeEstate, serializeWithSections } from './config/estate-file.ts'
import { Bus } from './core/bus.ts'
import { ERRORS, ZhianError } from './errors.ts'
import { Registry } from './registry/registry.ts'
import { openDb } from './store/db.ts'
import { writeInitialCredentials } from './util/secrets.ts'

/** The process: read the environment, run one command, turn signals into a graceful stop. */

const USAGE = `zhian — smart-safe estate hub

  zhian start                         run the hub (config from ZHIAN_* environment variables)
  zhian device add --id ID --kind KIND --estate ESTATE [--building B] [--name N] [--location L] [--secret-stdin | --secret-file F]
                    [--model VENDOR/MODEL] [--dev-eui EUI] [--imei IMEI] [--platform-device-id ID]
  zhian device list [--json]
  zhian device remove ID
  zhian device import FILE.csv        columns: id,kind,estate,building,name,location,secret[,model,dev_eui,imei,platform_device_id]
  zhian models list [--json]          device models (型号): kind, transports
  zhian cluster status [--json]       cluster mode: nodes, leader, shared log (ZHIAN_DATABASE_URL, ZHIAN_REDIS_URL)
  zhian store migrate --from DIR      copy an embedded store (DIR/zhian.db) into ZHIAN_DATABASE_URL
  zhian user add USERNAME --role admin|manager|crew|viewer [--scope SITE] [--team CREW] [--password-stdin | --password-file F]
  zhian user passwd USERNAME [--password-stdin | --password-file F]
  zhian user remove USERNAME | zhian user list
  zhian config check FILE.yaml        validate an estate file
  zhian config export                 print the store as an estate file (secrets as hashes)
  zhian report --scope SITE --period week --out FILE.xlsx   one-click report (zhian report --help)
  zhian demo [--scenario NAME] [--speed N]   hub + simulated demo estate with alerts (npm run demo)
  zhian simulate [--scenario NAME] [--speed N] [--devices N] …   simulated devices (zhian simulate --help)
`

async function startHub(): Promise<number> {
  const hub = new Hub(configFromEnv())
  hub.adminPassword = process.env.ZHIAN_ADMIN_PASSWORD || undefined
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    hub.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 15_000)
    force.unref()
    await hub.stop()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  // A cluster leader whose store session ended must not act on: exit, and let the supervisor restart it.
  hub.onLost = (err) => {
    hub.log.fatal({ err: err.message }, 'the store session that held the cluster lead ended: exiting')
    process.exit(75)
  }
  await hub.start()
  const credentials = saveGeneratedCredentials(hub)
  const host = hub.config.http.host === '0.0.0.0' ? 'localhost' : hub.config.http.host
  console.log(
    [
      '',
      `  zhian hub up — MQTT mqtt://localhost:${hub.broker.mqttPort}  (WebSocket ws://${host}:${hub.httpPort}/mqtt)`,
      hub.broker.tlsPort ? `  MQTT over TLS on port ${hub.broker.tlsPort}` : '',
      `  HTTP http://${host}:${hub.httpPort}  (/healthz, /metrics, /api)`,
      `  dashboard http://${host}:${hub.httpPort}/`,
      credentials
        ? `  generated credentials written to ${credentials} (owner-only; read it, then delete it)`
        : '',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  )
  return new Promise(() => {}) // run until a signal
}

/**
 * A first start generates the admin API token and the `admin` password: they go to a 0600 file in
 * the data directory, not to stdout or the log, which end up in journald, docker logs and CI output.
 */
function saveGeneratedCredentials(hub: Hub): string | undefined {
  const lines = [
    hub.generatedApiToken ? `admin API token: ${hub.generatedApiToken}` : '',
    hub.generatedAdminPassword
      ? `dashboard login: admin / ${hub.generatedAdminPassword}   (zhian user passwd admin to change)`
      : '',
  ].filter((l) => l !== '')
  if (lines.length === 0) return undefined
  const file = writeInitialCredentials(hub.config.dataDir, lines)
  hub.log.warn({ file }, 'generated credentials written to this file (owner-only): read it, then delete it')
  return file
}

async function configCommand(args: string[]): Promise<number> {
  const [action, file] = args
  if (action === 'check' && file) {
    const estate = loadEstateFile(file)
    console.log(`${file}: ok (${estate.sites.length} top-level sites, ${estate.devices.length} devices)`)
    return 0
  }
  if (action === 'export') {
    const config = configFromEnv()
    const db = openDb(config.dataDir, config.databaseUrl)
    const registry = new Registry(db, new Bus())
    registry.open()
    const estate = registry.exportEstate()
    // Dispatch and report sections live in the estate file, not the store: carried over as written.
    process.stdout.write(
      config.estateFile ? serializeWithSections(estate, config.estateFile) : serializeEstate(estate),
    )
    db.close()
    return 0
  }
  console.error('usage: zhian config check FILE | zhian config export')
  return 2
}

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv
  switch (command) {
    case 'start':
      return startHub()
    case 'device':
      return deviceCommand(configFromEnv(), rest)
    case 'user':
      return userCommand(configFromEnv(), rest)
    case 'config':
      return configCommand(rest)
    case 'report':
      return reportCommand(configFromEnv(), rest)
    case 'models':
      return modelsCommand(rest)
    case 'cluster':
      return clusterCommand(configFromEnv(), rest)
    case 'store':
      return storeCommand(configFromEnv(), rest)
    case 'simulate':
      return simulateCommand(rest)
    case 'demo':
      return demoCommand(rest)
    case 'help':
    case '--help':
      console.log(USAGE)
      return 0
    default:
      console.error(USAGE)
      return 2
  }
}

/**
 * Exits once stdout and stderr are flushed. A pipe whose reader is slow fills up and Node queues
 * the rest of the output; process.exit() right away would drop it (a `--dry-run` timeline lost
 * its tail under CI load).
 */
/** ENOSPC / EDQUOT from Node, SQLITE_FULL from better-sqlite3: said in one line, not a stack trace. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL'
}

function exitFlushed(code: number): void {
  let pending = 2
  const done = () => {
    if (--pending === 0) process.exit(code)
  }
  process.stdout.write('', done)
  process.stderr.write('', done)
}

main(process.argv.slice(2)).then(exitFlushed, (err: unknown) => {
  if (err instanceof ZhianError) console.error(`${err.code}: ${err.message}`)
  else if (isDiskFull(err))
    console.error(`ZHIAN_ERR_DISK_FULL: ${ERRORS.ZHIAN_ERR_DISK_FULL.en} (${String(err)})`)
  else console.error(err)
  exitFlushed(1)
})
