import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { LogLimit } from '../../../src/util/logger.ts'

describe('LogLimit', () => {
  it('logs the first failure at once, then one line per interval with how many it held back', () => {
    const lines: Record<string, unknown>[] = []
    const log = pino(
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)))
          done()
        },
      }),
    )
    const limit = new LogLimit('journal write failed', 10_000)
    for (let t = 0; t < 25_000; t += 10) limit.note(log, { code: 'ENOSPC' }, t)
    // 2,500 failures in 25 s: three lines, the later two with the count since the line before.
    log.flush()
    expect(lines.map((l) => [l.msg, l.more_since_last_line])).toEqual([
      ['journal write failed', undefined],
      ['journal write failed', 999],
      ['journal write failed', 999],
    ])
  })
})
