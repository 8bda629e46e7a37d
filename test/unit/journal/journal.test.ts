import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Journal, type JournalOptions } from '../../../src/journal/journal.ts'
import { tempDir } from '../../helpers/hub.ts'

async function open(options: Partial<JournalOptions> & { dir: string }): Promise<Journal> {
  const journal = new Journal(options)
  await journal.start()
  onTestFinished(() => journal.stop())
  return journal
}

function segments(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jnl'))
    .sort()
}

async function readAll(journal: Journal): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const batch = await journal.read(1000)
    if (!batch) return out
    out.push(...batch.lines)
    journal.ack(batch.end)
  }
}

describe('journal: group commit', () => {
  it('commits records appended in the same turn together, in order, and only then releases them', async () => {
    const dir = tempDir()
    const commits: number[] = []
    const journal = await open({ dir, onCommit: (n) => commits.push(n) })
    const released: number[] = []
    for (let i = 0; i < 1000; i++) {
      journal.append(JSON.stringify({ i }), () => {
        released.push(i)
      })
    }
    const committed = journal.commit()
    expect(released).toEqual([])
    await committed
    expect(commits).toEqual([1000])
    expect(released).toEqual([...Array(1000).keys()])
    // On disk when the commit resolved.
    const text = segments(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('')
    expect(text.trim().split('\n')).toHaveLength(1000)
  })

  it('batches records arriving while a commit is in flight into the next commit', async () => {
    const commits: number[] = []
    const journal = await open({ dir: tempDir(), onCommit: (n) => commits.push(n) })
    const waits: Promise<void>[] = []
    for (let i = 0; i < 50; i++) {
      journal.append(`{"i":${i}}`)
      waits.push(journal.commit())
      await new Promise((r) => setImmediate(r))
    }
    await Promise.all(waits)
    expect(commits.reduce((a, b) => a + b, 0)).toBe(50)
    expect(commits.length).toBeLessThan(50)
    expect(await readAll(journal)).toEqual([...Array(50).keys()].map((i) => `{"i":${i}}`))
  })
})

describe('journal: reading, crash recovery and the cursor', () => {
  it('skips a torn last line left by a crash and continues in a fresh segment', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, '000000000001.jnl'), '{"a":1}\n{"a":2}\n{"a":')
    const journal = await open({ dir })
    journal.append('{"a":3}')
    await journal.commit()
    expect(await readAll(journal)).toEqual(['{"a":1}', '{"a":2}', '{"a":3}'])
    await new Promise((r) => setTimeout(r, 50)) // segments are deleted in the background
    expect(segments(dir)).toEqual(['000000000002.jnl'])
  })

  it('resumes after the last acknowledged record on restart; unacknowledged records are read again', async () => {
    const dir = tempDir()
    const first = new Journal({ dir })
    await first.start()
    for (let i = 0; i < 10; i++) first.append(`{"i":${i}}`)
    await first.commit()
    const batch = (await first.read(4))!
    expect(batch.lines).toHaveLength(4)
    first.ack(batch.end)
    await first.read(3) // read, never acknowledged: delivered again after the restart
    await first.stop()
    const second = await open({ dir })
    expect(await readAll(second)).toEqual([...Array(6).keys()].map((i) => `{"i":${i + 4}}`))
  })

  it('deletes segments once everything in them is acknowledged', async () => {
    const dir = tempDir()
    const journal = await open({ dir, segmentBytes: 4096, maxBacklogBytes: 1024 ** 2 })
    const line = JSON.stringify({ pad: 'x'.repeat(200) })
    for (let i = 0; i < 100; i++) {
      journal.append(line)
      await journal.commit()
    }
    expect(segments(dir).length).toBeGreaterThan(3)
    expect(await readAll(journal)).toHaveLength(100)
    await new Promise((r) => setTimeout(r, 50))
    expect(segments(dir)).toHaveLength(1)
    expect(journal.backlogBytes()).toBe(0)
  })

  it('drops the oldest unacknowledged segments past the backlog limit and reports how much', async () => {
    const dir = tempDir()
    const dropped: number[] = []
    const limit = 32 * 1024
    const journal = await open({ dir, maxBacklogBytes: limit, onDrop: (b) => dropped.push(b) })
    const line = (i: number) => JSON.stringify({ i, pad: 'y'.repeat(100) })
    for (let i = 0; i < 1000; i++) {
      journal.append(line(i))
      await journal.commit()
    }
    expect(dropped.length).toBeGreaterThan(0)
    expect(journal.backlogBytes()).toBeLessThanOrEqual(limit)
    const rest = await readAll(journal)
    // What is left is the newest, contiguous, ending with the last record.
    expect(rest.at(-1)).toBe(line(999))
    const first = (JSON.parse(rest[0]!) as { i: number }).i
    expect(rest).toEqual([...Array(1000 - first).keys()].map((k) => line(first + k)))
    expect(first).toBeGreaterThan(0)
    const droppedBytes = [...Array(first).keys()].reduce((n, k) => n + line(k).length + 1, 0)
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(droppedBytes)
  })
})

describe('journal: listeners, large records, the tail of the previous run', () => {
  it('a throwing after-callback is reported and neither skips the other callbacks nor stops the journal', async () => {
    const errors: unknown[] = []
    const journal = await open({ dir: tempDir(), onCallbackError: (err) => errors.push(err) })
    const released: string[] = []
    journal.append('{"a":1}', () => {
      throw new Error('listener broke')
    })
    journal.append('{"a":2}', () => released.push('a2'))
    await journal.commit()
    expect(released).toEqual(['a2'])
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('listener broke')
    // The journal keeps committing and releasing.
    journal.append('{"b":1}', () => released.push('b1'))
    await journal.commit()
    expect(released).toEqual(['a2', 'b1'])
    const batch = await journal.read(10)
    expect(batch?.lines).toEqual(['{"a":1}', '{"a":2}', '{"b":1}'])
  })

  it('reads a record bigger than its read buffer whole, then the records after it', async () => {
    const journal = await open({ dir: tempDir() })
    const big = JSON.stringify({ note: 'x'.repeat(300_000) }) // far beyond the 64 KiB first read
    journal.append('{"before":1}')
    journal.append(big)
    journal.append('{"after":1}')
    await journal.commit()
    const first = await journal.read(1)
    expect(first?.lines).toEqual(['{"before":1}'])
    journal.ack(first!.end)
    // A small byte cap must not make the reader retry the same size forever.
    const second = await journal.read(1, 1024)
    expect(second?.lines).toEqual([big])
    journal.ack(second!.end)
    const third = await journal.read(10)
    expect(third?.lines).toEqual(['{"after":1}'])
  })

  it("tail() returns the previous run's last complete records, oldest first, without a torn line", async () => {
    const dir = tempDir()
    const first = new Journal({ dir })
    await first.start()
    for (let i = 0; i < 100; i++) first.append(JSON.stringify({ i }))
    await first.commit()
    await first.stop()
    // A crash mid-write leaves half a record at the end of the newest segment.
    const newest = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jnl'))
      .sort()
      .at(-1)!
    fs.appendFileSync(path.join(dir, newest), '{"i":10')
    const second = await open({ dir })
    const all = await second.tail(1024 ** 2)
    expect(all).toEqual([...Array(100).keys()].map((i) => JSON.stringify({ i })))
    // A byte budget keeps only the newest whole records.
    const some = await second.tail(40)
    expect(some.length).toBeGreaterThan(0)
    expect(some.at(-1)).toBe('{"i":99}')
    expect(all.slice(-some.length)).toEqual(some)
  })
})
