import { spawn } from 'node:child_process'
import path from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { ClusterReport } from '../../../src/cli/cluster.ts'
import { FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { startRedis } from '../../helpers/redis.ts'

/**
 * `zhian cluster status` against two real hub processes in cluster mode (real PostgreSQL and Redis):
 * what an operator or a monitoring check sees while both run, and after both stopped.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..')
const ESTATE = path.join(FIXTURES, 'small-estate.yaml')

function zhian(env: Record<string, string | undefined>, ...args: string[]) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ZHIAN_LOG_LEVEL: 'warn', ...env },
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

async function leads(node: HubProcess): Promise<boolean> {
  try {
    const health = (await (await fetch(`${node.httpUrl}/healthz`)).json()) as {
      cluster?: { leader: boolean }
    }
    return health.cluster?.leader === true
  } catch {
    return false
  }
}

describe('zhian cluster status', () => {
  it('lists both nodes of a running cluster with exactly one leader and the rules caught up on the log (exit 0); once both stopped, neither alive and no leader (exit 1)', {
    timeout: 120_000,
  }, async () => {
    const redis = await startRedis()
    const db = await freshDatabase()
    const cluster = { ZHIAN_DATABASE_URL: db, ZHIAN_REDIS_URL: redis.url }
    const nodes: Record<string, HubProcess> = {}
    for (const id of ['a', 'b']) {
      nodes[id] = await startHubProcess({
        ...cluster,
        ZHIAN_NODE_ID: id,
        ZHIAN_DATA_DIR: tempDir(`zhian-${id}-`),
        ZHIAN_CONFIG: ESTATE,
      })
    }
    const leader = await until(async () => {
      const leading = []
      for (const [id, n] of Object.entries(nodes)) if (await leads(n)) leading.push(id)
      return leading.length === 1 ? leading[0] : undefined
    }, 'one leader')

    // A reading through the follower: it is in the shared log, and the leader's rules apply it.
    const follower = leader === 'a' ? nodes.b! : nodes.a!
    const mh = await mqtt.connectAsync(follower.mqttUrl, {
      username: 'mh1',
      password: 'mh1-secret-00001',
      reconnectPeriod: 0,
    })
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: false }), { qos: 1 })
    await mh.endAsync()

    const status = async () => {
      const r = await zhian(cluster, 'cluster', 'status', '--json')
      return { code: r.code, report: JSON.parse(r.out) as ClusterReport, err: r.err }
    }
    const running = await until(
      async () => {
        const s = await status()
        return 'entries' in s.report.log && s.report.log.entries >= 1 && s.report.log.rules_lag === 0
          ? s
          : undefined
      },
      'the reading in the log, applied by the rules',
      30_000,
    )
    expect(running.code, running.err).toBe(0)
    expect(running.report.ok).toBe(true)
    expect(running.report.leader).toBe(leader)
    expect(running.report.nodes.map((n) => [n.id, n.http_url, n.alive])).toEqual([
      ['a', nodes.a!.httpUrl, true],
      ['b', nodes.b!.httpUrl, true],
    ])
    expect(running.report.nodes.filter((n) => n.leader).map((n) => n.id)).toEqual([leader])
    expect(running.report.log).toMatchObject({ rules_lag_capped: false })

    // The same as text, for a person.
    const text = await zhian(cluster, 'cluster', 'status')
    expect(text.code).toBe(0)
    expect(text.out).toMatch(
      new RegExp(`^${leader}\\s+http://127\\.0\\.0\\.1:\\d+\\s+yes\\s+yes\\s+[\\d.]+ s ago$`, 'm'),
    )
    expect(text.out).toContain(`leader: ${leader}`)
    expect(text.out).toMatch(/shared log: \d+ entries; rules' lag: 0 entries/)

    for (const n of Object.values(nodes)) expect(await n.stop()).toBe(0)
    const stopped = await status()
    expect(stopped.code).toBe(1)
    expect(stopped.report.ok).toBe(false)
    expect(stopped.report.leader).toBeNull()
    expect(stopped.report.nodes.map((n) => [n.id, n.alive, n.leader])).toEqual([
      ['a', false, false],
      ['b', false, false],
    ])
    const stoppedText = await zhian(cluster, 'cluster', 'status')
    expect(stoppedText.code).toBe(1)
    expect(stoppedText.out).toContain('leader: NONE alive')
  })

  it('with Redis gone the check fails and says so (exit 1); without the cluster’s URLs it says which is missing (exit 2)', {
    timeout: 60_000,
  }, async () => {
    const redis = await startRedis()
    const db = await freshDatabase()
    await redis.stop()
    const r = await zhian({ ZHIAN_DATABASE_URL: db, ZHIAN_REDIS_URL: redis.url }, 'cluster', 'status')
    expect(r.code).toBe(1)
    expect(r.out).toContain('no node has joined this cluster yet')
    expect(r.out).toContain(`shared log: UNREACHABLE (Redis at ${redis.url}`)
    const noRedis = await zhian({ ZHIAN_DATABASE_URL: db, ZHIAN_REDIS_URL: undefined }, 'cluster', 'status')
    expect(noRedis.code).toBe(2)
    expect(noRedis.err).toContain('ZHIAN_REDIS_URL is not set')
  })
})
