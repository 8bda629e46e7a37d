import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { copyStore, MODULES } from '../../../src/cli/store.ts'
import type { WorkOrder, WorkOrderEvent } from '../../../src/dispatch/types.ts'
import { MIGRATIONS as PLAN_MIGRATIONS } from '../../../src/plans/plans.ts'
import { REGISTRY_MIGRATIONS } from '../../../src/registry/schema.ts'
import { migrate } from '../../../src/store/db.ts'
import { openPostgres } from '../../../src/store/postgres.ts'
import { openSqlite } from '../../../src/store/sqlite.ts'
import { API_TOKEN, FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { psql } from '../../helpers/servers.ts'

/**
 * `zhian store migrate --from DIR`: an embedded hub's SQLite store (made by a real hub process and the
 * CLI, always on SQLite: ZHIAN_TEST_POSTGRES emptied) copied into a new PostgreSQL database, then a
 * hub on that database with the same data directory and estate shows what people made on the old one.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..')
const ESTATE = path.join(FIXTURES, 'dispatch-estate.yaml')
/** The source is SQLite in either run of the suite. */
const EMBEDDED = { ZHIAN_TEST_POSTGRES: '' }

/** `zhian …` with `input` on its standard input; an `env` value undefined leaves that variable unset. */
function zhian(env: Record<string, string | undefined>, input: string, ...args: string[]) {
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
    child.stdin.end(input)
  })
}

function api(hub: HubProcess, pathname: string, body?: unknown): Promise<Response> {
  return fetch(`${hub.httpUrl}${pathname}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

async function json<T>(res: Promise<Response>): Promise<T> {
  const r = await res
  if (r.status !== 200) throw new Error(`${r.url}: ${r.status} ${await r.text()}`)
  return (await r.json()) as T
}

function login(hub: HubProcess, username: string, password: string): Promise<Response> {
  return fetch(`${hub.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
}

type AlertDetail = Alert & { audit: { action: string; actor: string; note: string | null }[] }
type WorkOrderDetail = WorkOrder & { events: WorkOrderEvent[] }

const COUNTED = [
  'alerts',
  'alert_audit',
  'work_orders',
  'work_order_events',
  'users',
  'devices',
  'login_audit',
]

function counts(url: string): Record<string, number> {
  return Object.fromEntries(COUNTED.map((t) => [t, Number(psql(url, `SELECT count(*) FROM ${t}`))]))
}

describe('zhian store migrate', () => {
  it('copies an embedded store into PostgreSQL: a hub on it has the alert, the work order and its events, the user’s login and the devices; a second run refuses and changes nothing', {
    timeout: 180_000,
  }, async () => {
    const dataDir = tempDir('zhian-embedded-')
    const embedded = { ...EMBEDDED, ZHIAN_DATA_DIR: dataDir, ZHIAN_CONFIG: ESTATE }
    const before = await startHubProcess(embedded)

    // A device and a user made with the CLI (on the store, as an operator does).
    const device = await zhian(
      embedded,
      'manhole-9-secret-000\n',
      ...['device', 'add', '--id', 'mh9', '--kind', 'manhole', '--estate', 'e1', '--secret-stdin'],
    )
    expect(device.code, device.err).toBe(0)
    const user = await zhian(
      embedded,
      'duty-one-password-1\n',
      ...['user', 'add', 'duty1', '--role', 'manager', '--scope', 'e1', '--password-stdin'],
    )
    expect(user.code, user.err).toBe(0)
    expect((await login(before, 'duty1', 'duty-one-password-1')).status).toBe(200)

    // An alert raised by a device, acknowledged with a note; a work order opened on it by hand.
    const fp = await mqtt.connectAsync(before.mqttUrl, {
      username: 'fp1',
      password: 'fp1-secret-00001',
      reconnectPeriod: 0,
    })
    await fp.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied: true }), { qos: 1 })
    await fp.endAsync()
    const alert = await until(async () => {
      const page = await json<{ items: Alert[] }>(api(before, '/api/alerts?type=fire_passage.blocked'))
      return page.items[0]
    }, 'the fire passage alert')
    expect((await api(before, `/api/alerts/${alert.id}/ack`, { note: '物业已知悉' })).status).toBe(200)
    const opened = await api(before, '/api/work-orders', { alert_id: alert.id, note: '请物业清理通道' })
    expect(opened.status, await opened.clone().text()).toBe(201)
    const { id: orderId } = (await opened.json()) as { id: string }
    expect(await before.stop()).toBe(0)

    // The state as the embedded hub left it.
    const reopen = await startHubProcess(embedded)
    const alertThen = await json<AlertDetail>(api(reopen, `/api/alerts/${alert.id}`))
    const orderThen = await json<WorkOrderDetail>(api(reopen, `/api/work-orders/${orderId}`))
    const loginsThen = await json<{ items: { username: string; outcome: string }[] }>(
      api(reopen, '/api/audit/logins?user=duty1'),
    )
    expect(await reopen.stop()).toBe(0)
    expect(alertThen.audit.map((e) => e.action)).toContain('acknowledged')
    expect(orderThen.events.length).toBeGreaterThan(0)
    expect(loginsThen.items).toHaveLength(1)

    // The embedded rules persisted their journal position, which the copy leaves out.
    const sqlite = new Database(path.join(dataDir, 'zhian.db'), { readonly: true })
    expect(sqlite.prepare("SELECT value FROM rule_meta WHERE key = 'consumed'").get()).toBeDefined()
    sqlite.close()

    const target = await freshDatabase()
    const migrated = await zhian({ ZHIAN_DATABASE_URL: target }, '', 'store', 'migrate', '--from', dataDir)
    expect(migrated.code, migrated.err).toBe(0)
    expect(migrated.out).toMatch(/^\s+alerts\s+1$/m)
    expect(migrated.out).toMatch(/^\s+work_orders\s+1$/m)
    expect(migrated.out).toMatch(new RegExp(`^\\s+work_order_events\\s+${orderThen.events.length}$`, 'm'))
    expect(migrated.out).toContain('rule_meta "consumed"')
    expect(migrated.out).not.toContain('duty-one-password-1')
    const copied = counts(target)
    expect(copied.alerts).toBe(1)
    expect(copied.users).toBeGreaterThan(0)
    expect(Number(psql(target, "SELECT count(*) FROM rule_meta WHERE key = 'consumed'"))).toBe(0)
    // Secrets stay hashes: the one in the store is the one SQLite held, no plain text anywhere.
    expect(psql(target, "SELECT password_hash FROM users WHERE username = 'duty1'")).not.toContain(
      'duty-one-password-1',
    )

    // Again: refused with a coded message, nothing doubled.
    const again = await zhian({ ZHIAN_DATABASE_URL: target }, '', 'store', 'migrate', '--from', dataDir)
    expect(again.code).toBe(1)
    expect(again.err).toContain('ZHIAN_ERR_STORE_NOT_EMPTY')
    expect(counts(target)).toEqual(copied)

    // A hub on PostgreSQL with the same data directory and estate.
    const after = await startHubProcess({
      ZHIAN_DATA_DIR: dataDir,
      ZHIAN_CONFIG: ESTATE,
      ZHIAN_DATABASE_URL: target,
    })
    const alertNow = await json<AlertDetail>(api(after, `/api/alerts/${alert.id}`))
    expect(alertNow).toMatchObject({ status: 'acknowledged', first_at: alertThen.first_at })
    expect(alertNow.audit.slice(0, alertThen.audit.length)).toEqual(alertThen.audit)
    const orderNow = await json<WorkOrderDetail>(api(after, `/api/work-orders/${orderId}`))
    expect(orderNow.alert_id).toBe(alert.id)
    expect(orderNow.events.slice(0, orderThen.events.length)).toEqual(orderThen.events)
    // The user logs in with the old password; the login is audited after the copied one (the audit's
    // identity continues past the copied ids).
    expect((await login(after, 'duty1', 'duty-one-password-1')).status).toBe(200)
    const loginsNow = await json<{ items: { username: string; outcome: string }[] }>(
      api(after, '/api/audit/logins?user=duty1'),
    )
    expect(loginsNow.items).toHaveLength(2)
    // The device added on the embedded hub is there and connects with its secret.
    const devices = await json<{ id: string }[]>(api(after, '/api/devices'))
    expect(devices.map((d) => d.id)).toEqual(expect.arrayContaining(['mh9', 'fp1', 'lift1']))
    const mh9 = await mqtt.connectAsync(after.mqttUrl, {
      username: 'mh9',
      password: 'manhole-9-secret-000',
      reconnectPeriod: 0,
    })
    expect(mh9.connected).toBe(true)
    await mh9.endAsync()
  })

  it('needs ZHIAN_DATABASE_URL and an embedded store to copy (exit 2, nothing created)', async () => {
    const dir = tempDir('zhian-nothing-')
    const noUrl = await zhian({ ZHIAN_DATABASE_URL: undefined }, '', 'store', 'migrate', '--from', dir)
    expect(noUrl.code).toBe(2)
    expect(noUrl.err).toContain('ZHIAN_DATABASE_URL is not set')
    const target = await freshDatabase()
    const noStore = await zhian({ ZHIAN_DATABASE_URL: target }, '', 'store', 'migrate', '--from', dir)
    expect(noStore.code).toBe(2)
    expect(noStore.err).toContain(`no embedded store at ${path.join(dir, 'zhian.db')}`)
    expect(psql(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).toBe('0')
  }, 60_000)

  it('copies a site moved under a parent made after it (parents first), plan images byte for byte, 64-bit times exactly, and a login audit longer than one batch whose ids continue after the copy', async () => {
    const dir = tempDir('zhian-moved-')
    const source = openSqlite(dir)
    migrate(source, 'registry', REGISTRY_MIGRATIONS)
    const site = source.prepare('INSERT INTO sites (id, type, name, parent_id) VALUES (?, ?, ?, ?)')
    site.run('e9', 'estate', '九号小区', null)
    site.run('c9', 'community', '九号社区', null)
    source.prepare("UPDATE sites SET parent_id = 'c9' WHERE id = 'e9'").run()
    source.close()
    const target = await freshDatabase()
    const from = openSqlite(dir)
    // A plan image (bytes) and a time past 2^53 ms, as the plans feature would store them.
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0d, 0x0a])
    migrate(from, 'plans', PLAN_MIGRATIONS)
    from
      .prepare('INSERT INTO site_plans VALUES (?, ?, ?, ?, ?)')
      .run('e9', 'image/png', image, 'admin', 9007199254740993n)
    // 1,201 audited logins, the newest 100 pruned: ids are never given twice.
    for (const [m, steps] of MODULES) migrate(from, m, steps)
    const audit = from.prepare(
      "INSERT INTO login_audit (at, username, channel, outcome) VALUES (?, 'ops', 'http', 'ok')",
    )
    from.transaction(() => {
      for (let i = 0; i < 1301; i++) audit.run(i)
    })()
    from.prepare('DELETE FROM login_audit WHERE id > 1201').run()
    const to = openPostgres(target)
    try {
      const copied = copyStore(from, to)
      expect(copied.find((c) => c.table === 'sites')?.rows).toBe(2)
      expect(copied.find((c) => c.table === 'login_audit')?.rows).toBe(1201)
      const next = to
        .prepare(
          "INSERT INTO login_audit (at, username, channel, outcome) VALUES (1, 'ops', 'http', 'ok') RETURNING id",
        )
        .get() as { id: number }
      expect(next.id).toBe(1302)
    } finally {
      from.close()
      to.close()
    }
    expect(psql(target, "SELECT parent_id FROM sites WHERE id = 'e9'")).toBe('c9')
    expect(psql(target, "SELECT encode(bytes, 'hex') || ' ' || uploaded_at FROM site_plans")).toBe(
      `${image.toString('hex')} 9007199254740993`,
    )
  }, 60_000)

  it('knows every module that migrates the store (a new table is copied too)', () => {
    const called = new Set<string>()
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else if (p.endsWith('.ts'))
          for (const m of fs.readFileSync(p, 'utf8').matchAll(/\bmigrate\([^,()]+,\s*'([a-z_]+)'/g))
            called.add(m[1]!)
      }
    }
    walk(path.join(ROOT, 'src'))
    expect(called.size).toBeGreaterThan(10)
    expect([...called].sort()).toEqual(MODULES.map(([m]) => m).sort())
  })
})
