import { afterEach, describe, expect, it } from 'vitest'
import { RealClock } from '../../../src/core/clock.ts'
import { KEY_HEADER } from '../../../src/dispatch/channels.ts'
import { Outbox } from '../../../src/dispatch/outbox.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir, until } from '../../helpers/hub.ts'
import { Receiver } from '../../integration/dispatch/receiver.ts'

/**
 * A worker claims the rows it sends. A hub that died mid-send left its claims in the store; when it
 * comes back (same data directory on SQLite, same worker name on PostgreSQL) those claims are its
 * own dead ones, so it sends the rows at once instead of waiting out the lease.
 */

const open: { db: Db; outbox: Outbox }[] = []
const dying: Promise<void>[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.outbox.stop()
    o.db.close()
  }
  await Promise.all(dying.splice(0))
})

function hubOutbox(dataDir: string, receiver: () => Receiver): { db: Db; outbox: Outbox } {
  const db = openDb(dataDir)
  const outbox = new Outbox({
    db,
    clock: new RealClock(),
    log: createLogger('silent'),
    worker: 'hub-1',
    // A long attempt limit, so a long lease (2 min): the test ends long before it would run out.
    retry: { timeoutMs: 60_000 },
    directory: () => [{ type: 'webhook', url: `${receiver().base}/hook` }],
  })
  outbox.open()
  return { db, outbox }
}

describe('outbox claims', () => {
  it('rows a hub was sending when it died are sent at once by the hub started again, with the same keys', async () => {
    const dataDir = tempDir('zhian-outbox-claims-')
    const silent = await new Receiver().start()
    silent.on('/hook', () => 'hang')
    const live = await new Receiver().start()
    let receiver = silent
    const first = hubOutbox(dataDir, () => receiver)
    const keys = ['wo-1', 'wo-2', 'wo-3'].map((id) => {
      const key = `${id}:dispatch:gate-team/guard1`
      first.outbox.enqueue({
        key,
        work_order_id: id,
        member: 'gate-team/guard1',
        purpose: 'dispatch',
        channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/queued-with' }],
        message: { key, event: 'work_order.dispatched', title: '工单', lines: [], link: '', data: {} },
      })
      return key
    })
    first.outbox.start()
    await until(() => silent.to('/hook').length === 3, 'the first run sending')
    const claimed = first.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE claimed_by = 'hub-1'").get() as {
      n: number
    }
    expect(claimed.n).toBe(3)

    // The process dies: its store closes with the three sends unanswered.
    dying.push(first.outbox.stop())
    first.db.close()
    receiver = live
    const again = hubOutbox(dataDir, () => receiver)
    open.push(again)
    again.outbox.start()
    await until(() => live.to('/hook').length === 3, 'the rows sent again after the restart')
    expect(
      live
        .to('/hook')
        .map((r) => String(r.headers[KEY_HEADER]))
        .sort(),
    ).toEqual(keys)
    expect(
      silent
        .to('/hook')
        .map((r) => String(r.headers[KEY_HEADER]))
        .sort(),
    ).toEqual(keys)
    await until(() => again.outbox.pending() === 0, 'all delivered')
    await silent.stop()
  })
})
