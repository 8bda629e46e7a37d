import { pino } from 'pino'

export type Logger = pino.Logger

/** Structured JSON logs on stdout (pino); one logger per hub, children per feature. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'zhian' }, timestamp: pino.stdTimeFunctions.isoTime })
}

/**
 * An error that can repeat thousands of times a second (every publish while the disk is full): the
 * first occurrence is logged at once, later ones as one line per interval with their count.
 */
export class LogLimit {
  private last = Number.NEGATIVE_INFINITY
  private suppressed = 0

  constructor(
    private readonly msg: string,
    private readonly intervalMs = 10_000,
  ) {}

  note(log: Logger, fields: Record<string, unknown>, now = Date.now()): void {
    if (now - this.last < this.intervalMs) {
      this.suppressed++
      return
    }
    const more = this.suppressed
    this.suppressed = 0
    this.last = now
    log.error(more > 0 ? { ...fields, more_since_last_line: more } : fields, this.msg)
  }
}
