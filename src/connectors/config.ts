import { z } from 'zod'
import { ID_PATTERN } from '../mqtt/topics.ts'

/**
 * The estate file's `connectors:` section: how uplinks of devices behind a platform reach the hub.
 * Each connector has an `id` (it names the push URL `/ingest/<type>/<id>`) and a `type`. README
 * "Connectors" documents every key and what the platform must be told.
 */

const id = z.string().regex(ID_PATTERN, 'ids are [a-z0-9_-]{1,64}')
/** A shared secret an installer types into the platform: long enough that guessing it is hopeless. */
const secret = z.string().min(16, 'at least 16 characters').max(256)

/** What every push connector has: which estates' devices it may feed, and how fast the platform may push. */
const COMMON = {
  id,
  /** Only devices of these estates may arrive through this connector (default: any estate). */
  estates: z.array(id).max(1000).optional(),
  /** Pushes per second this connector accepts (token bucket, burst of 2 s); above it 429. */
  rate_per_s: z.number().int().min(1).max(100_000).default(2000),
}

/** MQTT broker of a LoRaWAN network server (ChirpStack, The Things Stack). */
const BROKER = {
  url: z.string().regex(/^(mqtts?|wss?):\/\/./, 'mqtt://, mqtts://, ws:// or wss:// URL'),
  username: z.string().max(256).optional(),
  password: z.string().max(1024).optional(),
  /** The MQTT client id: fixed, so the broker keeps the session (and what it queued) across restarts. */
  client_id: z.string().min(1).max(128).optional(),
  /** PEM files for mqtts:// with a private CA or client certificates. */
  ca: z.string().max(4096).optional(),
  cert: z.string().max(4096).optional(),
  key: z.string().max(4096).optional(),
  reject_unauthorized: z.boolean().default(true),
}

export const CHIRPSTACK = z.strictObject({
  ...COMMON,
  type: z.literal('chirpstack'),
  ...BROKER,
  /** ChirpStack's application UUID: topics `application/{application_id}/device/+/event/+`. */
  application_id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^/+#]+$/, 'no / + or #'),
})

export const TTS = z.strictObject({
  ...COMMON,
  type: z.literal('tts'),
  ...BROKER,
  /** The Things Stack application id (and tenant on The Things Industries' cloud). */
  application_id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^/+#@]+$/, 'no / + # or @'),
  tenant_id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^/+#@]+$/, 'no / + # or @')
    .optional(),
})

export const CTWING = z.strictObject({
  ...COMMON,
  type: z.literal('ctwing'),
  /** The secret in the push URL (`?token=`): CTWing's subscription push carries no signature of its own. */
  token: secret,
})

export const ONENET = z.strictObject({
  ...COMMON,
  type: z.literal('onenet'),
  /** The token set in OneNET's HTTP push configuration: signature = Base64(MD5(token + nonce + msg)). */
  token: secret,
})

export const HTTP_PUSH = z.strictObject({
  ...COMMON,
  type: z.literal('http'),
  /** The bearer token the sender presents (`Authorization: Bearer <token>`). */
  token: secret,
})

export const CONNECTOR = z.discriminatedUnion('type', [CHIRPSTACK, TTS, CTWING, ONENET, HTTP_PUSH])
export const CONNECTORS_SECTION = z.array(CONNECTOR).max(100).default([])

export type ConnectorConfig = z.infer<typeof CONNECTOR>
export type ConnectorType = ConnectorConfig['type']
export type ChirpStackConfig = z.infer<typeof CHIRPSTACK>
export type TtsConfig = z.infer<typeof TTS>
export type PushConfig = z.infer<typeof CTWING> | z.infer<typeof ONENET> | z.infer<typeof HTTP_PUSH>

/** Ids unique, estates known: what zod cannot say. Returns the path and message of the first problem. */
export function checkConnectors(
  connectors: readonly ConnectorConfig[],
  isEstate: (id: string) => boolean,
): { path: string[]; message: string } | undefined {
  const seen = new Set<string>()
  for (const [i, c] of connectors.entries()) {
    if (seen.has(c.id))
      return { path: ['connectors', String(i), 'id'], message: `duplicate connector id "${c.id}"` }
    seen.add(c.id)
    for (const [j, e] of (c.estates ?? []).entries()) {
      if (!isEstate(e))
        return { path: ['connectors', String(i), 'estates', String(j)], message: `"${e}" is not an estate` }
    }
  }
  return undefined
}
