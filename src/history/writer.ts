import type { PointRecord } from './schema.ts'

/** The one interface both InfluxDB write paths implement; only src/history talks to InfluxDB. */
export interface PointWriter {
  /** e.g. "v1 http://influx:8086 db=zhian" (no secrets). */
  readonly description: string
  /** Best effort: create the database / retention policy where the server allows it. */
  prepare(): Promise<void>
  /** Resolves only once the server confirmed every point; throws WriteError otherwise. */
  write(points: PointRecord[]): Promise<void>
  /** Whether the server answers its `/ping` within `timeoutMs` (a cheap probe while backing off). */
  ping(timeoutMs: number): Promise<boolean>
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

/**
 * GET `<base>/ping` (InfluxDB 1.x, 2.x and 3.x all serve it; 1.x and 2.x answer 204 without
 * credentials). Any answer below 500 means the server is up again — a 401 from a server that wants a
 * token on /ping too still proves it is reachable. 5xx is what a reverse proxy says while the server
 * behind it is down.
 */
export async function pingServer(base: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${base.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    return res.status < 500
  } catch {
    return false
  }
}
