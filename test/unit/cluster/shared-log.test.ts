import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { SharedLog } from '../../../src/cluster/log.ts'
import { comparePositions, type Position } from '../../../src/journal/journal.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { startRedis } from '../../helpers/redis.ts'

/** The cluster's shared log on a real Redis: what is acknowledged is there, in order; what Redis refused is not acknowledged. */

async function open(url: string): Promise<SharedLog> {
  const log = new SharedLog({ redisUrl: url, log: createLogger('silent') })
  await log.start()
  return log
}

describe('shared log (Redis stream)', () => {
  it('a commit covers every append before it; replay gives them back in order, from any position', async () => {
    const redis = await startRedis()
    const log = await open(redis.url)
    const ends: Position[] = []
    for (let i = 0; i < 250; i++) log.append(`{"n":${i}}`, (end) => ends.push(end))
    await log.commit()
    expect(ends).toHaveLength(250)
    for (let i = 1; i < ends.length; i++) expect(comparePositions(ends[i - 1]!, ends[i]!)).toBeLessThan(0)
    const all: string[] = []
    await log.replay({ segment: 0, offset: 0 }, (line) => all.push(line))
    expect(all).toEqual(Array.from({ length: 250 }, (_, i) => `{"n":${i}}`))
    // From the end of record 99 up to (not including) the end of record 199: records 100..199.
    const part: string[] = []
    await log.replay(ends[99]!, (line) => part.push(line), ends[199]!)
    expect(part).toEqual(Array.from({ length: 100 }, (_, i) => `{"n":${i + 100}}`))
    expect(await log.replay(ends[249]!, () => {}, ends[249]!)).toBe(0)
    await log.stop()
  })

  it('a batch Redis refuses (out of memory) is not acknowledged: its commit rejects and no record of it gets a position', async () => {
    const redis = await startRedis()
    const log = await open(redis.url)
    log.append('{"ok":1}')
    await log.commit()
    const admin = new Redis(redis.url)
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    await admin.config('SET', 'maxmemory', '1')
    const ends: Position[] = []
    log.append('{"refused":1}', (end) => ends.push(end))
    await expect(log.commit()).rejects.toThrow(/OOM/)
    expect(ends).toEqual([])
    await admin.config('SET', 'maxmemory', '0')
    log.append('{"ok":2}', (end) => ends.push(end))
    await log.commit()
    expect(ends).toHaveLength(1)
    const all: string[] = []
    await log.replay({ segment: 0, offset: 0 }, (line) => all.push(line))
    expect(all).toEqual(['{"ok":1}', '{"ok":2}'])
    admin.disconnect()
    await log.stop()
  })

  it('with history off, what the rules persisted is trimmed: the shipper acknowledgement follows the log', async () => {
    const redis = await startRedis()
    const log = await open(redis.url)
    const ends: Position[] = []
    for (let i = 0; i < 100; i++) log.append(`{"n":${i}}`, (end) => ends.push(end))
    await log.commit()
    // The shipper without InfluxDB acknowledges what is committed (src/history/shipper.ts).
    log.ack(log.committedEnd())
    expect(log.committedEnd()).toEqual(ends[99])
    // The rules persisted up to the end of record 59: everything before it may go.
    await log.trim(ends[59]!)
    expect(await log.length()).toBe(40)
    const left: string[] = []
    await log.replay({ segment: 0, offset: 0 }, (line) => left.push(line))
    expect(left[0]).toBe('{"n":60}')
    await log.stop()
  })
})
