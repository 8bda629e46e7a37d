import { FieldType, InfluxDB, type IPoint, type ISchemaOptions, type ISingleHostConfig } from 'influx'
import { ExponentialBackoff } from 'influx/lib/src/backoff/exponential.js'
import {
  FIELD_TYPES,
  type FieldType as OurFieldType,
  PARAM_TAGS,
  type PointRecord,
  SITE_TAGS,
} from './schema.ts'
import { isRetryableStatus, type PointWriter, pingServer, WriteError } from './writer.ts'

/**
 * The v1 write path: the `influx` package (node-influx) against /write and /query — InfluxDB 1.x,
 * and 3.x through its v1 compatibility API (token as password; DDL is refused there and skipped).
 */

export interface InfluxV1Options {
  url: string
  database: string
  username: string | undefined
  password: string | undefined
  /** e.g. "90d": the hub's retention policy `zhian`, made the database default. Empty: leave as is. */
  retention: string | undefined
  timeoutMs: number
}

const INFLUX_TYPES: Record<OurFieldType, FieldType> = {
  boolean: FieldType.BOOLEAN,
  integer: FieldType.INTEGER,
  float: FieldType.FLOAT,
  string: FieldType.STRING,
}

const ALL_TAGS = [...new Set([...SITE_TAGS, ...Object.values(PARAM_TAGS).flat(), 'kind', 'type', 'severity'])]

export class InfluxV1Writer implements PointWriter {
  readonly description: string
  private readonly influx: InfluxDB

  constructor(private readonly options: InfluxV1Options) {
    const url = new URL(options.url)
    this.description = `v1 ${url.origin} db=${options.database}`
    const schema: ISchemaOptions[] = Object.entries(FIELD_TYPES).map(([measurement, fields]) => ({
      measurement,
      fields: Object.fromEntries(Object.entries(fields).map(([k, t]) => [k, INFLUX_TYPES[t]])),
      tags: ALL_TAGS,
    }))
    this.influx = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      database: options.database,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      schema,
      // The shipper owns retries and backoff; the pool only keeps the host usable.
      pool: {
        maxRetries: 0,
        requestTimeout: options.timeoutMs,
        backoff: new ExponentialBackoff({ initial: 50, max: 500, random: 1 }),
      },
    } as ISingleHostConfig)
  }

  async prepare(): Promise<void> {
    const db = this.options.database
    await this.influx.createDatabase(db)
    const retention = this.options.retention
    if (!retention) return
    const existing = await this.influx.showRetentionPolicies(db)
    const rp = { duration: retention, replication: 1, isDefault: true }
    if (existing.some((p) => p.name === 'zhian')) await this.influx.alterRetentionPolicy('zhian', rp)
    else await this.influx.createRetentionPolicy('zhian', rp)
  }

  async write(points: PointRecord[]): Promise<void> {
    const out: IPoint[] = points.map((p) => ({ measurement: p.m, tags: p.t, fields: p.f, timestamp: p.ts }))
    try {
      await this.influx.writePoints(out, { precision: 'n' })
    } catch (err) {
      const status = (err as { res?: { statusCode?: number } }).res?.statusCode
      const message = (err as Error).message
      if (status !== undefined) throw new WriteError(message, isRetryableStatus(status), status)
      // Schema/coercion errors are thrown before sending: the data itself is wrong.
      const local = !(err as { code?: string }).code && /schema|coerce|numeric|field/i.test(message)
      throw new WriteError(message, !local)
    }
  }

  /** node-influx talks to the URL's origin only (its path is not used), so /ping is there too. */
  ping(timeoutMs: number): Promise<boolean> {
    return pingServer(new URL(this.options.url).origin, timeoutMs)
  }

  async close(): Promise<void> {}

  /** InfluxQL over /query, for tests and tools. */
  query<T = Record<string, unknown>>(q: string): Promise<T[]> {
    return this.influx.query(q, { precision: 'ms' }) as Promise<T[]>
  }
}
