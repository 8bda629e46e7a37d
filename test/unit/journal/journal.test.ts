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
