import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/**
 * A real influxd (the Debian package, 1.6.7 in CI) on free loopback ports with its own temp dir. No
 * test framework here: the test helper (influx.ts) and the benchmark (bench/history.ts) both use it.
 * When influxd is missing this throws — a test fails, it never skips (.ci/run installs `influxdb`).
 */

export const INFLUXD = process.env.ZHIAN_TEST_INFLUXD ?? '/usr/bin/influxd'

export interface Series {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values: unknown[][]
}

export interface Influxd {
  url: string
  port: number
  dir: string
  /** InfluxQL over /query; throws on any error in the response. Times are epoch ns. */
  query: (q: string, db?: string) => Promise<Series[]>
  /** Stop influxd (SIGTERM, then SIGKILL) and keep its data. */
  stop: () => Promise<void>
  /** Start it again on the same port with the same data. */
  start: () => Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** `onSpawn` / `onExit` let a caller track the process (the test helper stops strays after the file). */
export async function launchInfluxd(
  hooks: { onSpawn?: (p: ChildProcess) => void; onStop?: (p: ChildProcess) => void } = {},
): Promise<Influxd> {
  if (!fs.existsSync(INFLUXD)) {
    throw new Error(`${INFLUXD} not found: install the Debian package "influxdb" (.ci/run does)`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-influx-'))
  const port = await freePort()
  const rpcPort = await freePort()
  const config = execFileSync(INFLUXD, ['config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .replace(/^reporting-enabled = .*$/m, 'reporting-enabled = false')
    .replace(/^bind-address = .*$/m, `bind-address = "127.0.0.1:${rpcPort}"`)
    .replace(/dir = "\/var\/lib\/influxdb\/meta"/, `dir = "${dir}/meta"`)
    .replace(/dir = "\/var\/lib\/influxdb\/data"/, `dir = "${dir}/data"`)
    .replace(/wal-dir = "\/var\/lib\/influxdb\/wal"/, `wal-dir = "${dir}/wal"`)
    .replace(/query-log-enabled = true/, 'query-log-enabled = false')
    .replace(/store-enabled = true/, 'store-enabled = false')
    .replace(/(\[http\][^[]*?)bind-address = ":8086"/, `$1bind-address = "127.0.0.1:${port}"`)
    .replace(/(\[http\][^[]*?)log-enabled = true/, '$1log-enabled = false')
  const confFile = path.join(dir, 'influxdb.conf')
  fs.writeFileSync(confFile, config)
  const url = `http://127.0.0.1:${port}`
  let proc: ChildProcess | undefined

  const start = async () => {
    const log = fs.openSync(path.join(dir, 'influxd.log'), 'a')
    proc = spawn(INFLUXD, ['-config', confFile], { stdio: ['ignore', log, log] })
    fs.closeSync(log)
    hooks.onSpawn?.(proc)
    const end = Date.now() + 30_000
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(
          `influxd exited (${proc.exitCode}): ${fs.readFileSync(path.join(dir, 'influxd.log'), 'utf8').slice(-2000)}`,
        )
      }
      try {
        const res = await fetch(`${url}/ping`)
        if (res.status === 204) return
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error('influxd did not come up within 30 s')
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const stop = async () => {
    if (!proc) return
    const p = proc
    proc = undefined
    hooks.onStop?.(p)
    await stopProcess(p)
  }
  const query = async (q: string, db?: string): Promise<Series[]> => {
    const params = new URLSearchParams({ q, epoch: 'ns' })
    if (db) params.set('db', db)
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    })
    const body = (await res.json()) as { error?: string; results?: { error?: string; series?: Series[] }[] }
    if (!res.ok || body.error) throw new Error(`InfluxQL ${res.status}: ${body.error ?? ''} — ${q}`)
    const result = body.results?.[0]
    if (result?.error) throw new Error(`InfluxQL: ${result.error} — ${q}`)
    return result?.series ?? []
  }
  await start()
  return { url, port, dir, query, stop, start }
}

export async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
  p.kill('SIGTERM')
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
