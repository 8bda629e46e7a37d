import type { Journal, Position } from '../journal/journal.ts'
import type { Logger } from '../util/logger.ts'
import type { PointRecord } from './schema.ts'
import { type PointWriter, WriteError } from './writer.ts'

/**
 * Reads committed records from the journal and writes them to InfluxDB in batches (size or interval,
 * whichever comes first). The journal cursor advances only after InfluxDB confirmed the batch; on
 * failure the same batch is retried with exponential backoff and equal jitter (a wait between half and
 * all of the current ceiling, so a retry never comes right away), forever — the backlog
 * waits on disk. Points InfluxDB refuses as data (400) are isolated by bisection and skipped.
 */

export interface ShipperOptions {
  journal: Journal
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
        let batch: Awaited<ReturnType<Journal['read']>>
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
        await this.sleep(ceiling / 2 + Math.random() * (ceiling / 2))
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
