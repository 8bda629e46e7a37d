import fs from 'node:fs'
import fsp, { type FileHandle } from 'node:fs/promises'
import path from 'node:path'

/**
 * A durable, append-only journal: NDJSON records in numbered segment files, group-committed with
 * one O_DSYNC write per batch (in libuv's thread pool, so the event loop never waits on the disk).
 * Records are committed and released in append order. One reader (the history shipper) consumes
 * committed records from a cursor that only moves when the consumer acknowledges; fully consumed
 * segments are deleted. The unconsumed backlog is bounded: past `maxBacklogBytes` the oldest
 * segments are dropped (reported through `onDrop`).
 *
 * Crash safety: a record is durable once its batch's O_DSYNC write returned, and only then is its
 * commit promise resolved. A crash can leave a torn last line in the newest segment of the previous
 * run; it was never acknowledged, so the reader skips it. Every run appends to a fresh segment.
 */

export interface JournalOptions {
  dir: string
  /** Most records per commit. */
  maxBatchRecords?: number
  /** Wait this long for more records before committing (0: commit as soon as the disk is free). */
  maxDelayMs?: number
  segmentBytes?: number
  maxBacklogBytes?: number
  /** Called when the backlog crossed `maxBacklogBytes` and old, unconsumed segments were deleted. */
  onDrop?: (bytes: number) => void
  /** Called after each commit, and after each acknowledgement, with the backlog size. */
  onBacklog?: (bytes: number) => void
  /** Called after each successful commit with its record count. */
  onCommit?: (records: number) => void
  /** Called when a commit failed (the affected records were not acknowledged). */
  onError?: (err: Error) => void
  /** Called after a commit succeeded that followed failed ones (the disk takes writes again). */
  onRecovered?: () => void
  /** An `after` callback threw: reported here, and the journal carries on with the next one. */
  onCallbackError?: (err: unknown) => void
}

export interface Position {
  segment: number
  offset: number
}

export interface ReadBatch {
  lines: string[]
  end: Position
}

/**
 * What the gate, the history and the rules use of a journal: the local one (Journal) or the cluster's
 * shared log on Redis (src/cluster/log.ts).
 */
export type JournalLike = Pick<
  Journal,
  | 'dir'
  | 'backlogLimitBytes'
  | 'isFailing'
  | 'waiting'
  | 'start'
  | 'stop'
  | 'append'
  | 'commit'
  | 'hold'
  | 'observe'
  | 'backlogBytes'
  | 'read'
  | 'tail'
  | 'replay'
  | 'previousEnd'
  | 'committedEnd'
  | 'rewind'
  | 'ack'
  | 'waitForData'
  | 'wakeReaders'
>

/** Runs once its record is durable, with the position just past the record. */
export type AfterCommit = (end: Position) => void

interface Batch {
  lines: string[]
  /** Parallel to `lines` (undefined where a record has no callback); `afters` counts the defined ones. */
  after: (AfterCommit | undefined)[]
  afters: number
  promise: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

const SEGMENT_RE = /^(\d{12})\.jnl$/
const CURSOR_FILE = 'cursor.json'
const NEWLINE = 10

export class Journal {
  private readonly maxBatchRecords: number
  private readonly maxDelayMs: number
  private readonly segmentBytes: number
  private readonly maxBacklogBytes: number
  /** Committed size of every live segment, oldest first (Map keeps insertion order). */
  private readonly segments = new Map<number, number>()
  private active: { id: number; fh: FileHandle; size: number; broken: boolean } | undefined
  private open: Batch | undefined
  private writing = false
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private cursor: Position = { segment: 0, offset: 0 }
  private readPos: Position = { segment: 0, offset: 0 }
  private readFh: { id: number; fh: FileHandle } | undefined
  private cursorWrite: Promise<void> = Promise.resolve()
  private cursorDirty = false
  private cursorTimer: NodeJS.Timeout | undefined
  private waiters: (() => void)[] = []
  private closed = false
  private idle: (() => void) | undefined
  /** Segments from this one on are kept even when shipped: a second reader (the rules) still needs them. */
  private held: Position | undefined
  private readonly observers: Pick<JournalOptions, 'onBacklog' | 'onDrop'>[] = []
  private failing = false

  get dir(): string {
    return this.options.dir
  }

  /** The unshipped backlog's limit (past it the oldest segments are dropped). */
  get backlogLimitBytes(): number {
    return this.maxBacklogBytes
  }

  /** The last commit failed (nothing new is durable until one succeeds). */
  get isFailing(): boolean {
    return this.failing
  }

  constructor(private readonly options: JournalOptions) {
    this.maxBatchRecords = options.maxBatchRecords ?? 10_000
    this.maxDelayMs = options.maxDelayMs ?? 0
    this.maxBacklogBytes = options.maxBacklogBytes ?? 2 * 1024 ** 3
    this.segmentBytes = Math.max(
      4096,
      Math.min(options.segmentBytes ?? 16 * 1024 ** 2, Math.floor(this.maxBacklogBytes / 8)),
    )
  }

  /**
   * Keep every segment from `from` on, shipped or not, until hold() is called again with a later
   * position. Call before start() to keep what the previous run left for a replay.
   */
  hold(from: Position): void {
    this.held = { ...from }
    if (this.active) this.prune()
  }

  /** A second listener of the backlog and of dropped segments (the history's warnings). */
  observe(observer: Pick<JournalOptions, 'onBacklog' | 'onDrop'>): void {
    this.observers.push(observer)
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 })
    this.cursor = await this.loadCursor()
    const ids = (await fsp.readdir(this.options.dir))
      .map((name) => SEGMENT_RE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    for (const id of ids) {
      if (id < this.keepFrom()) {
        await fsp.rm(this.segmentPath(id), { force: true })
        continue
      }
      this.segments.set(id, (await fsp.stat(this.segmentPath(id))).size)
    }
    const first = ids.find((id) => id >= this.cursor.segment)
    if (first !== undefined && first > this.cursor.segment) this.cursor = { segment: first, offset: 0 }
    this.readPos = { ...this.cursor }
    await this.rotate((ids.at(-1) ?? 0) + 1)
    this.reportBacklog()
  }

  /** Flush what is pending, then close the files. Records appended later are refused. */
  async stop(): Promise<void> {
    if (this.closed) return
    clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    if (this.open && !this.writing) await this.flush()
    if (this.writing) await new Promise<void>((resolve) => (this.idle = resolve))
    this.closed = true
    clearTimeout(this.cursorTimer)
    this.cursorTimer = undefined
    await this.cursorWrite
    if (this.cursorDirty) await this.writeCursor()
    await this.active?.fh.close()
    await this.readFh?.fh.close()
    this.readFh = undefined
    this.active = undefined
    for (const wake of this.waiters.splice(0)) wake()
  }

  /**
   * Add one record (a JSON line without newline) to the next commit. `after` runs once it is durable
   * (also when the commit failed: the caller decides, via commit(), what the failure means).
   */
  append(line: string, after?: AfterCommit): void {
    if (this.closed) throw new Error('journal is closed')
    let batch = this.open
    if (!batch) {
      let resolve!: () => void
      let reject!: (err: Error) => void
      const promise = new Promise<void>((res, rej) => {
        resolve = res
        reject = rej
      })
      promise.catch(() => {}) // observed through commit(); never an unhandled rejection
      batch = { lines: [], after: [], afters: 0, promise, resolve, reject }
      this.open = batch
    }
    batch.lines.push(line)
    batch.after.push(after)
    if (after) batch.afters++
    this.schedule()
  }

  /** Records appended and not yet written (waiting for the commit in progress to finish). */
  get waiting(): number {
    return this.open?.lines.length ?? 0
  }

  /** Resolves when everything appended so far is on disk. */
  commit(): Promise<void> {
    return this.open?.promise ?? this.lastCommit
  }
  private lastCommit: Promise<void> = Promise.resolve()

  backlogBytes(): number {
    let total = 0
    for (const [id, size] of this.segments) if (id >= this.cursor.segment) total += size
    return Math.max(0, total - this.cursor.offset)
  }

  /**
   * Read up to `maxRecords` committed records after the last read position (not the cursor: records
   * read but not yet acknowledged are not read again unless rewind() is called).
   */
  async read(maxRecords: number, maxBytes = 8 * 1024 ** 2): Promise<ReadBatch | undefined> {
    for (;;) {
      if (this.closed) return undefined
      const { segment, offset } = this.readPos
      const size = this.segments.get(segment)
      const next = this.nextSegment(segment)
      if (size === undefined) {
        if (next === undefined) return undefined
        this.readPos = { segment: next, offset: 0 }
        continue
      }
      const available = size - offset
      if (available <= 0) {
        if (next === undefined || segment === this.active?.id) return undefined
        this.readPos = { segment: next, offset: 0 }
        continue
      }
      const fh = await this.readHandle(segment)
      if (!fh) {
        this.readPos = { segment: next ?? segment + 1, offset: 0 }
        continue
      }
      // Records are ~100–400 bytes: do not read megabytes to return a few thousand of them. A record
      // longer than that buffer doubles it (up to what is there), never re-reading the same size.
      let want = Math.min(available, maxBytes, Math.max(64 * 1024, maxRecords * 512))
      let buf: Buffer
      let cut: number
      for (;;) {
        buf = Buffer.allocUnsafe(want)
        const { bytesRead } = await fh.read(buf, 0, want, offset)
        cut = lastLineEnd(buf, bytesRead, maxRecords)
        if (cut !== -1 || want >= available || bytesRead < want) break
        want = Math.min(available, want * 2)
      }
      if (cut === -1) {
        // A torn tail left by a crash in an older run (never acknowledged to anyone): skip it.
        this.readPos = { segment: next ?? segment + 1, offset: 0 }
        continue
      }
      const lines = buf.toString('utf8', 0, cut).split('\n')
      this.readPos = { segment, offset: offset + cut + 1 }
      return { lines, end: { ...this.readPos } }
    }
  }

  /**
   * The last complete records of the previous runs' segments (up to `maxBytes`, oldest first),
   * shipped or not. Call after start(), before appending: the history uses it to recognise devices
   * resending what the crashed run had already journalled.
   */
  async tail(maxBytes: number): Promise<string[]> {
    const chunks: string[][] = []
    let budget = maxBytes
    const ids = [...this.segments.keys()].filter((id) => id !== this.active?.id).reverse()
    for (const id of ids) {
      if (budget <= 0) break
      const size = this.segments.get(id) ?? 0
      const length = Math.min(size, budget)
      if (length === 0) continue
      let fh: FileHandle
      try {
        fh = await fsp.open(this.segmentPath(id), 'r')
      } catch {
        continue
      }
      try {
        const buf = Buffer.allocUnsafe(length)
        const { bytesRead } = await fh.read(buf, 0, length, size - length)
        let text = buf.toString('utf8', 0, bytesRead)
        // A torn last line (crash mid-write) and, when not read from the start, a partial first line.
        text = text.slice(0, text.lastIndexOf('\n') + 1)
        if (length < size) text = text.slice(text.indexOf('\n') + 1)
        chunks.push(text.split('\n').filter((line) => line !== ''))
      } finally {
        await fh.close()
      }
      budget -= length
    }
    return chunks.reverse().flat()
  }

  /**
   * Every complete record of the previous runs' segments from `from` on, oldest first, each with the
   * position just past it. Call after start(), before appending: the rules re-apply what they had not
   * yet persisted when the last run ended.
   */
  async replay(from: Position, onRecord: (line: string, end: Position) => void): Promise<number> {
    let count = 0
    for (const id of [...this.segments.keys()]) {
      if (id < from.segment || id === this.active?.id) continue
      let buf: Buffer
      try {
        buf = await fsp.readFile(this.segmentPath(id))
      } catch {
        continue
      }
      let offset = id === from.segment ? Math.min(from.offset, buf.length) : 0
      // Only whole records: a torn last line (crash mid-write) was never acknowledged.
      for (let nl = buf.indexOf(NEWLINE, offset); nl !== -1; nl = buf.indexOf(NEWLINE, offset)) {
        const line = buf.toString('utf8', offset, nl)
        offset = nl + 1
        if (line === '') continue
        onRecord(line, { segment: id, offset })
        count++
      }
    }
    return count
  }

  /** Where the previous runs' records end (the start of this run's first segment). */
  previousEnd(): Position {
    const ids = [...this.segments.keys()].filter((id) => id !== this.active?.id)
    const last = ids.at(-1)
    return last === undefined
      ? { segment: this.active?.id ?? 0, offset: 0 }
      : { segment: last, offset: this.segments.get(last) ?? 0 }
  }

  /** Everything committed so far ends here (a consumer that discards acknowledges up to it). */
  committedEnd(): Position {
    const id = this.active?.id ?? this.cursor.segment
    return { segment: id, offset: this.segments.get(id) ?? 0 }
  }

  /** Read again from the acknowledged cursor (after a consumer failure). */
  rewind(): void {
    this.readPos = { ...this.cursor }
  }

  /** The consumer has durably handled everything before `end`: move the cursor, delete old segments. */
  ack(end: Position): void {
    if (comparePositions(end, this.cursor) <= 0) return
    this.cursor = { ...end }
    if (comparePositions(this.readPos, this.cursor) < 0) this.readPos = { ...this.cursor }
    this.prune()
    this.persistCursor()
    this.reportBacklog()
  }

  /** Resolves when new records are committed, or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.waiters.push(done)
    })
  }

  /** Release every waitForData() now (a consumer is stopping). */
  wakeReaders(): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  private schedule(): void {
    if (this.writing) return
    if (this.open && this.open.lines.length >= this.maxBatchRecords) {
      void this.flush()
      return
    }
    if (this.maxDelayMs > 0) {
      this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs)
    } else {
      // After this turn of the event loop, so every PUBLISH of the same socket read joins the batch.
      this.immediate ??= setImmediate(() => void this.flush())
    }
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.immediate) clearImmediate(this.immediate)
    this.immediate = undefined
    const batch = this.open
    if (!batch || this.writing) return
    this.open = undefined
    this.lastCommit = batch.promise
    this.writing = true
    let start: Position | undefined
    try {
      start = await this.write(batch.lines)
      batch.resolve()
      if (this.failing) {
        this.failing = false
        this.options.onRecovered?.()
      }
    } catch (err) {
      this.failing = true
      this.options.onError?.(err as Error)
      batch.reject(err as Error)
    }
    this.writing = false
    // The next commit goes to the disk before this batch's listeners run, so the disk works while the
    // CPU does. Its records are still released after these: it cannot complete before this turn ends.
    if (this.open && !this.closed) {
      if (this.maxDelayMs > 0) this.schedule()
      else void this.flush()
    }
    if (batch.afters > 0) this.runAfter(batch, start)
    this.wakeReaders()
    if (!this.writing && !this.open && this.idle) {
      const idle = this.idle
      this.idle = undefined
      idle()
    }
  }

  /**
   * Each record's callback with the position just past it (`start`: where the batch was written;
   * undefined when the commit failed, then every callback gets the committed end). A throwing
   * listener must neither skip the other records' callbacks nor stop the journal.
   */
  private runAfter(batch: Batch, start: Position | undefined): void {
    let offset = start?.offset ?? 0
    const end = start ? undefined : this.committedEnd()
    for (let i = 0; i < batch.lines.length; i++) {
      if (start) offset += Buffer.byteLength(batch.lines[i]!) + 1
      const after = batch.after[i]
      if (!after) continue
      try {
        after(end ?? { segment: start!.segment, offset })
      } catch (err) {
        this.options.onCallbackError?.(err)
      }
    }
  }

  /** Writes one batch; returns where it starts. */
  private async write(lines: string[]): Promise<Position> {
    let active = this.active
    if (!active || active.broken || active.size >= this.segmentBytes) {
      await this.rotate((active?.id ?? 0) + 1)
      active = this.active!
    }
    const buf = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
    try {
      let done = 0
      while (done < buf.length) {
        const { bytesWritten } = await active.fh.write(buf, done, buf.length - done, active.size + done)
        done += bytesWritten
      }
    } catch (err) {
      // The file may now end in a partial line: cut it back to its last commit and keep writing there
      // (a full disk must not leave one new segment per refused write). Only if that fails too does
      // the next write go to a fresh segment.
      try {
        await active.fh.truncate(active.size)
      } catch {
        active.broken = true
      }
      throw err
    }
    const start = { segment: active.id, offset: active.size }
    active.size += buf.length
    this.segments.set(active.id, active.size)
    this.options.onCommit?.(lines.length)
    this.enforceLimit()
    this.reportBacklog()
    return start
  }

  private async rotate(id: number): Promise<void> {
    const previous = this.active
    const file = this.segmentPath(id)
    const fh = await fsp.open(
      file,
      // O_DSYNC: each write returns once durable, one thread-pool round trip per commit instead of two.
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_DSYNC,
      0o600,
    )
    try {
      // The new directory entry must survive a crash too.
      const dir = await fsp.open(this.options.dir, 'r')
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    } catch (err) {
      // Not a segment yet: leave no file behind, so the next attempt can take the same number.
      await fh.close().catch(() => {})
      await fsp.rm(file, { force: true }).catch(() => {})
      throw err
    }
    this.active = { id, fh, size: 0, broken: false }
    this.segments.set(id, 0)
    await previous?.fh.close()
  }

  private reportBacklog(): void {
    const bytes = this.backlogBytes()
    this.options.onBacklog?.(bytes)
    for (const o of this.observers) o.onBacklog?.(bytes)
  }

  private reportDrop(bytes: number): void {
    this.options.onDrop?.(bytes)
    for (const o of this.observers) o.onDrop?.(bytes)
  }

  /**
   * Past the backlog limit the shipper's cursor skips the oldest unshipped segments. They are deleted
   * once no reader holds them: a segment the rules still hold stays on disk a little longer (the rules
   * persist their position every second), but it no longer counts as backlog.
   */
  private enforceLimit(): void {
    let dropped = 0
    for (const id of this.segments.keys()) {
      if (this.backlogBytes() <= this.maxBacklogBytes || id === this.active?.id) break
      if (id < this.cursor.segment) continue
      const before = this.backlogBytes()
      this.cursor = { segment: this.nextSegment(id)!, offset: 0 }
      if (comparePositions(this.readPos, this.cursor) < 0) this.readPos = { ...this.cursor }
      dropped += before - this.backlogBytes()
    }
    if (dropped > 0) {
      this.prune()
      this.persistCursor()
      this.reportDrop(dropped)
    }
  }

  /** Segments before this one are neither unshipped nor held. */
  private keepFrom(): number {
    return Math.min(this.cursor.segment, this.held?.segment ?? Number.POSITIVE_INFINITY)
  }

  private prune(): void {
    const keep = this.keepFrom()
    for (const id of [...this.segments.keys()]) {
      if (id >= keep) break
      if (id === this.active?.id) break
      this.segments.delete(id)
      if (this.readFh?.id === id) {
        void this.readFh.fh.close().catch(() => {})
        this.readFh = undefined
      }
      void fsp.rm(this.segmentPath(id), { force: true }).catch(() => {})
    }
  }

  private nextSegment(id: number): number | undefined {
    for (const other of this.segments.keys()) if (other > id) return other
    return undefined
  }

  private async readHandle(id: number): Promise<FileHandle | undefined> {
    if (this.readFh?.id === id) return this.readFh.fh
    await this.readFh?.fh.close().catch(() => {})
    this.readFh = undefined
    try {
      const fh = await fsp.open(this.segmentPath(id), 'r')
      this.readFh = { id, fh }
      return fh
    } catch {
      return undefined
    }
  }

  /** The cursor is a hint: if it is lost or stale, records are shipped again (writes are idempotent). */
  private persistCursor(): void {
    if (this.closed) return
    this.cursorDirty = true
    // At most every 200 ms: a stale cursor only means records are shipped again.
    this.cursorTimer ??= setTimeout(() => {
      this.cursorTimer = undefined
      this.cursorWrite = this.cursorWrite.then(() => (this.cursorDirty ? this.writeCursor() : undefined))
    }, 200)
  }

  private async writeCursor(): Promise<void> {
    this.cursorDirty = false
    const file = path.join(this.options.dir, CURSOR_FILE)
    try {
      await fsp.writeFile(`${file}.tmp`, JSON.stringify(this.cursor), { mode: 0o600 })
      await fsp.rename(`${file}.tmp`, file)
    } catch (err) {
      this.options.onError?.(err as Error)
    }
  }

  private async loadCursor(): Promise<Position> {
    try {
      const raw = JSON.parse(fs.readFileSync(path.join(this.options.dir, CURSOR_FILE), 'utf8')) as Position
      if (Number.isSafeInteger(raw.segment) && Number.isSafeInteger(raw.offset) && raw.offset >= 0) return raw
    } catch {
      // missing or torn: start from the oldest segment
    }
    return { segment: 0, offset: 0 }
  }

  private segmentPath(id: number): string {
    return path.join(this.options.dir, `${String(id).padStart(12, '0')}.jnl`)
  }
}

/** Index of the newline ending the `maxRecords`-th record (or the last complete one), -1 if none. */
function lastLineEnd(buf: Buffer, length: number, maxRecords: number): number {
  let cut = -1
  let count = 0
  for (let i = buf.indexOf(NEWLINE); i !== -1 && i < length; i = buf.indexOf(NEWLINE, i + 1)) {
    cut = i
    if (++count >= maxRecords) break
  }
  return cut
}

export function comparePositions(a: Position, b: Position): number {
  return a.segment - b.segment || a.offset - b.offset
}
