import { base64Bytes, devEui, isObject, type ParseResult, timeOf, type Uplink } from '../uplink.ts'

/**
 * ChirpStack v4's MQTT integration, JSON encoding (chirpstack-docs `integrations/mqtt.md` and
 * `integrations/events.md`; api/proto/integration/integration.proto UplinkEvent, StatusEvent,
 * JoinEvent): events on `application/{application_id}/device/{dev_eui}/event/{event}`. Every field is
 * treated as optional (the documented examples omit some).
 */

export const CHIRPSTACK_EVENTS = ['up', 'status', 'join'] as const

/** The topics to subscribe for one application. */
export function chirpstackTopics(applicationId: string): string[] {
  return CHIRPSTACK_EVENTS.map((e) => `application/${applicationId}/device/+/event/${e}`)
}

/** The downlink topic of one device (`…/command/down`). */
export function chirpstackDownTopic(applicationId: string, eui: string): string {
  return `application/${applicationId}/device/${eui}/command/down`
}

/** A downlink as ChirpStack takes it: `{devEui, confirmed, fPort, data}` (data base64). */
export function chirpstackDownlink(eui: string, bytes: Buffer, fPort: number): string {
  return JSON.stringify({ devEui: eui, confirmed: false, fPort, data: bytes.toString('base64') })
}

export function parseChirpstack(topic: string, payload: Buffer): ParseResult {
  const parts = topic.split('/')
  const event = parts[5]
  if (parts.length !== 6 || parts[0] !== 'application' || parts[2] !== 'device' || parts[4] !== 'event') {
    return { error: `not a ChirpStack event topic: ${topic.slice(0, 200)}` }
  }
  let body: unknown
  try {
    body = JSON.parse(payload.toString('utf8'))
  } catch {
    return { error: 'not JSON (is the integration set to JSON encoding?)' }
  }
  if (!isObject(body)) return { error: 'not a JSON object' }
  const info = isObject(body.deviceInfo) ? body.deviceInfo : {}
  const eui = devEui(info.devEui) ?? devEui(parts[3])
  if (!eui) return { error: 'no deviceInfo.devEui' }
  const up: Uplink = {
    ids: [{ kind: 'dev_eui', value: eui }],
    keys: typeof body.deduplicationId === 'string' ? [`msg:${event}:${body.deduplicationId}`] : [],
    ts: timeOf(body.time),
    hint: [info.deviceProfileName, info.deviceName].filter((s) => typeof s === 'string').join(' · '),
  }
  switch (event) {
    case 'up':
      return uplinkEvent(body, up)
    case 'status':
      // Mains-powered devices report no level; an unavailable level is not 0 %.
      if (body.externalPowerSource === true || body.batteryLevelUnavailable === true) return { uplinks: [] }
      if (typeof body.batteryLevel !== 'number') return { uplinks: [] }
      up.batteryPct = Math.max(0, Math.min(100, Math.round(body.batteryLevel)))
      return { uplinks: [up] }
    case 'join':
      up.rejoined = true
      return { uplinks: [up] }
    default:
      return { uplinks: [] }
  }
}

function uplinkEvent(body: Record<string, unknown>, up: Uplink): ParseResult {
  const bytes = body.data === undefined ? undefined : base64Bytes(body.data)
  if (body.data !== undefined && !bytes) return { error: '`data` is not base64' }
  const fPort = typeof body.fPort === 'number' ? body.fPort : undefined
  // LoRaWAN frame counter per session (LoRaWAN 1.0.4 §4.3.1.5): with the DevAddr it names a frame.
  if (typeof body.fCnt === 'number' && typeof body.devAddr === 'string') {
    up.keys.push(`fcnt:${body.devAddr}:${body.fCnt}`)
  }
  const object = isObject(body.object) ? body.object : undefined
  up.payload = {
    ...(bytes ? { bytes } : {}),
    ...(fPort !== undefined ? { fPort } : {}),
    ...(object ? { json: object } : {}),
  }
  return { uplinks: [up] }
}
