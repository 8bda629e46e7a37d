import crypto from 'node:crypto'
import type { Speech, VoiceChannel } from './config.ts'

/**
 * Voice calls (语音通知): the provider reads the alert aloud to a phone. Each provider plays a
 * text-to-speech template registered (and approved) in its console; we fill its variables with the
 * alert in Chinese (`SPEECH_FIELDS`). Requests follow the providers' public API references:
 * - Aliyun 语音服务 `SingleCallByTts` (dyvmsapi 2017-05-25), RPC signature v1.0 (HMAC-SHA1), help.aliyun.com
 *   document 393519 (the API) and 28839 (签名机制);
 * - Tencent Cloud 语音消息 `SendTtsVoice` (vms 2020-09-02), signature v3 (TC3-HMAC-SHA256),
 *   cloud.tencent.com/document/api/1128/51558 (the API) and the API 3.0 "签名方法 v3" page;
 * - `http`: any gateway, with a URL and body template like the SMS channel.
 * Secrets come from the estate file (`secret`) or the environment (`secret_env`), are used only to
 * sign, and never appear in a stored row, a log line or an error.
 */

/** The HTTP request to send (the outbox's `OutboundRequest`). */
export interface VoiceRequest {
  url: string
  method: 'POST' | 'GET'
  headers: Record<string, string>
  body: string | undefined
}

/** The channel's secret: inline, else from the environment variable it names (checked when the estate file loads). */
export function secretOf(c: {
  secret?: string | undefined
  secret_env?: string | undefined
}): string | undefined {
  if (c.secret) return c.secret
  const fromEnv = c.secret_env ? process.env[c.secret_env] : undefined
  return fromEnv ? fromEnv : undefined
}

function mustSecret(c: VoiceChannel): string {
  const s = secretOf(c)
  // The variable's name is configuration, not a secret: it tells the operator what to set.
  if (!s) throw new Error(`environment variable ${c.secret_env ?? '(none)'} is not set`)
  return s
}

// ───────────────────────────── Aliyun: RPC signature v1.0 ─────────────────────────────

/** RFC 3986 encoding as the RPC signature requires: space as %20, `*` as %2A, `~` kept (签名机制 步骤一). */
export function aliyunPercentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Parameters sorted by name, names and values encoded, joined with `&` (the canonicalized query string). */
export function aliyunCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${aliyunPercentEncode(k)}=${aliyunPercentEncode(params[k]!)}`)
    .join('&')
}

/** Base64(HMAC-SHA1(key = "<AccessKeySecret>&", "<METHOD>&%2F&<encoded canonicalized query>")). */
export function aliyunSignature(method: string, params: Record<string, string>, secret: string): string {
  const toSign = `${method}&${aliyunPercentEncode('/')}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`
  return crypto.createHmac('sha1', `${secret}&`).update(toSign).digest('base64')
}

/** ISO 8601 in UTC without milliseconds, as the RPC `Timestamp` parameter wants it. */
const aliyunTimestamp = (now: number) => new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z')

function aliyunRequest(
  c: Extract<VoiceChannel, { provider: 'aliyun' }>,
  speech: Speech,
  now: number,
): VoiceRequest {
  const params: Record<string, string> = {
    AccessKeyId: c.access_key_id,
    Action: 'SingleCallByTts',
    Format: 'JSON',
    RegionId: c.region,
    SignatureMethod: 'HMAC-SHA1',
    // A fresh nonce per attempt: the provider refuses a nonce it has seen (replay protection).
    SignatureNonce: crypto.randomUUID(),
    SignatureVersion: '1.0',
    Timestamp: aliyunTimestamp(now),
    Version: '2017-05-25',
    CalledNumber: c.to,
    TtsCode: c.template,
    TtsParam: JSON.stringify(Object.fromEntries(c.params.map((p) => [p, speech[p]]))),
    PlayTimes: String(c.play_times),
  }
  // Absent = the provider's public number pool (公共模式); set = a number bought for this account.
  if (c.show_number) params.CalledShowNumber = c.show_number
  const body = `${aliyunCanonicalQuery(params)}&Signature=${aliyunPercentEncode(aliyunSignature('POST', params, mustSecret(c)))}`
  return {
    url: c.url,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  }
}

// ───────────────────────────── Tencent Cloud: TC3-HMAC-SHA256 ─────────────────────────────

const sha256hex = (s: string) => crypto.createHash('sha256').update(s).digest('hex')
const hmac = (key: crypto.BinaryLike, s: string) => crypto.createHmac('sha256', key).update(s).digest()

export const TC3_CONTENT_TYPE = 'application/json; charset=utf-8'
export const TC3_SIGNED_HEADERS = 'content-type;host;x-tc-action'

/** The canonical request of a POST to `/` with a JSON body: signed headers content-type, host and x-tc-action (lower case). */
export function tc3CanonicalRequest(host: string, action: string, payload: string): string {
  const headers = `content-type:${TC3_CONTENT_TYPE}\nhost:${host}\nx-tc-action:${action.toLowerCase()}\n`
  return ['POST', '/', '', headers, TC3_SIGNED_HEADERS, sha256hex(payload)].join('\n')
}

/** The `Authorization` header: the key derived from the date and service signs the hashed canonical request. */
export function tc3Authorization(
  a: { secretId: string; secretKey: string; service: string; host: string; action: string },
  timestamp: number,
  payload: string,
): string {
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10)
  const scope = `${date}/${a.service}/tc3_request`
  const toSign = [
    'TC3-HMAC-SHA256',
    String(timestamp),
    scope,
    sha256hex(tc3CanonicalRequest(a.host, a.action, payload)),
  ].join('\n')
  const key = hmac(hmac(hmac(`TC3${a.secretKey}`, date), a.service), 'tc3_request')
  const signature = crypto.createHmac('sha256', key).update(toSign).digest('hex')
  return `TC3-HMAC-SHA256 Credential=${a.secretId}/${scope}, SignedHeaders=${TC3_SIGNED_HEADERS}, Signature=${signature}`
}

function tencentRequest(
  c: Extract<VoiceChannel, { provider: 'tencent' }>,
  key: string,
  speech: Speech,
  now: number,
): VoiceRequest {
  const action = 'SendTtsVoice'
  const payload = JSON.stringify({
    TemplateId: c.template,
    // The template's {1}, {2}… in this order.
    TemplateParamSet: c.params.map((p) => speech[p]),
    CalledNumber: c.to,
    VoiceSdkAppid: c.sdk_app_id,
    PlayTimes: c.play_times,
    // Returned as is in the provider's answer and call receipts: the notification it belongs to.
    SessionContext: key,
  })
  const timestamp = Math.floor(now / 1000)
  const host = new URL(c.url).host
  return {
    url: c.url,
    method: 'POST',
    headers: {
      'content-type': TC3_CONTENT_TYPE,
      'x-tc-action': action,
      'x-tc-version': '2020-09-02',
      'x-tc-timestamp': String(timestamp),
      'x-tc-region': c.region,
      authorization: tc3Authorization(
        { secretId: c.secret_id, secretKey: mustSecret(c), service: 'vms', host, action },
        timestamp,
        payload,
      ),
    },
    body: payload,
  }
}

// ───────────────────────────── any gateway: a template ─────────────────────────────

function templateRequest(
  c: Extract<VoiceChannel, { provider: 'http' }>,
  key: string,
  speech: Speech,
  keyHeader: string,
): VoiceRequest {
  const fill = (template: string, esc: (s: string) => string) =>
    template
      .replaceAll('{to}', esc(c.to))
      .replaceAll('{key}', esc(key))
      .replaceAll('{estate}', esc(speech.estate))
      .replaceAll('{device}', esc(speech.device))
      .replaceAll('{alert}', esc(speech.alert))
      .replaceAll('{text}', esc(speech.text))
  const url = fill(c.url, encodeURIComponent)
  const headers: Record<string, string> = { [keyHeader]: key }
  const secret = secretOf(c)
  if (secret) headers.authorization = `Bearer ${secret}`
  if (c.method === 'GET') return { url, method: 'GET', headers, body: undefined }
  headers['content-type'] = c.content_type
  const body = c.body
    ? fill(c.body, (s) => JSON.stringify(s).slice(1, -1))
    : JSON.stringify({ to: c.to, ...speech, idempotency_key: key })
  return { url, method: 'POST', headers, body }
}

/** The request for a voice channel; throws (without the secret) when its secret is not set. */
export function voiceRequest(
  c: VoiceChannel,
  speech: Speech,
  key: string,
  now: number,
  keyHeader: string,
): VoiceRequest {
  switch (c.provider) {
    case 'aliyun':
      return aliyunRequest(c, speech, now)
    case 'tencent':
      return tencentRequest(c, key, speech, now)
    case 'http':
      return templateRequest(c, key, speech, keyHeader)
  }
}

/**
 * Whether the provider took the call. Aliyun answers `Code: "OK"` (else an error code, also with
 * HTTP 4xx/5xx); Tencent answers HTTP 200 with `Response.Error` on failure; a gateway, any 2xx.
 */
export function voiceAccepted(
  c: VoiceChannel,
  status: number,
  body: string,
): { ok: boolean; error?: string } {
  if (c.provider === 'http')
    return status >= 200 && status < 300 ? { ok: true } : { ok: false, error: `HTTP ${status}` }
  let parsed: Record<string, unknown> | undefined
  try {
    parsed = JSON.parse(body) as Record<string, unknown>
  } catch {
    parsed = undefined
  }
  const ok2xx = status >= 200 && status < 300
  if (c.provider === 'aliyun') {
    if (ok2xx && parsed?.Code === 'OK') return { ok: true }
    const code =
      parsed?.Code === undefined
        ? `HTTP ${status}`
        : `${String(parsed.Code)}: ${String(parsed.Message ?? '')}`
    return { ok: false, error: code }
  }
  const response = parsed?.Response as { Error?: { Code?: string; Message?: string } } | undefined
  if (ok2xx && response && !response.Error) return { ok: true }
  const error = response?.Error
  return { ok: false, error: error ? `${error.Code ?? ''}: ${error.Message ?? ''}` : `HTTP ${status}` }
}
