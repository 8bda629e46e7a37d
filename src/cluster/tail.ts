import type { Bus, Device } from '../core/bus.ts'
import { decodeRecord } from '../ingest/gate.ts'
import type { Position } from '../journal/journal.ts'
import type { Logger } from '../util/logger.ts'
import { endOf, lastIdBefore, type SharedLog } from './log.ts'

/**
 * Every node of a cluster reads the shared log from where it started and puts each device message on
 * its own bus, in the log's order, as the local journal's commit does on a single node: the live state
 * and the dashboards of every node see every reading, and the leader's rules and history see them in
 * one order whichever node took them in. The leader pauses it while its rules catch up (cluster.ts).
 */

const BLOCK_MS = 200

export class Tailer {
  private running = false
  private loop: Promise<void> | undefined
  /** The id of the last record handed to the bus. */
  private last = '0-0'

  constructor(
    private readonly opts: {
      log: SharedLog
      bus: Bus
      deviceOf: (id: string) => Device | undefined
      logger: Logger
    },
  ) {}

  /** Start after `from` (a position just past a record, or the log's end at start). */
  start(from: Position): void {
    this.last = from.segment === 0 && from.offset === 0 ? '0-0' : lastIdBefore(from)
    this.running = true
    this.loop = this.run()
  }

  /** Stop after the batch in hand; resolves with the position just past the last record delivered. */
  async pause(): Promise<Position> {
    this.running = false
    await this.loop
    return this.position
  }

  get position(): Position {
    return this.last === '0-0' ? { segment: 0, offset: 0 } : endOf(this.last)
  }

  async stop(): Promise<void> {
    await this.pause()
  }

  private async run(): Promise<void> {
    while (this.running) {
      let rows: [string, string][]
      try {
        rows = await this.opts.log.readAfter(this.last, BLOCK_MS)
      } catch (err) {
        if (!this.running) return
        this.opts.logger.warn({ err: (err as Error).message }, 'shared log read failed, retrying')
        await new Promise((r) => setTimeout(r, 500))
        continue
      }
      for (const [id, line] of rows) {
        this.last = id
        const e = decodeRecord(line, endOf(id), this.opts.deviceOf)
        if (!e) continue
        try {
          this.opts.bus.emit(e.event, e.payload as never)
        } catch (err) {
          this.opts.logger.error({ err }, 'a listener of a shared-log message threw')
        }
      }
    }
  }
}
