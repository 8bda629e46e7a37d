import { isIP } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { z } from 'zod'
import { ZhianError } from '../errors.ts'

/** Everything the hub reads from the environment, validated once and passed down (no global settings). */

const port = z.coerce.number().int().min(0).max(65_535)
const optionalPath = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined))

const ENV_SCHEMA = z.object({
  ZHIAN_DATA_DIR: z.string().default('./data'),
  ZHIAN_CONFIG: optionalPath,
  ZHIAN_BASE_TOPIC: z.string().default('zhian'),
  ZHIAN_MQTT_HOST: z.string().default('0.0.0.0'),
  ZHIAN_MQTT_PORT: port.default(1883),
  ZHIAN_MQTTS_PORT: port.default(8883),
  // Per source address caps (0 = none) and the CONNECT deadline; see README "Authentication and ACL".
  ZHIAN_MQTT_MAX_CONN_PER_IP: z.coerce.number().int().min(0).max(10_000_000).default(1000),
  ZHIAN_MQTT_MAX_PENDING_PER_IP: z.coerce.number().int().min(0).max(10_000_000).default(50),
  ZHIAN_MQTT_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Comma-separated addresses the per-address caps skip; `loopback` = 127.0.0.0/8 and ::1. */
  ZHIAN_MQTT_LIMIT_EXEMPT: z.string().default('loopback'),
  ZHIAN_TLS_CERT: optionalPath,
  ZHIAN_TLS_KEY: optionalPath,
  ZHIAN_HTTP_HOST: z.string().default('0.0.0.0'),
  ZHIAN_HTTP_PORT: port.default(8080),
  /** The dashboard over HTTPS: PEM files, both or neither (like ZHIAN_TLS_CERT/KEY for MQTT). */
  ZHIAN_HTTPS_CERT: optionalPath,
  ZHIAN_HTTPS_KEY: optionalPath,
  /**
   * Behind a reverse proxy (HTTP, and MQTT over WebSocket on /mqtt): whose X-Forwarded-For/-Proto to
   * believe. `false` (default), `true` (any peer: only when nothing but the proxy can reach the
   * port), a hop count, or addresses/CIDRs (`127.0.0.1`, `10.0.0.0/8`, `loopback`), comma-separated.
   */
  ZHIAN_TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const parsed = parseTrustProxy(v ?? '')
      if (parsed === undefined)
        ctx.addIssue({
          code: 'custom',
          message: 'true, false, a hop count, or addresses/CIDRs (comma-separated)',
        })
      return parsed ?? false
    }),
  /** Where people reach the dashboard (links in notifications and reports), e.g. https://zhian.example.cn */
  ZHIAN_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'an http(s) URL such as https://zhian.example.cn')
    .optional()
    .transform((v) => v?.replace(/\/+$/, '')),
  /** The store on PostgreSQL instead of the embedded SQLite file, e.g. postgres://zhian@db/zhian. */
  ZHIAN_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL such as postgres://zhian@127.0.0.1:5432/zhian')
    .optional(),
  /** Cluster mode (with ZHIAN_DATABASE_URL): the Redis that carries MQTT across nodes, socket.io and the shared log. */
  ZHIAN_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// URL such as redis://127.0.0.1:6379')
    .optional(),
  /** This node's name in the cluster (MQTT broker id, estate ownership, `zhian cluster status`). */
  ZHIAN_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (up to 63)')
    .optional(),
  /** Cluster mode: this node's HTTP address as the other nodes reach it (default http://<host name>:<port>). */
  ZHIAN_NODE_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+$/, 'an http(s) URL without a path, such as http://hub-1:8080')
    .optional(),
  ZHIAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ZHIAN_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(64).max(1_048_576).default(8192),
  ZHIAN_DEVICE_RATE: z.coerce.number().min(0.1).max(1_000_000).default(20),
  ZHIAN_DEVICE_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
  ZHIAN_API_TOKEN: optionalPath,
  // History (InfluxDB) and the ingest journal; see README "History (InfluxDB) and Grafana".
  ZHIAN_INFLUX_URL: optionalPath,
  ZHIAN_INFLUX_API: z.enum(['v1', 'v2']).default('v1'),
  ZHIAN_INFLUX_DB: z.string().min(1).default('zhian'),
  ZHIAN_INFLUX_USER: optionalPath,
  ZHIAN_INFLUX_PASSWORD: optionalPath,
  ZHIAN_INFLUX_ORG: z.string().default(''),
  ZHIAN_INFLUX_BUCKET: optionalPath,
  ZHIAN_INFLUX_TOKEN: optionalPath,
  ZHIAN_INFLUX_RETENTION: z
    .string()
    .regex(/^(\d+[smhdw])+$|^INF$|^$/, 'a duration like 90d, 12w or INF')
    .optional()
    .transform((v) => (v ? v : undefined)),
  ZHIAN_INFLUX_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  ZHIAN_INFLUX_BATCH_INTERVAL_MS: z.coerce.number().int().min(1).max(600_000).default(1000),
  ZHIAN_INFLUX_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  ZHIAN_INFLUX_TS_SKEW_S: z.coerce.number().min(0).default(300),
  ZHIAN_INFLUX_TS_MAX_AGE_S: z.coerce
    .number()
    .min(0)
    .default(7 * 86_400),
  ZHIAN_REPORT_TZ: z.string().min(1).max(64).default('Asia/Shanghai'),
  // Voice channels' provider secrets are in variables the estate file names (`secret_env`), read by
  // src/dispatch/config.ts when the file loads and at each call; no fixed name, so none here.
  ZHIAN_NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  ZHIAN_JOURNAL: z.enum(['auto', 'on', 'off']).default('auto'),
  ZHIAN_JOURNAL_BACKLOG_MB: z.coerce.number().min(1).max(1_048_576).default(2048),
  ZHIAN_JOURNAL_COMMIT_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(0),
})

export interface HubConfig {
  dataDir: string
  /** `ZHIAN_DATABASE_URL`: the store on PostgreSQL; undefined = the embedded SQLite file in dataDir. */
  databaseUrl?: string | undefined
  /** Cluster mode (`ZHIAN_REDIS_URL` + `ZHIAN_DATABASE_URL`): several nodes behind one load balancer. */
  cluster?: ClusterConfig | undefined
  estateFile: string | undefined
  baseTopic: string
  mqtt: { host: string; port: number; limits?: Partial<MqttLimits> | undefined }
  tls: { port: number; cert: string; key: string } | undefined
  http: {
    host: string
    port: number
    /** HTTPS for the dashboard, the API, socket.io and MQTT over WebSocket (PEM file paths). */
    tls?: { cert: string; key: string } | undefined
    /** fastify's trustProxy: which peers' X-Forwarded-* headers are believed (req.ip, req.protocol). */
    trustProxy?: TrustProxy | undefined
  }
  /** Base of the links in notifications and reports; default http://<host or localhost>:<port>. */
  publicUrl?: string | undefined
  logLevel: z.infer<typeof ENV_SCHEMA>['ZHIAN_LOG_LEVEL']
  maxPayloadBytes: number
  /** Token bucket per device: sustained messages/s and burst size. */
  deviceRate: { perSecond: number; burst: number }
  /** Fixed admin API token (otherwise one is generated at first start and printed once). */
  apiToken: string | undefined
  /** InfluxDB history; undefined = history off (the hub says so once). */
  history?: HistoryConfig | undefined
  /**
   * Device `ts` window (ZHIAN_INFLUX_TS_SKEW_S / ZHIAN_INFLUX_TS_MAX_AGE_S): ingest replaces a `ts`
   * outside it by the receive time, for rules and history alike. Default 5 min ahead, 7 days behind.
   */
  tsWindow?: { maxFutureMs: number; maxPastMs: number } | undefined
  /** The durable ingest journal in front of the PUBACK (defaults: see JOURNAL_DEFAULTS). */
  journal?: Partial<JournalConfig> | undefined
  /** Time zone of report periods and schedules (`ZHIAN_REPORT_TZ`, default Asia/Shanghai). */
  reportTz?: string | undefined
  /** One notification attempt (connect, redirects, answer) ends after this (`ZHIAN_NOTIFY_TIMEOUT_MS`). */
  notifyTimeoutMs?: number | undefined
}

export interface ClusterConfig {
  redisUrl: string
  /** Unique per node (`ZHIAN_NODE_ID`; default host name and process id). */
  nodeId: string
  /** `ZHIAN_NODE_URL`: where the other nodes reach this node's HTTP (requests passed to the leader). */
  nodeUrl?: string | undefined
}

export type TrustProxy = boolean | number | string[]

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal']

function parseTrustProxy(value: string): TrustProxy | undefined {
  const v = value.trim()
  if (v === '' || v === 'false') return false
  if (v === 'true') return true
  if (/^\d+$/.test(v)) return Number(v)
  const list = v.split(',').map((s) => s.trim())
  const valid = (entry: string) => {
    if (PROXY_NAMES.includes(entry)) return true
    const [address, bits, ...rest] = entry.split('/')
    const family = isIP(address ?? '')
    if (!family || rest.length) return false
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  }
  return list.every(valid) ? list : undefined
}

/** Connection limits of the MQTT listeners (defaults: MQTT_LIMIT_DEFAULTS). */
export interface MqttLimits {
  /** Open connections per source address; 0 = no cap. */
  maxConnectionsPerAddress: number
  /** Connections per source address that have not completed CONNECT; 0 = no cap. */
  maxPendingPerAddress: number
  /** A connection that sends no CONNECT within this is closed. */
  connectTimeoutMs: number
  /** Addresses the caps do not apply to; `loopback` stands for 127.0.0.0/8 and ::1. */
  exempt: string[]
}

export const MQTT_LIMIT_DEFAULTS: MqttLimits = {
  maxConnectionsPerAddress: 1000,
  maxPendingPerAddress: 50,
  connectTimeoutMs: 10_000,
  exempt: ['loopback'],
}

export interface HistoryConfig {
  api: 'v1' | 'v2'
  url: string
  /** v1 */
  database: string
  username: string | undefined
  password: string | undefined
  /** v1: duration of the hub's default retention policy (e.g. "90d"); undefined = leave the database as is. */
  retention: string | undefined
  /** v2 */
  org: string
  bucket: string
  token: string | undefined
  batchSize: number
  batchIntervalMs: number
  timeoutMs: number
  backoff: { minMs: number; maxMs: number }
  /** @deprecated ignored: the window is HubConfig.tsWindow, applied once by ingest. */
  tsMaxFutureMs?: number
  /** @deprecated ignored, see tsMaxFutureMs. */
  tsMaxPastMs?: number
}

export interface JournalConfig {
  /** auto: on when history is configured. on without history: durable before PUBACK, then discarded. */
  mode: 'auto' | 'on' | 'off'
  /** Unshipped backlog limit; past it the oldest segments are dropped (counted, logged, alerted). */
  maxBacklogBytes: number
  /** Extra wait before a group commit (0: commit as soon as the disk is free). */
  commitDelayMs: number
  segmentBytes: number
}

export const JOURNAL_DEFAULTS: JournalConfig = {
  mode: 'auto',
  maxBacklogBytes: 2048 * 1024 ** 2,
  commitDelayMs: 0,
  segmentBytes: 16 * 1024 ** 2,
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const parsed = ENV_SCHEMA.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new ZhianError('ZHIAN_ERR_ENV_INVALID', `${issue.path.join('.')}: ${issue.message}`)
  }
  const e = parsed.data
  if (Boolean(e.ZHIAN_HTTPS_CERT) !== Boolean(e.ZHIAN_HTTPS_KEY)) {
    throw new ZhianError('ZHIAN_ERR_ENV_INVALID', 'ZHIAN_HTTPS_CERT and ZHIAN_HTTPS_KEY go together')
  }
  if (Boolean(e.ZHIAN_TLS_CERT) !== Boolean(e.ZHIAN_TLS_KEY)) {
    throw new ZhianError('ZHIAN_ERR_ENV_INVALID', 'ZHIAN_TLS_CERT and ZHIAN_TLS_KEY go together')
  }
  // Without the journal the shipper has nothing to read: history would be silently empty.
  if (e.ZHIAN_INFLUX_URL && e.ZHIAN_JOURNAL === 'off') {
    throw new ZhianError(
      'ZHIAN_ERR_ENV_INVALID',
      'ZHIAN_JOURNAL=off cannot go with ZHIAN_INFLUX_URL: history is written through the journal (use auto or on)',
    )
  }
  // A cluster's nodes share the store: Redis without PostgreSQL would leave each node its own SQLite.
  if (e.ZHIAN_REDIS_URL && !e.ZHIAN_DATABASE_URL) {
    throw new ZhianError(
      'ZHIAN_ERR_ENV_INVALID',
      'ZHIAN_REDIS_URL (cluster mode) needs ZHIAN_DATABASE_URL: the nodes share one PostgreSQL store',
    )
  }
  return {
    dataDir: path.resolve(e.ZHIAN_DATA_DIR),
    databaseUrl: e.ZHIAN_DATABASE_URL,
    cluster: e.ZHIAN_REDIS_URL
      ? {
          redisUrl: e.ZHIAN_REDIS_URL,
          nodeId: e.ZHIAN_NODE_ID ?? `${os.hostname()}-${process.pid}`,
          nodeUrl: e.ZHIAN_NODE_URL,
        }
      : undefined,
    estateFile: e.ZHIAN_CONFIG ? path.resolve(e.ZHIAN_CONFIG) : undefined,
    baseTopic: e.ZHIAN_BASE_TOPIC,
    mqtt: {
      host: e.ZHIAN_MQTT_HOST,
      port: e.ZHIAN_MQTT_PORT,
      limits: {
        maxConnectionsPerAddress: e.ZHIAN_MQTT_MAX_CONN_PER_IP,
        maxPendingPerAddress: e.ZHIAN_MQTT_MAX_PENDING_PER_IP,
        connectTimeoutMs: e.ZHIAN_MQTT_CONNECT_TIMEOUT_MS,
        exempt: e.ZHIAN_MQTT_LIMIT_EXEMPT.split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      },
    },
    tls:
      e.ZHIAN_TLS_CERT && e.ZHIAN_TLS_KEY
        ? { port: e.ZHIAN_MQTTS_PORT, cert: e.ZHIAN_TLS_CERT, key: e.ZHIAN_TLS_KEY }
        : undefined,
    http: {
      host: e.ZHIAN_HTTP_HOST,
      port: e.ZHIAN_HTTP_PORT,
      tls:
        e.ZHIAN_HTTPS_CERT && e.ZHIAN_HTTPS_KEY
          ? { cert: e.ZHIAN_HTTPS_CERT, key: e.ZHIAN_HTTPS_KEY }
          : undefined,
      trustProxy: e.ZHIAN_TRUST_PROXY,
    },
    publicUrl: e.ZHIAN_PUBLIC_URL,
    logLevel: e.ZHIAN_LOG_LEVEL,
    maxPayloadBytes: e.ZHIAN_MAX_PAYLOAD_BYTES,
    deviceRate: { perSecond: e.ZHIAN_DEVICE_RATE, burst: e.ZHIAN_DEVICE_BURST },
    apiToken: e.ZHIAN_API_TOKEN,
    history: e.ZHIAN_INFLUX_URL
      ? {
          api: e.ZHIAN_INFLUX_API,
          url: e.ZHIAN_INFLUX_URL,
          database: e.ZHIAN_INFLUX_DB,
          username: e.ZHIAN_INFLUX_USER,
          password: e.ZHIAN_INFLUX_PASSWORD,
          retention: e.ZHIAN_INFLUX_RETENTION,
          org: e.ZHIAN_INFLUX_ORG,
          bucket: e.ZHIAN_INFLUX_BUCKET ?? e.ZHIAN_INFLUX_DB,
          token: e.ZHIAN_INFLUX_TOKEN,
          batchSize: e.ZHIAN_INFLUX_BATCH_SIZE,
          batchIntervalMs: e.ZHIAN_INFLUX_BATCH_INTERVAL_MS,
          timeoutMs: e.ZHIAN_INFLUX_TIMEOUT_MS,
          backoff: { minMs: 200, maxMs: 30_000 },
        }
      : undefined,
    tsWindow: {
      maxFutureMs: e.ZHIAN_INFLUX_TS_SKEW_S * 1000,
      maxPastMs: e.ZHIAN_INFLUX_TS_MAX_AGE_S * 1000,
    },
    reportTz: e.ZHIAN_REPORT_TZ,
    notifyTimeoutMs: e.ZHIAN_NOTIFY_TIMEOUT_MS,
    journal: {
      mode: e.ZHIAN_JOURNAL,
      maxBacklogBytes: Math.round(e.ZHIAN_JOURNAL_BACKLOG_MB * 1024 ** 2),
      commitDelayMs: e.ZHIAN_JOURNAL_COMMIT_DELAY_MS,
    },
  }
}
