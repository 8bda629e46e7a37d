import { Redis } from 'ioredis'
import type { AfterCommit, JournalLike, Position, ReadBatch } from '../journal/journal.ts'
import type { Logger } from '../util/logger.ts'

/**
 * The cluster's durable log: one Redis stream every node appends its accepted device messages to
 * before their PUBACK (or a connector's 200), in the same record format as the local journal. Redis
 * runs with `appendfsync always`, so an XADD is answered only once it is on Redis' disk: a reading
 * acknowledged by a node survives that node's permanent loss. Appends are pipelined per event-loop
 * turn (the group commit of the local journal, here one round trip for many records).
 *
 * Positions are stream ids: record `ms-seq` is at { segment: ms, offset: seq }, and a record's `end`
 * (as the journal's "just past the record") is { segment: ms, offset: seq + 1 }, so comparePositions
 * and the rules' persisted `consumed` work unchanged. The leader reads it for the rules and the
 * history shipper (read/ack: the shipped position is kept in Redis); every node tails it (tail.ts).
 */

export const LOG_KEY = 'zhian:log'
const SHIPPED_KEY = 'zhian:log:shipped'
const READ_COUNT = 1000

export interface SharedLogOptions {
  redisUrl: string
  log: Logger
  onCommit?: (records: number) => void
}

export class SharedLog implements JournalLike {
  readonly dir = ''
  readonly backlogLimitBytes = 0
  private writer: Redis | undefined
  private reader: Redis | undefined
  /** The batch taking appends until the next turn of the event loop. */
  private open: Batch | undefined
  /** The latest batch's promise: settles after every batch before it (they go in order). */
  private last: Promise<void> = Promise.resolve()
  private chain: Promise<void> = Promise.resolve()
  private inFlight = 0
  private failing = false
  /** Shipper side: the position acknowledged as shipped, and the next record to read. */
  private shipped: Position = { segment: 0, offset: 0 }
  private readPos: Position = { segment: 0, offset: 0 }
  private startEnd: Position = { segment: 0, offset: 0 }
  private wakers: (() => void)[] = []
  private latest: Position = { segment: 0, offset: 0 }

  constructor(private readonly options: SharedLogOptions) {}

  get isFailing(): boolean {
    return this.failing
  }

  /** Records appended and not yet acknowledged by Redis. */
  get waiting(): number {
    return (this.open?.records.length ?? 0) + this.inFlight
  }

  async start(): Promise<void> {
    const opts = { maxRetriesPerRequest: null, enableAutoPipelining: false, lazyConnect: true }
    this.writer = new Redis(this.options.redisUrl, opts)
    this.reader = new Redis(this.options.redisUrl, opts)
    for (const r of [this.writer, this.reader]) {
      r.on('error', (err) => this.options.log.warn({ err: err.message }, 'redis (shared log)'))
      await r.connect()
    }
    this.writer.on('close', () => (this.failing = true))
    this.writer.on('ready', () => (this.failing = false))
    this.startEnd = await this.lastEnd()
    const shipped = await this.writer.get(SHIPPED_KEY)
    this.shipped = shipped ? idToPos(shipped) : { segment: 0, offset: 0 }
    this.readPos = { ...this.shipped }
  }

  async stop(): Promise<void> {
    await this.commit().catch(() => {})
    await this.chain
    for (const wake of this.wakers.splice(0)) wake()
    await Promise.allSettled([this.writer?.quit(), this.reader?.quit()])
    this.writer = this.reader = undefined
  }

  append(line: string, after?: AfterCommit): void {
    let batch = this.open
    if (!batch) {
      batch = newBatch()
      this.open = batch
      this.last = batch.promise
      const b = batch
      setImmediate(() => {
        if (this.open === b) this.open = undefined
        this.chain = this.chain.then(() => this.flush(b))
      })
    }
    batch.records.push({ line, after })
  }

  /**
   * Resolves once everything appended so far is on Redis' disk; rejects when its batch was not
   * taken (then nothing of it is acknowledged: no PUBACK, no 200).
   */
  commit(): Promise<void> {
    return this.last
  }

  /**
   * One pipeline of XADDs per batch, batches in order. ioredis keeps commands while Redis is away and
   * sends them when it is back, so a commit waits out an outage (the PUBACKs wait with it).
   */
  private async flush(batch: Batch): Promise<void> {
    if (!this.writer) return batch.reject(new Error('the shared log is closed'))
    this.inFlight = batch.records.length
    let failure: Error | undefined
    try {
      const pipeline = this.writer.pipeline()
      for (const r of batch.records) pipeline.xadd(LOG_KEY, '*', 'r', r.line)
      const results = (await pipeline.exec()) ?? []
      batch.records.forEach((r, i) => {
        const [err, id] = results[i] ?? [new Error('no reply')]
        if (err) failure ??= err as Error
        else {
          const end = endOf(id as string)
          this.latest = later(this.latest, end)
          r.after?.(end)
        }
      })
    } catch (err) {
      failure = err as Error
    }
    this.inFlight = 0
    if (failure) {
      this.options.log.error(
        { err: failure.message },
        'shared log append failed: nothing of it is acknowledged',
      )
      batch.reject(failure)
    } else {
      this.options.onCommit?.(batch.records.length)
      batch.resolve()
    }
    for (const wake of this.wakers.splice(0)) wake()
  }

  /** Where the log ended when this node started (nothing to replay after it). */
  previousEnd(): Position {
    return this.startEnd
  }

  /** The position just past the newest record now. */
  async lastEnd(): Promise<Position> {
    const last = (await this.writer!.xrevrange(LOG_KEY, '+', '-', 'COUNT', 1)) as [string, string[]][]
    return last[0] ? endOf(last[0][0]) : { segment: 0, offset: 0 }
  }

  /** Records from `from` up to (not including) `to`, oldest first. */
  async replay(
    from: Position,
    onRecord: (line: string, end: Position) => void,
    to?: Position,
  ): Promise<number> {
    let count = 0
    if (to && (from.segment > to.segment || (from.segment === to.segment && from.offset >= to.offset)))
      return 0
    let start = posToId(from)
    const stop = to ? lastIdBefore(to) : '+'
    for (;;) {
      if (stop !== '+' && compareIds(start, stop) > 0) return count
      const rows = (await this.writer!.xrange(LOG_KEY, start, stop, 'COUNT', READ_COUNT)) as [
        string,
        string[],
      ][]
      for (const [id, fields] of rows) {
        count++
        onRecord(fields[1] ?? '', endOf(id))
      }
      if (rows.length < READ_COUNT) return count
      start = posToId(endOf(rows.at(-1)![0]))
    }
  }

  /** The rules hold records from here on (trimming keeps them; see trim()). */
  hold(_pos: Position): void {}

  /** Drop records before `pos` (everything the rules persisted and the shipper shipped). */
  async trim(pos: Position): Promise<void> {
    const upTo =
      pos.segment < this.shipped.segment ||
      (pos.segment === this.shipped.segment && pos.offset < this.shipped.offset)
        ? pos
        : this.shipped
    if (upTo.segment > 0) await this.writer?.xtrim(LOG_KEY, 'MINID', posToId(upTo))
  }

  observe(): void {}

  backlogBytes(): number {
    return 0
  }

  async tail(): Promise<string[]> {
    return []
  }

  // The history shipper's side (leader only).

  async read(maxRecords: number): Promise<ReadBatch | undefined> {
    const rows = (await this.writer!.xrange(
      LOG_KEY,
      posToId(this.readPos),
      '+',
      'COUNT',
      Math.min(maxRecords, READ_COUNT),
    )) as [string, string[]][]
    if (rows.length === 0) return undefined
    const end = endOf(rows.at(-1)![0])
    this.readPos = end
    return { lines: rows.map(([, f]) => f[1] ?? ''), end }
  }

  ack(end: Position): void {
    this.shipped = end
    void this.writer?.set(SHIPPED_KEY, posToId(end)).catch(() => {})
  }

  /**
   * The newest position this node knows to be in the log (what it appended or read). With history off
   * the shipper acknowledges up to here, so the log can be trimmed behind the rules.
   */
  committedEnd(): Position {
    return later(this.readPos, this.latest)
  }

  rewind(): void {
    this.readPos = { ...this.shipped }
  }

  /** Wait for new records, at most `timeoutMs` (a local append wakes it at once). */
  waitForData(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wakers.push(done)
    })
  }

  wakeReaders(): void {
    for (const wake of this.wakers.splice(0)) wake()
  }

  /** Blocking read for the tailer: entries after `after` (an id), waiting up to `blockMs`. */
  async readAfter(after: string, blockMs: number): Promise<[string, string][]> {
    const res = (await this.reader!.xread(
      'COUNT',
      READ_COUNT,
      'BLOCK',
      blockMs,
      'STREAMS',
      LOG_KEY,
      after,
    )) as [string, [string, string[]][]][] | null
    const rows = res?.[0]?.[1] ?? []
    if (rows.length > 0) this.latest = later(this.latest, endOf(rows.at(-1)![0]))
    return rows.map(([id, f]) => [id, f[1] ?? ''])
  }

  /** Stop a blocking read now (the tailer is stopping). */
  interrupt(): void {
    this.reader?.disconnect()
  }

  /** Entries in the stream now. */
  async length(): Promise<number> {
    return (await this.writer?.xlen(LOG_KEY)) ?? 0
  }
}

interface Batch {
  records: { line: string; after?: AfterCommit | undefined }[]
  promise: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {}) // observed through commit(); never an unhandled rejection
  return { records: [], promise, resolve, reject }
}

export function idToPos(id: string): Position {
  const [ms, seq] = id.split('-')
  return { segment: Number(ms), offset: Number(seq ?? 0) }
}

/** The position just past record `id`. */
export function endOf(id: string): Position {
  const p = idToPos(id)
  return { segment: p.segment, offset: p.offset + 1 }
}

export function posToId(p: Position): string {
  return `${p.segment}-${p.offset}`
}

/** The id of the last record before `end` (the record `end` is just past). */
export function lastIdBefore(end: Position): string {
  return end.offset > 0 ? `${end.segment}-${end.offset - 1}` : `${end.segment - 1}-${Number.MAX_SAFE_INTEGER}`
}

function later(a: Position, b: Position): Position {
  return a.segment > b.segment || (a.segment === b.segment && a.offset >= b.offset) ? a : b
}

function compareIds(a: string, b: string): number {
  const pa = idToPos(a)
  const pb = idToPos(b)
  return pa.segment - pb.segment || pa.offset - pb.offset
}
