import { createHash } from 'node:crypto'
import { base64Bytes, isObject, type ParseResult, textId, timeOf, type Uplink } from '../uplink.ts'

/**
 * OneNET (China Mobile) HTTP push (open.iot.10086.cn/doc/iot_platform/book/application-develop/push/
 * http_push.html): a URL check `GET ?msg&nonce&signature` answered with `msg`, then `POST {msg, nonce,
 * signature, time, id}` where `msg` is a JSON string and signature = Base64(MD5(token + nonce + msg)).
 * OneNET re-pushes a message not answered 200 within 5 s, up to 16 times.
 */

export function onenetSignature(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(`${token}${nonce}${msg}`, 'utf8').digest('base64')
}

/** The push body, signature not checked here: `{msg, nonce, signature, id}` or why not. */
export function onenetEnvelope(
  body: unknown,
): { msg: string; nonce: string; signature: string; id: string | undefined } | { error: string } {
  if (!isObject(body)) return { error: 'not a JSON object' }
  if ('enc_msg' in body) return { error: 'AES safe mode is not supported: set the push to plain mode' }
  const { msg, nonce, signature } = body
  if (typeof msg !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') {
    return { error: 'msg, nonce and signature are strings' }
  }
  const id = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : undefined
  return { msg, nonce, signature, id }
}

/** The `msg` of a push whose signature was checked: `lifeCycle` and `notify` (property, event). */
export function parseOnenet(msgText: string, id: string | undefined): ParseResult {
  let msg: unknown
  try {
    msg = JSON.parse(msgText)
  } catch {
    // In OneNET's AES "safe mode" msg is ciphertext: zhian takes plain mode only (README "Connectors").
    return { error: 'msg is not JSON (is the push in AES safe mode? set it to plain mode)' }
  }
  if (!isObject(msg)) return { error: 'msg is not a JSON object' }
  const name = textId(msg.deviceName)
  const imei = textId(msg.imei)
  const ids = [
    ...(name ? [{ kind: 'platform_device_id' as const, value: name }] : []),
    ...(imei ? [{ kind: 'imei' as const, value: imei }] : []),
  ]
  if (ids.length === 0) return { error: 'neither deviceName nor imei' }
  const data = isObject(msg.data) ? msg.data : {}
  const up: Uplink = {
    ids,
    // The push's id names the message; without one the device's own message id does.
    keys: id ? [`msg:${id}`] : typeof data.id === 'string' ? [`msg:${name ?? imei}:${data.id}`] : [],
    hint: typeof msg.productId === 'string' ? msg.productId : undefined,
  }
  if (msg.messageType === 'lifeCycle') {
    if (data.status !== 'online' && data.status !== 'offline')
      return { error: 'data.status is online or offline' }
    return { uplinks: [{ ...up, online: data.status === 'online', ts: timeOf(data.time) }] }
  }
  if (msg.messageType !== 'notify') return { uplinks: [] } // other subscriptions: nothing for a reading
  if (!isObject(data.params)) return { error: 'data.params is not an object' }
  // Each param is `{value, time}`: the model (or the native JSON) sees the values.
  const values: Record<string, unknown> = {}
  let ts: number | undefined
  for (const [key, p] of Object.entries(data.params)) {
    values[key] = isObject(p) && 'value' in p ? p.value : p
    if (isObject(p)) ts = Math.max(ts ?? 0, timeOf(p.time) ?? 0) || undefined
  }
  if (msg.notifyType === 'event') {
    // One event identifier per message: zhian's native event is `{type, data}`.
    const [type, value] = Object.entries(values)[0] ?? []
    const native = type ? { type, ...(isObject(value) ? { data: value } : {}) } : {}
    return { uplinks: [{ ...up, ts, payload: { json: { event: values } }, native }] }
  }
  const bytes = opaqueData(values[OPAQUE_KEY])
  return { uplinks: [{ ...up, ts, payload: { json: values, ...(bytes ? { bytes } : {}) } }] }
}

/**
 * An NB-IoT device sending its own frames over LwM2M puts them in the Binary App Data Container,
 * object 19 instance 0 resource 0 (OMA LwM2M registry, object 19 "BinaryAppDataContainer", resource
 * 0 "Data", opaque); OneNET names a resource `<object>_<instance>_<resource>`. How OneNET spells the
 * opaque value in a push was not found documented: a hex string is taken as hex, anything else as
 * base64.
 */
const OPAQUE_KEY = '19_0_0'

function opaqueData(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || v.length === 0) return undefined
  if (/^(?:[0-9a-fA-F]{2})+$/.test(v)) return Buffer.from(v, 'hex')
  return base64Bytes(v)
}
