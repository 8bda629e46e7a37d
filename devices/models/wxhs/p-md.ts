/**
 * WXHS P_MD, NB-IoT geomagnetic parking detector, as it reports through CTWing (China Telecom AEP):
 * the platform decodes the device's frames with the product's profile and pushes its properties —
 * `{serviceId, serviceData: {…}}` (profile shape) or the properties as the payload itself (already
 * decoded shape; CTWing subscription push, ctwing.cn "数据推送" dataReport).
 *
 * Payload definition: a public CTWing dataReport of this device (Manufacturer "WXHS", Model "P_MD",
 * productId 15034864), https://github.com/unisoftcn/user-api/blob/master/forms/mag_notify.go; the
 * vendor's own profile document was not found public. Properties read: `parking_state` (0 free,
 * 1 occupied), `battery_voltage` (V), `ptime` (device clock, epoch ms); magnetometer axes, signal
 * and counters carry nothing for the kind.
 * Battery: the detector runs on a 3.6 V lithium thionyl chloride cell, whose voltage stays flat until
 * nearly empty; the percentage is a linear estimate between 3.0 V (empty) and 3.6 V (full).
 */
import { round } from '../bytes.ts'
import type { DecodeResult, ModelDefinition, UplinkInput } from '../types.ts'

const EMPTY_V = 3.0
const FULL_V = 3.6
/** A device clock before 2020 or after 2100 is not a clock worth trusting. */
const CLOCK = { min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) }

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function propertiesOf(json: Record<string, unknown>): Record<string, unknown> | string {
  if ('serviceData' in json)
    return isRecord(json.serviceData) ? json.serviceData : 'serviceData is not an object'
  return json
}

function decode(input: UplinkInput): DecodeResult {
  if (!input.json) return { error: 'no profile JSON (serviceId + serviceData, or the decoded properties)' }
  const p = propertiesOf(input.json)
  if (typeof p === 'string') return { error: p }
  const state: Record<string, unknown> = {}
  if (p.parking_state !== undefined) {
    if (p.parking_state !== 0 && p.parking_state !== 1)
      return { error: `parking_state ${JSON.stringify(p.parking_state)} is neither 0 nor 1` }
    state.occupied = p.parking_state === 1
  }
  if (p.battery_voltage !== undefined) {
    const v = p.battery_voltage
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 5)
      return { error: `battery_voltage ${JSON.stringify(v)} is not a cell voltage` }
    state.battery_pct = round(Math.min(100, Math.max(0, ((v - EMPTY_V) / (FULL_V - EMPTY_V)) * 100)), 0)
  }
  if (Object.keys(state).length === 0)
    return { error: 'neither parking_state nor battery_voltage in the report' }
  const t = p.ptime
  const ts = typeof t === 'number' && Number.isInteger(t) && t >= CLOCK.min && t < CLOCK.max ? t : undefined
  return { decoded: ts === undefined ? { state } : { state, ts } }
}

/** The profile-shaped payload CTWing pushes for a bay state. */
function frame(state: Record<string, unknown>) {
  const serviceData: Record<string, unknown> = {}
  if (typeof state.occupied === 'boolean') serviceData.parking_state = state.occupied ? 1 : 0
  if (typeof state.battery_pct === 'number')
    serviceData.battery_voltage = round(EMPTY_V + (state.battery_pct / 100) * (FULL_V - EMPTY_V), 3)
  return { json: { serviceId: 1, serviceData } }
}

/** The public sample's properties, as CTWing pushed them. */
const SAMPLE = {
  version: 37,
  type: 32,
  ptime: 1622186096000,
  parking_state: 0,
  pack_count: 506,
  mag_id: 127763,
  crc: 320,
  battery_voltage: 3.6559998989105225,
  Z_value: 274,
  Z_base: 419,
  Y_value: -85,
  Y_base: -23,
  X_value: 667,
  X_base: 733,
  Signal_Power: -90,
  Send_cnt: 399,
  Park_cnt: 52,
  Model: 'P_MD',
  Manufacturer: 'WXHS',
  Alarm_info: 0,
}

export const pMd: ModelDefinition = {
  id: 'wxhs/p-md',
  vendor: { zh: 'WXHS', en: 'WXHS' },
  model: 'P_MD',
  names: { zh: 'NB-IoT 地磁车位检测器', en: 'NB-IoT geomagnetic parking detector' },
  kind: 'parking_bay',
  transports: ['ctwing', 'http'],
  source:
    'https://github.com/unisoftcn/user-api/blob/master/forms/mag_notify.go (a CTWing dataReport of this device)',
  decode,
  frame,
  vectors: [
    {
      description: 'public CTWing sample, decoded shape: free, 3.656 V, device clock 2021-05-28',
      input: { json: SAMPLE },
      expect: { state: { occupied: false, battery_pct: 100 }, ts: 1622186096000 },
    },
    {
      description: 'the same properties in the profile shape, occupied',
      input: { json: { serviceId: 1, serviceData: { ...SAMPLE, parking_state: 1 } } },
      expect: { state: { occupied: true, battery_pct: 100 }, ts: 1622186096000 },
    },
    {
      description: 'profile shape, battery at 3.3 V, no device clock',
      input: { json: { serviceId: 1, serviceData: { parking_state: 1, battery_voltage: 3.3 } } },
      expect: { state: { occupied: true, battery_pct: 50 } },
    },
    {
      description: 'a device clock of 1970 is dropped, the reading kept',
      input: { json: { serviceId: 1, serviceData: { parking_state: 0, ptime: 5000 } } },
      expect: { state: { occupied: false } },
    },
    {
      description: 'parking_state 2',
      input: { json: { serviceData: { parking_state: 2 } } },
      expect: { error: true },
    },
    {
      description: 'parking_state as a string',
      input: { json: { parking_state: '1' } },
      expect: { error: true },
    },
    {
      description: 'serviceData not an object',
      input: { json: { serviceId: 1, serviceData: 'AQ==' } },
      expect: { error: true },
    },
    {
      description: 'a report without the bay state or battery',
      input: { json: { serviceId: 1, serviceData: { Signal_Power: -90 } } },
      expect: { error: true },
    },
    {
      description: 'battery_voltage of 380 (millivolts sent as volts)',
      input: { json: { parking_state: 0, battery_voltage: 380 } },
      expect: { error: true },
    },
    {
      description: 'transparent bytes instead of profile JSON',
      input: { base64: 'AQ==' },
      expect: { error: true },
    },
  ],
}
