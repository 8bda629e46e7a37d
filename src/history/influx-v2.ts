import { HttpError, InfluxDB, Point } from '@influxdata/influxdb-client'
import { type PointRecord, typedFields } from './schema.ts'
import { isRetryableStatus, type PointWriter, pingServer, WriteError } from './writer.ts'

/**
 * The v2 write path: `@influxdata/influxdb-client` against /api/v2/write — InfluxDB 1.8+ (bucket
 * "db/rp", token "user:password"), 2.x, 3.x and Cloud. Its buffer is never the only copy: one
 * WriteApi per batch, flushed at once, no retries of its own (the journal and the shipper retry),
 * and the batch is acknowledged only when the flush resolved.
 */

export interface InfluxV2Options {
  url: string
  org: string
  bucket: string
  token: string | undefined
  timeoutMs: number
}

export class InfluxV2Writer implements PointWriter {
  readonly description: string
  private readonly client: InfluxDB

  constructor(private readonly options: InfluxV2Options) {
    this.description = `v2 ${new URL(options.url).origin} org=${options.org} bucket=${options.bucket}`
    this.client = new InfluxDB({
      url: options.url,
      ...(options.token ? { token: options.token } : {}),
      timeout: options.timeoutMs,
    })
  }

  /** Buckets, retention and DBRP mappings are managed in InfluxDB 2.x/3.x itself (see README). */
  async prepare(): Promise<void> {}

  async write(points: PointRecord[]): Promise<void> {
    const api = this.client.getWriteApi(this.options.org, this.options.bucket, 'ns', {
      batchSize: points.length + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: points.length + 1,
      writeFailed: (error: Error) => Promise.reject(error),
    })
    try {
      for (const p of points) {
        const point = new Point(p.m).timestamp(p.ts)
        for (const [k, v] of Object.entries(p.t)) point.tag(k, v)
        for (const [name, type, value] of typedFields(p)) {
          if (type === 'boolean') point.booleanField(name, value)
          else if (type === 'integer') point.intField(name, value)
          else if (type === 'float') point.floatField(name, value)
          else point.stringField(name, value)
        }
        api.writePoint(point)
      }
      await api.flush()
    } catch (err) {
      if (err instanceof HttpError) {
        throw new WriteError(err.message, isRetryableStatus(err.statusCode), err.statusCode)
      }
      throw new WriteError((err as Error).message, true)
    } finally {
      api.dispose()
    }
  }

  /** The client's API paths hang off the whole URL (a path prefix behind a proxy included). */
  ping(timeoutMs: number): Promise<boolean> {
    return pingServer(this.options.url, timeoutMs)
  }

  async close(): Promise<void> {}
}
