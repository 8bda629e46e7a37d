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
  ZHIAN_TLS_CERT: optionalPath,
  ZHIAN_TLS_KEY: optionalPath,
  ZHIAN_HTTP_HOST: z.string().default('0.0.0.0'),
  ZHIAN_HTTP_PORT: port.default(8080),
  ZHIAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ZHIAN_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(64).max(1_048_576).default(8192),
  ZHIAN_DEVICE_RATE: z.coerce.number().min(0.1).max(1_000_000).default(20),
  ZHIAN_DEVICE_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
  ZHIAN_API_TOKEN: optionalPath,
})

export interface HubConfig {
  dataDir: string
  estateFile: string | undefined
  baseTopic: string
  mqtt: { host: string; port: number }
  tls: { port: number; cert: string; key: string } | undefined
  http: { host: string; port: number }
  logLevel: z.infer<typeof ENV_SCHEMA>['ZHIAN_LOG_LEVEL']
  maxPayloadBytes: number
  /** Token bucket per device: sustained messages/s and burst size. */
  deviceRate: { perSecond: number; burst: number }
  /** Fixed admin API token (otherwise one is generated at first start and printed once). */
  apiToken: string | undefined
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const parsed = ENV_SCHEMA.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new ZhianError('ZHIAN_ERR_ENV_INVALID', `${issue.path.join('.')}: ${issue.message}`)
  }
  const e = parsed.data
  if (Boolean(e.ZHIAN_TLS_CERT) !== Boolean(e.ZHIAN_TLS_KEY)) {
    throw new ZhianError('ZHIAN_ERR_ENV_INVALID', 'ZHIAN_TLS_CERT and ZHIAN_TLS_KEY go together')
  }
  return {
    dataDir: path.resolve(e.ZHIAN_DATA_DIR),
    estateFile: e.ZHIAN_CONFIG ? path.resolve(e.ZHIAN_CONFIG) : undefined,
    baseTopic: e.ZHIAN_BASE_TOPIC,
    mqtt: { host: e.ZHIAN_MQTT_HOST, port: e.ZHIAN_MQTT_PORT },
    tls:
      e.ZHIAN_TLS_CERT && e.ZHIAN_TLS_KEY
        ? { port: e.ZHIAN_MQTTS_PORT, cert: e.ZHIAN_TLS_CERT, key: e.ZHIAN_TLS_KEY }
        : undefined,
    http: { host: e.ZHIAN_HTTP_HOST, port: e.ZHIAN_HTTP_PORT },
    logLevel: e.ZHIAN_LOG_LEVEL,
    maxPayloadBytes: e.ZHIAN_MAX_PAYLOAD_BYTES,
    deviceRate: { perSecond: e.ZHIAN_DEVICE_RATE, burst: e.ZHIAN_DEVICE_BURST },
    apiToken: e.ZHIAN_API_TOKEN,
  }
}
