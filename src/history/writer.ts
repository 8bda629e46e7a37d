import type { PointRecord } from './schema.ts'

/** The one interface both InfluxDB write paths implement; only src/history talks to InfluxDB. */
export interface PointWriter {
  /** e.g. "v1 http://influx:8086 db=zhian" (no secrets). */
  readonly description: string
  /** Best effort: create the database / retention policy where the server allows it. */
  prepare(): Promise<void>
  /** Resolves only once the server confirmed every point; throws WriteError otherwise. */
  write(points: PointRecord[]): Promise<void>
  close(): Promise<void>
}

/**
 * A failed write. `retryable` false means the server refused the data itself (400: parse error,
 * field type conflict): sending it again cannot help, so the shipper logs, counts and skips it.
 * Everything else (network, timeouts, 5xx, 429, auth, missing database) is retried with backoff.
 */
export class WriteError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'WriteError'
  }
}

export function isRetryableStatus(status: number): boolean {
  return status !== 400 && status !== 413 && status !== 422
}
