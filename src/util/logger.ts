import { pino } from 'pino'

export type Logger = pino.Logger

/** Structured JSON logs on stdout (pino); one logger per hub, children per feature. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'zhian' }, timestamp: pino.stdTimeFunctions.isoTime })
}
