/**
 * CTWing-shaped pushes (ctwing.cn 订阅推送 message formats): what CTWing POSTs to an application's
 * subscription URL for an NB-IoT device's uplink, online/offline change and event. The simulators
 * and the tests use these; they were written from the documented format, not captured from CTWing.
 */

export interface CtwingDevice {
  /** CTWing's device id (产品 id + IMEI in CTWing's own numbering). */
  deviceId: string
  imei: string
  productId?: string
}

/** `payload` in one of CTWing's three shapes. */
export type CtwingPayload =
  | { APPdata: string }
  | { serviceId: string; serviceData: Record<string, unknown> }
  | Record<string, unknown>

export function ctwingDataReport(
  device: CtwingDevice,
  payload: CtwingPayload,
  sn: number,
  timestamp = Date.now(),
): Record<string, unknown> {
  return {
    upPacketSN: sn,
    upDataSN: -1,
    topic: 'v1/up/ad',
    timestamp,
    tenantId: '2000000001',
    serviceId: '',
    protocol: 'lwm2m',
    productId: device.productId ?? '15000001',
    messageType: 'dataReport',
    deviceType: '',
    deviceId: device.deviceId,
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: device.imei,
    payload,
  }
}

export function ctwingOnlineOffline(
  device: CtwingDevice,
  online: boolean,
  timestamp = Date.now(),
): Record<string, unknown> {
  return {
    timestamp,
    tenantId: '2000000001',
    productId: device.productId ?? '15000001',
    deviceId: device.deviceId,
    IMEI: device.imei,
    messageType: 'deviceOnlineOfflineReport',
    eventType: online ? 1 : 0,
  }
}

/** An event the device reported (CTWing `eventReport`: `serviceId`, `eventType`, `eventContent`). */
export function ctwingEventReport(
  device: CtwingDevice,
  serviceId: string,
  eventContent: Record<string, unknown>,
  timestamp = Date.now(),
): Record<string, unknown> {
  return {
    timestamp,
    tenantId: '2000000001',
    serviceId,
    protocol: 'lwm2m',
    productId: device.productId ?? '15000001',
    messageType: 'eventReport',
    deviceId: device.deviceId,
    IMEI: device.imei,
    eventType: 1,
    eventContent,
  }
}

/** Bytes as CTWing's transparent payload. */
export function appData(bytes: Buffer): { APPdata: string } {
  return { APPdata: bytes.toString('base64') }
}

/** POST one push as CTWing does; the token is the secret registered in the subscription URL. */
export async function ctwingPost(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${url}?token=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}
