import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { configFromEnv } from '../../../src/config/env.ts'
import { freePort, stopProcess } from '../../helpers/influxd.ts'
import { REDIS_SERVER } from '../../helpers/servers.ts'

/**
 * docker-compose.yml validated by Debian's docker-compose (installed by .ci/run; missing = failure),
 * the default services and the `cluster` profile, with deploy/cluster/haproxy.cfg and redis.conf.
 */

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../../..')
const HUBS = ['hub-1', 'hub-2', 'hub-3']

interface Service {
  image?: string
  build?: unknown
  profiles?: string[]
  command?: string[] | string
  environment?: Record<string, string>
  ports?: (string | { target: number; published?: number | string })[]
  volumes?: (string | { source?: string; target: string })[]
  healthcheck?: { test: string[] | string }
  depends_on?: Record<string, { condition: string }>
}

interface Compose {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

/** `docker-compose config` resolved as docker-compose itself reads it (anchors, variables, defaults). */
async function composeConfig(profile?: string): Promise<Compose> {
  const { stdout } = await run(
    'docker-compose',
    [...profileArgs(profile), '-f', 'docker-compose.yml', 'config'],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    },
  )
  return parse(stdout) as Compose
}

function profileArgs(profile?: string): string[] {
  return profile ? ['--profile', profile] : []
}

function service(config: Compose, name: string): Service {
  const s = config.services[name]
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`)
  return s
}

/** [source, target] of each mount; a bind mount's source is absolute in `config` output. */
function mounts(s: Service): [string, string][] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return [v.source ?? '', v.target]
    const [source = '', target = ''] = v.split(':')
    return [source, target]
  })
}

function containerPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)) : p.target))
}

describe('docker-compose.yml', () => {
  for (const profile of [undefined, 'cluster']) {
    it(`passes \`docker-compose config -q\`${profile ? ` with --profile ${profile}` : ''}`, async () => {
      const { stderr } = await run(
        'docker-compose',
        [...profileArgs(profile), '-f', 'docker-compose.yml', 'config', '-q'],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
      )
      expect(stderr).toBe('')
    })
  }

  it('wires the hub to InfluxDB 1.8 (v1 API) and Grafana to the provisioned dashboards, with volumes and healthchecks', async () => {
    const config = await composeConfig()
    const { hub, influxdb, grafana } = config.services
    expect(hub?.build).toBeDefined()
    expect(influxdb?.image).toBe('influxdb:1.8')
    expect(hub?.environment).toMatchObject({
      ZHIAN_INFLUX_URL: 'http://influxdb:8086',
      ZHIAN_INFLUX_API: 'v1',
    })
    expect(hub?.depends_on?.influxdb?.condition).toBe('service_healthy')
    for (const service of [hub, influxdb, grafana]) expect(service?.healthcheck?.test).toBeDefined()
    expect(Object.keys(config.volumes)).toEqual(
      expect.arrayContaining(['grafana-data', 'hub-data', 'influxdb-data']),
    )
    const targets = (grafana?.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target))
    expect(targets).toEqual(
      expect.arrayContaining([
        '/etc/grafana/provisioning',
        '/var/lib/grafana/dashboards/zhian',
        '/var/lib/grafana',
      ]),
    )
    expect(grafana?.environment?.ZHIAN_GRAFANA_INFLUX_URL).toBe('http://influxdb:8086')
  })

  it('starts what `docker-compose up` always started: one embedded hub, InfluxDB and Grafana, nothing of the cluster', async () => {
    const config = await composeConfig()
    const always = Object.entries(config.services).filter(([, s]) => !s.profiles?.length)
    expect(always.map(([name]) => name).sort()).toEqual(['grafana', 'hub', 'influxdb'])
    const hub = service(config, 'hub')
    expect(containerPorts(hub).sort()).toEqual([1883, 8080])
    expect(mounts(hub)).toEqual([['hub-data', '/data']])
    for (const name of ['ZHIAN_DATABASE_URL', 'ZHIAN_REDIS_URL', 'ZHIAN_NODE_ID'])
      expect(hub.environment).not.toHaveProperty(name)
    // Every cluster service waits for `--profile cluster`.
    for (const name of [...HUBS, 'postgres', 'redis', 'haproxy'])
      expect(service(config, name).profiles).toEqual(['cluster'])
  })

  it('cluster: three hubs with distinct node ids on the same PostgreSQL and Redis, the same estate file, a data volume each', async () => {
    const config = await composeConfig('cluster')
    const postgres = service(config, 'postgres')
    const redis = service(config, 'redis')
    expect(postgres.image).toBe('postgres:15')
    expect(redis.image).toBe('redis:7')
    for (const s of [postgres, redis]) {
      expect(s.healthcheck?.test).toBeDefined()
      expect(mounts(s).filter(([source]) => source in config.volumes)).toHaveLength(1)
      expect(s.ports ?? []).toEqual([])
    }
    const pg = postgres.environment ?? {}
    // A dead machine's session, and the estates its advisory locks hold, end in seconds (README "Cluster mode").
    const pgCommand = Array.isArray(postgres.command) ? postgres.command.join(' ') : (postgres.command ?? '')
    for (const setting of ['tcp_keepalives_idle=5', 'tcp_keepalives_interval=2', 'tcp_keepalives_count=3'])
      expect(pgCommand).toContain(`-c ${setting}`)
    const hubs = HUBS.map((name) => ({ name, s: service(config, name) }))
    const ids = hubs.map(({ s }) => s.environment?.ZHIAN_NODE_ID)
    expect(ids).toEqual(HUBS)
    const dataVolumes = new Set<string>()
    for (const { name, s } of hubs) {
      const env = s.environment ?? {}
      // The URLs name the services and the credentials PostgreSQL is created with.
      const db = new URL(env.ZHIAN_DATABASE_URL ?? '')
      expect([db.protocol, db.hostname, db.port, db.pathname]).toEqual([
        'postgres:',
        'postgres',
        '5432',
        '/zhian',
      ])
      expect([db.username, decodeURIComponent(db.password)]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD])
      expect(db.pathname.slice(1)).toBe(pg.POSTGRES_DB)
      expect(env.ZHIAN_REDIS_URL).toBe('redis://redis:6379')
      expect(s.depends_on?.postgres?.condition, name).toBe('service_healthy')
      expect(s.depends_on?.redis?.condition, name).toBe('service_healthy')
      expect(s.healthcheck?.test, name).toBeDefined()
      expect(s.ports ?? [], `${name}: only HAProxy publishes ports`).toEqual([])
      // What the hub itself makes of this environment: a cluster node with that id.
      const hubConfig = configFromEnv(env)
      expect(hubConfig.cluster).toEqual({ redisUrl: 'redis://redis:6379', nodeId: name })
      expect(hubConfig.databaseUrl).toBe(env.ZHIAN_DATABASE_URL)
      // Believes X-Forwarded-For from named addresses only, never from any peer or by hop count.
      expect(Array.isArray(hubConfig.http.trustProxy), name).toBe(true)
      const data = mounts(s).filter(([, target]) => target === '/data')
      expect(data).toHaveLength(1)
      dataVolumes.add(data[0]?.[0] ?? '')
      expect(config.volumes).toHaveProperty(data[0]?.[0] ?? '')
    }
    expect(dataVolumes.size).toBe(3)
    expect(dataVolumes.has('hub-data')).toBe(false)
    // The same file on every node, from the same place.
    expect(new Set(hubs.map(({ s }) => s.environment?.ZHIAN_CONFIG)).size).toBe(1)
    const estateMounts = hubs.map(({ s }) => JSON.stringify(mounts(s).filter(([, t]) => t !== '/data')))
    expect(new Set(estateMounts).size).toBe(1)
    expect(JSON.parse(estateMounts[0] ?? '[]')).toHaveLength(1)
    for (const { s } of hubs)
      expect(s.environment).toEqual({
        ...hubs[0]?.s.environment,
        ZHIAN_NODE_ID: s.environment?.ZHIAN_NODE_ID,
      })
  })

  it('cluster: HAProxy publishes MQTT, MQTTS and HTTP, and every backend of haproxy.cfg balances over all three hubs with health checks', async () => {
    const config = await composeConfig('cluster')
    const haproxy = service(config, 'haproxy')
    expect(haproxy.image).toBe('haproxy:2.8')
    const cfgMount = mounts(haproxy).find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg')
    expect(cfgMount?.[0]).toBe(path.join(ROOT, 'deploy/cluster/haproxy.cfg'))
    expect(containerPorts(haproxy)).toEqual(expect.arrayContaining([1883, 8883, 8080]))

    const cfg = parseHaproxy(fs.readFileSync(path.join(ROOT, 'deploy/cluster/haproxy.cfg'), 'utf8'))
    const frontends = cfg.filter((s) => s.kind === 'frontend')
    const backends = cfg.filter((s) => s.kind === 'backend')
    const byPort = (port: number) =>
      frontends.find((f) => f.lines.some((l) => new RegExp(`^bind \\S*:${port}\\b`).test(l)))
    const expected = [
      { port: 1883, mode: 'tcp' },
      { port: 8883, mode: 'tcp' },
      { port: 8080, mode: 'http' },
    ]
    for (const { port, mode } of expected) {
      const frontend = byPort(port)
      expect(frontend, `a frontend binds ${port}`).toBeDefined()
      expect(frontend?.lines).toContain(`mode ${mode}`)
      const backendName = frontend?.lines.find((l) => l.startsWith('default_backend '))?.split(/\s+/)[1]
      const backend = backends.find((b) => b.name === backendName)
      expect(backend, `${port} → backend ${backendName}`).toBeDefined()
      expect(backend?.lines).toContain(`mode ${mode}`)
      // Each hub at the port the frontend serves, by its compose service name.
      const servers = backend?.lines
        .filter((l) => l.startsWith('server '))
        .map((l) => l.split(/\s+/).slice(1, 3))
      expect(servers).toEqual(HUBS.map((h) => [h, `${h}:${port}`]))
    }
    expect(backends.length).toBeGreaterThan(0)
    for (const backend of backends) {
      const servers = backend.lines
        .filter((l) => l.startsWith('server '))
        .map((l) => l.split(/\s+/)[2]?.split(':')[0])
      expect(servers, `backend ${backend.name}`).toEqual(HUBS)
      for (const h of HUBS) expect(config.services).toHaveProperty(h)
      // Checked: `check` on every server (default-server or its own line), on /healthz.
      const checked = backend.lines.some((l) => /^default-server .*\bcheck\b/.test(l))
      for (const l of backend.lines.filter((x) => x.startsWith('server ')))
        expect(checked || /\bcheck\b/.test(l), `${backend.name}: ${l}`).toBe(true)
      expect(backend.lines.join('\n'), `backend ${backend.name} checks /healthz`).toMatch(
        /GET \/healthz|uri \/healthz/,
      )
    }
    const http = byPort(8080)?.lines ?? []
    // The hubs believe X-Forwarded-For (ZHIAN_TRUST_PROXY): HAProxy must set it, not append to what came.
    expect(http).toContain('http-request set-header X-Forwarded-For %[src]')
    expect(http.some((l) => l.startsWith('option forwardfor'))).toBe(false)
    const httpBackend = backends.find((b) => b.lines.includes('mode http'))
    // socket.io's WebSocket upgrades outlive an HTTP request.
    expect(httpBackend?.lines.some((l) => l.startsWith('timeout tunnel '))).toBe(true)
  })

  it('cluster: Redis runs deploy/cluster/redis.conf, and a real redis-server started with it fsyncs every write (appendfsync always) and never evicts', async () => {
    const config = await composeConfig('cluster')
    const redis = service(config, 'redis')
    const command = Array.isArray(redis.command) ? redis.command : (redis.command ?? '').split(/\s+/)
    expect(command[0]).toBe('redis-server')
    const confMount = mounts(redis).find(([, target]) => target === command[1])
    expect(confMount?.[0]).toBe(path.join(ROOT, 'deploy/cluster/redis.conf'))
    // Nothing on the command line overrides the file.
    expect(command.slice(2)).toEqual([])

    const text = fs.readFileSync(path.join(ROOT, 'deploy/cluster/redis.conf'), 'utf8')
    const directives = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    expect(directives).toContain('appendonly yes')
    expect(directives).toContain('appendfsync always')
    expect(directives.filter((l) => l.startsWith('appendfsync '))).toHaveLength(1)

    const live = await redisWith(path.join(ROOT, 'deploy/cluster/redis.conf'))
    try {
      expect(await live.client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always'])
      expect(await live.client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes'])
      expect(await live.client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction'])
      expect(await live.client.config('GET', 'no-appendfsync-on-rewrite')).toEqual([
        'no-appendfsync-on-rewrite',
        'no',
      ])
      // A stream entry (the shared log's shape) lands in the append-only file.
      await live.client.xadd('zhian:test', '*', 'reading', '{"ok":true}')
      const aof = fs.readdirSync(path.join(live.dir, 'appendonlydir'))
      const incr = aof.find((f) => f.endsWith('.incr.aof')) ?? ''
      expect(fs.readFileSync(path.join(live.dir, 'appendonlydir', incr), 'utf8')).toContain('{"ok":true}')
    } finally {
      await live.stop()
    }
  })
})

interface Section {
  kind: string
  name: string
  lines: string[]
}

/** haproxy.cfg as sections of trimmed directive lines (comments and blank lines dropped). */
function parseHaproxy(text: string): Section[] {
  const sections: Section[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    if (!line) continue
    if (/^\S/.test(raw)) {
      const [kind = '', name = ''] = line.split(/\s+/)
      sections.push({ kind, name, lines: [] })
    } else sections.at(-1)?.lines.push(line.replace(/\s+/g, ' '))
  }
  return sections
}

/** Debian's redis-server with the given file, in a temporary directory (its working directory, as /data is in the image). */
async function redisWith(conf: string): Promise<{ client: Redis; dir: string; stop: () => Promise<void> }> {
  if (!fs.existsSync(REDIS_SERVER))
    throw new Error(`${REDIS_SERVER} not found: install the Debian package "redis-server"`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-compose-redis-'))
  const port = await freePort()
  const proc = spawn(REDIS_SERVER, [conf, '--port', String(port), '--bind', '127.0.0.1'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes('Ready to accept connections')) resolve()
    }
    proc.stdout?.on('data', onData)
    proc.stderr?.on('data', onData)
    proc.once('exit', (code) =>
      reject(new Error(`redis-server exited (${code}) with ${conf}: ${output.slice(-2000)}`)),
    )
  })
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  return {
    client,
    dir,
    stop: async () => {
      client.disconnect()
      await stopProcess(proc)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
