import { afterEach, describe, expect, it } from 'vitest'
import { RealClock } from '../../../src/core/clock.ts'
import { KEY_HEADER } from '../../../src/dispatch/channels.ts'
import type { ChannelConfig } from '../../../src/dispatch/config.ts'
import { type Notification, Outbox, type WorkerOptions } from '../../../src/dispatch/outbox.ts'
import type { Delivery } from '../../../src/dispatch/types.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir, until } from '../../helpers/hub.ts'
import { freshDatabase } from '../../helpers/postgres.ts'
import { Receiver } from '../dispatch/receiver.ts'

/**
 * The notification outbox worked by several nodes at once: each worker is an Outbox on its own
 * PostgreSQL session (as each hub node has), all on one table, sending to a real HTTP receiver on
 * loopback. A row is sent by one worker at a time; a worker that dies holding rows leaves them to the
 * others once its claim runs out, and they send them with the same idempotency key.
 */

interface Worker {
  name: string
  db: Db
  outbox: Outbox
  settled: Delivery[]
}

const workers: Worker[] = []
const dying: Promise<void>[] = []
afterEach(async () => {
  for (const w of workers.splice(0)) {
    await w.outbox.stop()
    if (w.db.open) w.db.close()
  }
  await Promise.all(dying.splice(0))
})

// One clock for every worker of a test: a claim's end and the next worker's send are then read on
// the same time line.
const clock = new RealClock()

/** A worker sending every member's notifications to `<receiver>/<path>` (so the receiver sees who sent). */
function worker(
  databaseUrl: string,
  name: string,
  receiver: Receiver,
  path = `/hook/${name}`,
  members: (member: string) => boolean = () => true,
): Worker {
  const db = openDb(tempDir('zhian-outbox-node-'), databaseUrl)
  const settled: Delivery[] = []
  const channels: ChannelConfig[] = [{ type: 'webhook', url: `${receiver.base}${path}` }]
  const outbox = new Outbox({
    db,
    clock,
    log: createLogger('silent'),
    worker: name,
    // A short attempt limit: a claim lasts twice that (3 s) before another worker may take the row.
    retry: { timeoutMs: 1500, baseMs: 100, maxMs: 500 },
    pollMs: 200,
    directory: (member) => (members(member) ? channels : undefined),
    onSettled: (d) => settled.push(d),
  })
  outbox.open()
  const w = { name, db, outbox, settled }
  workers.push(w)
  return w
}

function notification(i: number, member = 'gate-team/guard1'): Notification {
  const key = `wo-${String(i).padStart(3, '0')}:dispatch:${member}`
  return {
    key,
    work_order_id: `wo-${i}`,
    member,
    purpose: 'dispatch',
    channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/queued-with' }],
    message: {
      key,
      event: 'work_order.dispatched',
      title: `工单 ${i} / Work order ${i}`,
      lines: ['电梯困人 / Lift entrapment'],
      link: `https://hub.example/work-orders/wo-${i}`,
      data: { work_order: `wo-${i}` },
    },
  }
}

const keyOf = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers[KEY_HEADER])

/** Requests per idempotency key at the receiver, on the paths that start with `prefix`. */
function perKey(receiver: Receiver, prefix: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of receiver.requests.filter((x) => x.path.startsWith(prefix))) {
    counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1)
  }
  return counts
}

const delivered = (db: Db) =>
  (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'delivered'").get() as { n: number }).n

function start(list: Worker[], options?: WorkerOptions): void {
  for (const w of list) w.outbox.start(options)
}

describe('cluster: the notification outbox worked by every node', () => {
  it('three workers on one PostgreSQL table deliver 200 notifications exactly once each and share the work', async () => {
    const databaseUrl = await freshDatabase()
    const receiver = await new Receiver().start()
    const nodes = ['node-a', 'node-b', 'node-c'].map((n) => worker(databaseUrl, n, receiver))
    const keys = Array.from({ length: 200 }, (_, i) => notification(i)).map((n) => {
      expect(nodes[0]!.outbox.enqueue(n)).toBe(true)
      return n.key
    })
    const [leader, ...followers] = nodes
    start([leader!])
    start(followers, { follower: true })
    await until(() => delivered(leader!.db) === 200, 'all 200 delivered', 60_000)

    const counts = perKey(receiver, '/hook/')
    expect([...counts.keys()].sort()).toEqual([...keys].sort())
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
    expect(receiver.requests).toHaveLength(200)
    // Every node sent a share; each notification was announced once (the work order's note), by the
    // leader, whichever node sent it.
    for (const w of nodes) expect(receiver.to(`/hook/${w.name}`).length).toBeGreaterThan(0)
    await until(() => leader!.settled.length === 200, 'every delivery announced by the leader')
    expect(leader!.settled.map((d) => d.key).sort()).toEqual([...keys].sort())
    expect(leader!.settled.every((d) => d.status === 'delivered' && d.channel === 'webhook')).toBe(true)
    for (const w of followers) expect(w.settled).toEqual([])
    const rows = followers[0]!.db
      .prepare(
        'SELECT COUNT(*) AS n FROM outbox WHERE claimed_by IS NOT NULL OR attempts != 1 OR announced != 1',
      )
      .get() as { n: number }
    expect(rows.n).toBe(0)
  })

  it('rows claimed by a worker that died mid-send are sent by another once the claim runs out, with the same idempotency key', async () => {
    const databaseUrl = await freshDatabase()
    const receiver = await new Receiver().start()
    // The node that will die: its receiver never answers, so its sends are in flight when it goes.
    receiver.on('/dead', () => 'hang')
    const doomed = worker(databaseUrl, 'node-c', receiver, '/dead')
    const [a, b] = ['node-a', 'node-b'].map((n) => worker(databaseUrl, n, receiver))
    const keys = Array.from({ length: 20 }, (_, i) => notification(i)).map((n) => {
      doomed.outbox.enqueue(n)
      return n.key
    })
    start([doomed])
    const concurrency = doomed.outbox.retry.concurrency
    await until(() => receiver.to('/dead').length === concurrency, 'the first worker sending its claims')
    const claims = doomed.db
      .prepare("SELECT key, claimed_until FROM outbox WHERE claimed_by = 'node-c'")
      .all() as { key: string; claimed_until: number }[]
    expect(claims.map((c) => c.key).sort()).toEqual(receiver.to('/dead').map(keyOf).sort())

    // It dies: it takes no more rows and its session ends with the sends unfinished.
    dying.push(doomed.outbox.stop())
    doomed.db.close()
    workers.splice(workers.indexOf(doomed), 1)

    start([a!])
    start([b!], { follower: true })
    await until(() => delivered(a!.db) === 20, 'all 20 delivered', 30_000)

    const counts = perKey(receiver, '/hook/')
    expect([...counts.keys()].sort()).toEqual([...keys].sort())
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
    // The dead worker's rows went out again with the key of its own attempt, only after its claim ended.
    const sentAt = new Map(
      (
        a!.db.prepare('SELECT key, at FROM deliveries WHERE ok = 1').all() as { key: string; at: number }[]
      ).map((d) => [d.key, d.at]),
    )
    for (const c of claims) {
      expect(counts.get(c.key)).toBe(1)
      expect(sentAt.get(c.key)).toBeGreaterThanOrEqual(c.claimed_until)
    }
    await until(() => a!.settled.length === 20, 'every delivery announced by the leader')
    expect(a!.settled.map((d) => d.key).sort()).toEqual([...keys].sort())
    expect(b!.settled).toEqual([])
  })

  it('a follower that does not know a member leaves its notifications to the worker that does, instead of failing them', async () => {
    const databaseUrl = await freshDatabase()
    const receiver = await new Receiver().start()
    // The follower knows the teams; only the leader knows the report's inline recipient.
    const asked: string[] = []
    const follower = worker(databaseUrl, 'node-b', receiver, '/hook/node-b', (m) => {
      asked.push(m)
      return m.startsWith('gate-team/')
    })
    const leader = worker(databaseUrl, 'node-a', receiver)
    const n = notification(1, 'report:weekly/inline-1')
    follower.outbox.enqueue({ ...n, work_order_id: 'report:weekly' })
    start([follower], { follower: true })
    const rows = () =>
      follower.db.prepare('SELECT status, attempts, claimed_by FROM outbox WHERE key = ?').get(n.key) as {
        status: string
        attempts: number
        claimed_by: string | null
      }
    // The follower took it, asked its directory, and gave it back untouched.
    await until(() => asked.includes(n.member), 'the follower looking the member up')
    expect(rows()).toEqual({ status: 'pending', attempts: 0, claimed_by: null })
    start([leader])
    await until(() => rows().status === 'delivered', 'delivered by the leader')
    expect(receiver.to('/hook/node-a').map(keyOf)).toEqual([n.key])
    expect(receiver.to('/hook/node-b')).toHaveLength(0)
    expect(follower.settled).toHaveLength(0)
    expect(leader.settled.map((d) => [d.key, d.status])).toEqual([[n.key, 'delivered']])
  })
})
