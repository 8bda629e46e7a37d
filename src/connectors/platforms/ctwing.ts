import { base64Bytes, isObject, type ParseResult, textId, type Uplink } from '../uplink.ts'

/**
 * CTWing (China Telecom AEP) subscription push (ctwing.cn 订阅推送, document 103 "消息格式"): one JSON
 * object per POST with a `messageType`. CTWing counts anything but 200 as a failure, retries at most 3
 * times, and puts a receiver that fails often into a one-minute cool-down.
 */

export function parseCtwing(body: unknown): ParseResult {
  if (!isObject(body)) return { error: 'not a JSON object' }
  const deviceId = textId(body.deviceId)
  const imei = textId(body.IMEI)
  const ids = [
    ...(deviceId ? [{ kind: 'platform_device_id' as const, value: deviceId }] : []),
    ...(imei ? [{ kind: 'imei' as const, value: imei }] : []),
  ]
  const type = body.messageType
  if (type === 'commandResponse') {
    return { uplinks: [{ ids, keys: [], logOnly: { taskId: body.taskId, result: body.result } }] }
  }
  if (ids.length === 0) return { error: 'neither deviceId nor IMEI' }
  const ts = typeof body.timestamp === 'number' ? body.timestamp : undefined
  const hint = [body.productId, body.deviceType].filter((s) => typeof s === 'string' && s).join(' · ')
  const base = { ids, ts, hint }
  // A retry is the same message again: its packet and data serial numbers and its timestamp together
  // name it (the serial numbers alone restart when a module reboots).
  const name = `${deviceId ?? imei}:${String(body.upPacketSN)}:${String(body.upDataSN)}:${ts}`
  switch (type) {
    case 'dataReport':
    case 'dataReportTupUnion':
      return dataReport(body.payload, { ...base, keys: [`msg:data:${name}`] })
    case 'eventReport': {
      const content = isObject(body.eventContent) ? body.eventContent : {}
      const json = { serviceId: body.serviceId, eventType: body.eventType, eventContent: content }
      return { uplinks: [{ ...base, keys: [`msg:event:${name}`], payload: { json }, native: content }] }
    }
    case 'deviceOnlineOfflineReport': {
      // eventType 1 = online, 0 = offline.
      if (body.eventType !== 1 && body.eventType !== 0) return { error: 'eventType is 1 or 0' }
      const online = body.eventType === 1
      return { uplinks: [{ ...base, keys: [`msg:online:${name}:${body.eventType}`], online }] }
    }
    default:
      return { error: `messageType ${JSON.stringify(type)?.slice(0, 40)} is not handled` }
  }
}

/** The payload's three shapes: transparent `{APPdata}` (base64), profile `{serviceId, serviceData}`, decoded. */
function dataReport(payload: unknown, up: Uplink): ParseResult {
  if (!isObject(payload)) return { error: 'payload is not an object' }
  if ('APPdata' in payload) {
    const bytes = base64Bytes(payload.APPdata)
    if (!bytes) return { error: 'payload.APPdata is not base64' }
    up.payload = { bytes }
    // A device without a model sends zhian's native JSON as its transparent bytes.
    try {
      const native = JSON.parse(bytes.toString('utf8'))
      if (isObject(native)) up.native = native
    } catch {
      // bytes for a model
    }
    return { uplinks: [up] }
  }
  up.payload = { json: payload }
  if (isObject(payload.serviceData) && 'serviceId' in payload) up.native = payload.serviceData
  return { uplinks: [up] }
}
