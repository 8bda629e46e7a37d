import { base64Bytes, devEui, isObject, type ParseResult, textId, timeOf, type Uplink } from '../uplink.ts'

/**
 * The Things Stack v3 MQTT server (thethingsindustries.com/docs/integrations/other-integrations/mqtt
 * and …/data-formats): uplinks on `v3/{application id}[@{tenant id}]/devices/{device id}/up`; empty
 * fields are omitted (an `f_cnt` of 0 is absent). The Things Stack publishes at QoS 0 only.
 */

export function ttsTopic(applicationId: string, tenantId: string | undefined): string {
  return `v3/${applicationId}${tenantId ? `@${tenantId}` : ''}/devices/+/up`
}

export function parseTts(topic: string, payload: Buffer): ParseResult {
  const parts = topic.split('/')
  if (parts.length !== 5 || parts[0] !== 'v3' || parts[2] !== 'devices' || parts[4] !== 'up') {
    return { error: `not a The Things Stack uplink topic: ${topic.slice(0, 200)}` }
  }
  let body: unknown
  try {
    body = JSON.parse(payload.toString('utf8'))
  } catch {
    return { error: 'not JSON' }
  }
  if (!isObject(body) || !isObject(body.end_device_ids)) return { error: 'no end_device_ids' }
  const ids = body.end_device_ids
  const msg = isObject(body.uplink_message) ? body.uplink_message : undefined
  if (!msg) return { uplinks: [] } // join accepts, location solved… arrive on other topics; nothing here
  const eui = devEui(ids.dev_eui)
  const deviceId = textId(ids.device_id) ?? textId(parts[3])
  const up: Uplink = {
    ids: [
      ...(eui ? [{ kind: 'dev_eui' as const, value: eui }] : []),
      ...(deviceId ? [{ kind: 'platform_device_id' as const, value: deviceId }] : []),
    ],
    keys: [],
    ts: timeOf(body.received_at),
    hint: deviceId,
  }
  if (up.ids.length === 0) return { error: 'no end_device_ids.dev_eui or device_id' }
  const correlation = Array.isArray(body.correlation_ids)
    ? body.correlation_ids.find((c): c is string => typeof c === 'string' && c.startsWith('as:up:'))
    : undefined
  if (correlation) up.keys.push(`msg:${correlation}`)
  const devAddr = typeof ids.dev_addr === 'string' ? ids.dev_addr : undefined
  if (devAddr) up.keys.push(`fcnt:${devAddr}:${typeof msg.f_cnt === 'number' ? msg.f_cnt : 0}`)
  const bytes = msg.frm_payload === undefined ? undefined : base64Bytes(msg.frm_payload)
  if (msg.frm_payload !== undefined && !bytes) return { error: '`frm_payload` is not base64' }
  const decoded = isObject(msg.decoded_payload) ? msg.decoded_payload : undefined
  up.payload = {
    ...(bytes ? { bytes } : {}),
    ...(typeof msg.f_port === 'number' ? { fPort: msg.f_port } : {}),
    ...(decoded ? { json: decoded } : {}),
  }
  return { uplinks: [up] }
}
