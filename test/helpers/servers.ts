import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort, stopProcess } from './influxd.ts'

/**
 * Real Redis and PostgreSQL servers (Debian's `redis-server` and `postgresql`) on free loopback
 * ports, each in its own temporary directory. No test framework here: the test helpers (redis.ts,
 * postgres.ts), the suite's PostgreSQL run (postgres-suite.ts) and the benchmark use them. A missing
 * server throws — the test fails, it never skips (.ci/run installs both packages).
 */

export interface Server {
  url: string
  port: number
  dir: string
  /** Stop (SIGTERM, then SIGKILL); the data stays. */
  stop: () => Promise<void>
  /** Start again on the same port with the same data. */
  start: () => Promise<void>
}

type Hooks = {
  onSpawn?: (p: ChildProcess) => void
  onStop?: (p: ChildProcess) => void
  /**
   * PostgreSQL: false turns fsync and synchronous commit off — for the test suite's servers, which
   * are never killed themselves (the hubs are), so a commit the server answered is never lost there;
   * the benchmark keeps the default (on) to measure what a real server costs.
   */
  durable?: boolean
}

export const REDIS_SERVER = process.env.ZHIAN_TEST_REDIS_SERVER ?? '/usr/bin/redis-server'

/**
 * Redis as a cluster needs it: append-only file fsynced before every reply (`appendfsync always`),
 * so what the shared log acknowledged survives a crash of Redis itself.
 */
export async function launchRedis(hooks: Hooks = {}): Promise<Server> {
  if (!fs.existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} not found: install the Debian package "redis-server" (.ci/run does)`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-redis-'))
  const port = await freePort()
  const conf = path.join(dir, 'redis.conf')
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync always',
      'save ""',
      'daemonize no',
      `logfile ${path.join(dir, 'redis.log')}`,
    ].join('\n'),
  )
  let proc: ChildProcess | undefined
  const start = async () => {
    proc = spawn(REDIS_SERVER, [conf], { stdio: 'ignore' })
    hooks.onSpawn?.(proc)
    await waitForPort(port, proc, 'redis-server', path.join(dir, 'redis.log'))
  }
  const stop = async () => {
    if (!proc) return
    const p = proc
    proc = undefined
    hooks.onStop?.(p)
    await stopProcess(p)
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, dir, start, stop }
}

export const PG_BIN = process.env.ZHIAN_TEST_PG_BIN ?? pgBin()

function pgBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  return path.join(root, versions[0] ?? '15', 'bin')
}

/**
 * PostgreSQL with a trust login for `zhian` on loopback only. initdb refuses to run as root, so
 * when the tests run as root the cluster belongs to the `postgres` system user (the package creates
 * it) and the server runs as that user.
 */
export async function launchPostgres(hooks: Hooks = {}): Promise<Server> {
  const initdb = path.join(PG_BIN, 'initdb')
  if (!fs.existsSync(initdb)) {
    throw new Error(`${initdb} not found: install the Debian package "postgresql" (.ci/run does)`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-pg-'))
  const data = path.join(dir, 'data')
  const port = await freePort()
  const asUser = process.getuid?.() === 0 ? systemUser('postgres') : undefined
  if (asUser) fs.chownSync(dir, asUser.uid, asUser.gid)
  const run = { uid: asUser?.uid, gid: asUser?.gid }
  execFileSync(initdb, ['-D', data, '-A', 'trust', '-U', 'zhian', '-E', 'UTF8', '--locale=C.UTF-8'], {
    ...run,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'max_connections = 300',
      `fsync = ${hooks.durable === false ? 'off' : 'on'}`,
      `synchronous_commit = ${hooks.durable === false ? 'off' : 'on'}`,
      `full_page_writes = ${hooks.durable === false ? 'off' : 'on'}`,
      // Many short-lived test databases: keep each one small and quick to create.
      'shared_buffers = 64MB',
      "log_min_messages = 'warning'",
    ].join('\n'),
  )
  if (asUser) fs.chownSync(path.join(data, 'postgresql.conf'), asUser.uid, asUser.gid)
  let proc: ChildProcess | undefined
  const log = path.join(dir, 'postgres.log')
  const start = async () => {
    const out = fs.openSync(log, 'a')
    if (asUser) fs.fchownSync(out, asUser.uid, asUser.gid)
    proc = spawn(path.join(PG_BIN, 'postgres'), ['-D', data], { ...run, stdio: ['ignore', out, out] })
    fs.closeSync(out)
    hooks.onSpawn?.(proc)
    await waitForPort(port, proc, 'postgres', log)
    // Accepting TCP comes before accepting logins during recovery: wait for a real query.
    const end = Date.now() + 30_000
    for (;;) {
      try {
        execFileSync(
          path.join(PG_BIN, 'psql'),
          ['-h', '127.0.0.1', '-p', String(port), '-U', 'zhian', '-d', 'postgres', '-Atc', 'SELECT 1'],
          {
            stdio: 'ignore',
          },
        )
        return
      } catch {
        if (Date.now() > end) throw new Error(`postgres did not accept logins within 30 s: ${tail(log)}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
  const stop = async () => {
    if (!proc) return
    const p = proc
    proc = undefined
    hooks.onStop?.(p)
    // SIGINT: PostgreSQL's "fast" shutdown (SIGTERM is "smart" and waits for every session to end).
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
      p.kill('SIGINT')
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  await start()
  return { url: `postgres://zhian@127.0.0.1:${port}/postgres`, port, dir, start, stop }
}

/** `psql -c` against a server (setup and inspection in tests). */
export function psql(url: string, sql: string): string {
  const u = new URL(url)
  return execFileSync(
    path.join(PG_BIN, 'psql'),
    [
      '-h',
      u.hostname,
      '-p',
      u.port,
      '-U',
      decodeURIComponent(u.username),
      '-d',
      u.pathname.slice(1) || 'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-Atc',
      sql,
    ],
    { encoding: 'utf8' },
  ).trim()
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`))
  if (!line) throw new Error(`tests run as root need the "${name}" user (the postgresql package creates it)`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

async function waitForPort(port: number, proc: ChildProcess, name: string, log: string): Promise<void> {
  const end = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${tail(log)}`)
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > end) throw new Error(`${name} did not come up within 30 s: ${tail(log)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000)
  } catch {
    return ''
  }
}
