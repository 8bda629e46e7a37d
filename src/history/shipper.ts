import type { JournalLike, Position } from '../journal/journal.ts'
import type { Logger } from '../util/logger.ts'
import type { PointRecord } from './schema.ts'
import { type PointWriter, WriteError } from './writer.ts'

/**
 * Reads committed records from the journal and writes them to InfluxDB in batches (size or interval,
 * whichever comes first). The journal cursor advances only after InfluxDB confirmed the batch; on
 * failure the same batch is retried with exponential backoff and equal jitter (a wait between half and
 * all of the current ceiling, so a retry never comes right away), forever — the backlog
 * waits on disk. While the server cannot be reached at all, its /ping is probed about once a second
 * during the wait and the write is retried as soon as it answers: the ceiling (30 s by default) is
 * for a server that answers and fails, not for how late shipping resumes after an outage. Points
 * InfluxDB refuses as data (400) are isolated by bisection and skipped.
 */

/** How often an unreachable server's /ping is probed while backing off, and how long a probe may take. */
const PROBE_EVERY_MS = 1000
const PROBE_TIMEOUT_MS = 1000

export interface ShipperOptions {
  journal: JournalLike
  /** Without a writer records are consumed and discarded (journal on, history off). */
  writer: PointWriter | undefined
  batchSize: number
  intervalMs: number
  backoff: { minMs: number; maxMs: number }
  log: Logger
  onWritten?: (points: number) => void
  onRejected?: (points: number, err: WriteError) => void
  onFailure?: (err: WriteError) => void
}

export class Shipper {
  private stopped = true
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private failing = false
  private prepared = false

  constructor(private readonly options: ShipperOptions) {}

  start(): void {
    this.stopped = false
    this.loop = this.run().catch((err: Error) => this.options.log.error({ err }, 'history shipper crashed'))
  }

  /** Stops after the batch in flight (which is retried on the next start if it did not go through). */
  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.()
    this.options.journal.wakeReaders()
    await this.loop
  }

  /** True while InfluxDB is failing (for health). */
  get isFailing(): boolean {
    return this.failing
  }

  private async run(): Promise<void> {
    const { journal, batchSize, intervalMs } = this.options
    if (!this.options.writer) {
      // History off: the journal only makes PUBACKs durable; committed records need no reading.
      while (!this.stopped) {
        journal.ack(journal.committedEnd())
        await journal.waitForData(1000)
      }
      return
    }
    let lastWrite = 0
    while (!this.stopped) {
      const lines: string[] = []
      let end: Position | undefined
      while (lines.length < batchSize && !this.stopped) {
        let batch: Awaited<ReturnType<JournalLike['read']>>
        try {
          batch = await journal.read(batchSize - lines.length)
        } catch (err) {
          this.options.log.warn({ err }, 'journal read failed, retrying')
          journal.rewind()
          lines.length = 0
          end = undefined
          await this.sleep(intervalMs)
          continue
        }
        if (batch) {
          for (const line of batch.lines) lines.push(line)
          end = batch.end
          continue
        }
        if (lines.length === 0) {
          await journal.waitForData(1000)
          continue
        }
        const wait = lastWrite + intervalMs - Date.now()
        if (wait <= 0) break
        await journal.waitForData(wait)
      }
      if (!end || this.stopped) break
      const shipped = await this.ship(lines)
      if (!shipped) break // stopped while retrying: the batch stays in the journal
      journal.ack(end)
      lastWrite = Date.now()
    }
  }

  /** Returns false when stopped before the batch was confirmed. */
  private async ship(lines: string[]): Promise<boolean> {
    const writer = this.options.writer
    if (!writer) return true
    const points: PointRecord[] = []
    for (const line of lines) {
      try {
        const p = JSON.parse(line) as PointRecord
        if (typeof p.m === 'string') points.push(p) // other records only keep the order of events
      } catch {
        this.options.log.error({ line: line.slice(0, 200) }, 'unreadable journal record skipped')
      }
    }
    let attempt = 0
    while (!this.stopped) {
      try {
        if (!this.prepared) await this.prepare(writer)
        await this.writeIsolating(writer, points)
        if (this.failing) this.options.log.info({ influx: writer.description }, 'InfluxDB writes recovered')
        this.failing = false
        return true
      } catch (err) {
        const e = err instanceof WriteError ? err : new WriteError((err as Error).message, true)
        // "database not found": it was dropped or never created; try creating it again.
        if (e.status === 404) this.prepared = false
        this.options.onFailure?.(e)
        if (!this.failing) {
          this.options.log.warn(
            { influx: writer.description, err: e.message, status: e.status },
            'InfluxDB write failed; keeping the backlog in the journal and retrying with backoff',
          )
        }
        this.failing = true
        attempt++
        const { minMs, maxMs } = this.options.backoff
        const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 30))
        const wait = ceiling / 2 + Math.random() * (ceiling / 2)
        // No HTTP status: refused, reset or timed out — the server is away, so watch for its return.
        // A server that answered (5xx, 401, 404) answers /ping too: probing it would defeat the backoff.
        if (e.status === undefined) await this.waitUnlessBack(writer, wait)
        else await this.sleep(wait)
      }
    }
    return false
  }

  /** Write; if InfluxDB refuses the data itself, split until the refused points are found and skip those. */
  private async writeIsolating(writer: PointWriter, points: PointRecord[]): Promise<void> {
    if (points.length === 0) return
    try {
      await writer.write(points)
      this.options.onWritten?.(points.length)
    } catch (err) {
      if (!(err instanceof WriteError) || err.retryable) throw err
      if (points.length === 1) {
        this.options.log.error({ err: err.message, point: points[0] }, 'InfluxDB refused a point; skipped')
        this.options.onRejected?.(1, err)
        return
      }
      const half = Math.ceil(points.length / 2)
      await this.writeIsolating(writer, points.slice(0, half))
      await this.writeIsolating(writer, points.slice(half))
    }
  }

  private async prepare(writer: PointWriter): Promise<void> {
    try {
      await writer.prepare()
      this.prepared = true
    } catch (err) {
      // The server answered but refused (e.g. 3.x has no DDL, or a user without admin rights): write anyway.
      if ((err as { res?: unknown }).res) {
        this.prepared = true
        this.options.log.info(
          { err: (err as Error).message },
          'could not create the InfluxDB database; writing anyway',
        )
        return
      }
      throw err
    }
  }

  /**
   * Waits `ms` (elapsed time), or less if the server comes back meanwhile: a /ping that answers after
   * one that did not. A server whose first probe answers is up and failing (node-influx reports a 5xx
   * without its status) and gets the whole wait, so the probes never turn into a write per second.
   */
  private async waitUnlessBack(writer: PointWriter, ms: number): Promise<void> {
    const end = performance.now() + ms
    const left = () => end - performance.now()
    // At once: a server that answers right after the failed write is up (and failing), not away.
    if (await writer.ping(PROBE_TIMEOUT_MS)) {
      await this.sleep(Math.max(0, left()))
      return
    }
    while (!this.stopped && left() > 0) {
      await this.sleep(Math.min(PROBE_EVERY_MS, left()))
      if (this.stopped || left() <= 0) return
      if (await writer.ping(PROBE_TIMEOUT_MS)) {
        this.options.log.info({ influx: writer.description }, 'InfluxDB answers /ping again; retrying now')
        return
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
    })
  }
}
