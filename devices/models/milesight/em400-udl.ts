/**
 * Milesight EM400-UDL, LoRaWAN ultrasonic distance/level sensor, mounted under a manhole cover looking
 * down the well: distance to the water → water level, its tilt switch → the cover was disturbed.
 *
 * Payload definition: Milesight-IoT/SensorDecoders, em-series/em400-udl/README.md (channel table,
 * "Example (Sensor Payload Data)"), https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em400-udl
 * (revision of 2026-07-30), reimplemented from the tables. Uplinks on LoRaWAN FPort 85 (Milesight's
 * uplink port, EM400-UDL user guide "Uplink Packets").
 */
import { float } from '../../types.ts'
import { bytesOf, type Channel, type ChannelTable, readChannels, round, skip } from '../bytes.ts'
import type { DecodeResult, Downlink, ModelDefinition, UplinkInput } from '../types.ts'

const PORT = 85

/** Milesight device-information channels (id 0xFF): nothing for the kind, skipped by their length. */
export const MILESIGHT_INFO: [number, Channel][] = [
  [0xff01, skip(1)], // IPSO version
  [0xff09, skip(2)], // hardware version
  [0xff0a, skip(2)], // firmware version
  [0xffff, skip(2)], // TSL version
  [0xff16, skip(8)], // serial number
  [0xff0f, skip(1)], // LoRaWAN class
  [0xfffe, skip(1)], // reset event
  [0xff0b, skip(1)], // device status (power on)
]

/** A 0xFE/0xFF channel not in the table is a reply to a configuration downlink: nothing after it is telemetry. */
export const milesightReply = (id: number) => id === 0xfe || id === 0xff

const battery: Channel = {
  size: 1,
  read: (d, out) => {
    out.battery = d[0]!
    return undefined
  },
}
const distance = (size: number): Channel => ({
  size,
  read: (d, out) => {
    out.distance_mm = d.readUInt16LE(0)
    return undefined
  },
})

const CHANNELS: ChannelTable = new Map<number, Channel>([
  ...MILESIGHT_INFO,
  [0x0175, battery],
  [0x0367, skip(2)], // temperature (int16 LE, 0.1 °C): the manhole kind has no temperature
  [0x0482, distance(2)], // distance, uint16 LE, mm
  [
    0x0500,
    {
      size: 1,
      read: (d, out) => {
        if (d[0]! > 1) return `position ${d[0]} is neither 0 (normal) nor 1 (tilt)`
        out.tilt = d[0] === 1
        return undefined
      },
    },
  ],
  [0x0688, skip(9)], // location (NB-IoT variant only)
  [0x8367, skip(3)], // temperature with its abnormal status
  [0x8482, distance(3)], // distance + threshold alarm status: the hub raises its own alert
])

/**
 * A Milesight report-interval downlink: `0xFF 0x03` + seconds (uint16 LE), on FPort 85 (the vendor's
 * encoders, setReportInterval). Only `report_interval_s` is settable through it; the range is the model's.
 */
export function milesightReportInterval(min: number, max: number) {
  return (set: Record<string, unknown>): Downlink | { error: string } => {
    const other = Object.keys(set).filter((k) => k !== 'report_interval_s')
    if (other.length) return { error: `not settable on this model: ${other.join(', ')}` }
    const s = set.report_interval_s
    if (typeof s !== 'number' || !Number.isInteger(s) || s < min || s > max) {
      return { error: `report_interval_s must be a whole number of seconds in [${min}, ${max}]` }
    }
    const bytes = Buffer.from([0xff, 0x03, 0, 0])
    bytes.writeUInt16LE(s, 2)
    return { bytes, fPort: PORT }
  }
}

/** water level = well depth below the sensor − distance to the surface, never below the bottom. */
function level(distanceMm: number, mountDepthCm: number): number {
  return round(Math.max(0, mountDepthCm - distanceMm / 10))
}

function decode(input: UplinkInput): DecodeResult {
  const bytes = bytesOf(input, PORT)
  if (typeof bytes === 'string') return { error: bytes }
  const read = readChannels(bytes, CHANNELS, { stopAt: milesightReply })
  if ('error' in read) return read
  const v = read.values
  const state: Record<string, unknown> = {}
  if (typeof v.battery === 'number') state.battery_pct = v.battery
  if (typeof v.tilt === 'boolean') state.cover_open = v.tilt
  if (typeof v.distance_mm === 'number') {
    const depth = input.params.mount_depth_cm
    if (typeof depth !== 'number') return { error: 'distance needs the device param mount_depth_cm' }
    state.water_level_cm = level(v.distance_mm, depth)
  }
  return { decoded: Object.keys(state).length ? { state } : {} }
}

/** The frame the sensor sends for a manhole state (battery, distance, position channels). */
function frame(state: Record<string, unknown>, params: Readonly<Record<string, unknown>>) {
  const parts: Buffer[] = []
  if (typeof state.battery_pct === 'number')
    parts.push(Buffer.from([0x01, 0x75, Math.round(state.battery_pct)]))
  if (typeof state.water_level_cm === 'number' && typeof params.mount_depth_cm === 'number') {
    const mm = Math.round((params.mount_depth_cm - state.water_level_cm) * 10)
    const d = Buffer.from([0x04, 0x82, 0, 0])
    d.writeUInt16LE(Math.min(0xffff, Math.max(0, mm)), 2)
    parts.push(d)
  }
  if (typeof state.cover_open === 'boolean') parts.push(Buffer.from([0x05, 0x00, state.cover_open ? 1 : 0]))
  return { bytes: Buffer.concat(parts), fPort: PORT }
}

export const em400Udl: ModelDefinition = {
  id: 'milesight/em400-udl',
  vendor: { zh: '星纵物联', en: 'Milesight' },
  model: 'EM400-UDL',
  names: { zh: '超声波液位传感器(井下)', en: 'Ultrasonic level sensor (in a well)' },
  kind: 'manhole',
  transports: ['chirpstack', 'tts'],
  source:
    'https://github.com/Milesight-IoT/SensorDecoders/blob/main/em-series/em400-udl/README.md (channel table and examples, 2026-07-30)',
  params: {
    // The sensor hangs under the cover; it measures down to the water, so the level needs the depth below it.
    mount_depth_cm: float('安装深度(传感器至井底)', 'Mounting depth (sensor to well bottom)', 1, 5000, 'cm'),
  },
  decode,
  // The vendor's encoder takes 60–64800 s (em400-udl-encoder.js, setReportInterval).
  encode: milesightReportInterval(60, 64800),
  frame,
  vectors: [
    {
      description: 'vendor example: battery 92 %, temperature 25.7 °C, distance 2116 mm, position tilt',
      input: { hex: '01755C0367010104824408050001', fPort: 85 },
      params: { mount_depth_cm: 300 },
      expect: { state: { battery_pct: 92, water_level_cm: 88.4, cover_open: true } },
    },
    {
      description: 'vendor example: temperature and distance threshold alarms (23.2 °C, 1601 mm)',
      input: { hex: '8367e800018482410601', fPort: 85 },
      params: { mount_depth_cm: 300 },
      expect: { state: { water_level_cm: 139.9 } },
    },
    {
      description: 'vendor NB-IoT example sensor data: battery 100 %, 26.7 °C, 315 mm, tilt',
      input: { hex: '01756403670b0104823b01050001' },
      params: { mount_depth_cm: 100 },
      expect: { state: { battery_pct: 100, water_level_cm: 68.5, cover_open: true } },
    },
    {
      description: 'position normal: the cover sits',
      input: { hex: '050000', fPort: 85 },
      expect: { state: { cover_open: false } },
    },
    {
      description: 'water further down than the well is deep reads as an empty well, not a negative level',
      input: { hex: '04822c01', fPort: 85 },
      params: { mount_depth_cm: 20 },
      expect: { state: { water_level_cm: 0 } },
    },
    {
      description: 'device information after power-on (firmware, hardware, serial): nothing for the kind',
      input: { hex: 'ff0bffff0101ff166749d19054690031ff090110ff0a0101ff0f00', fPort: 85 },
      expect: {},
    },
    {
      description: 'a configuration reply (0xFE channel) ends the telemetry',
      input: { hex: '017550fe02b004', fPort: 85 },
      expect: { state: { battery_pct: 80 } },
    },
    {
      description: 'distance without the mounting depth param',
      input: { hex: '04824408', fPort: 85 },
      expect: { error: true },
    },
    { description: 'one byte', input: { hex: '01', fPort: 85 }, expect: { error: true } },
    { description: 'empty frame', input: { hex: '', fPort: 85 }, expect: { error: true } },
    {
      description: 'cut inside the distance channel',
      input: { hex: '01755c0482', fPort: 85 },
      expect: { error: true },
    },
    { description: 'unknown channel', input: { hex: '0975aa', fPort: 85 }, expect: { error: true } },
    { description: 'position value 7', input: { hex: '050007', fPort: 85 }, expect: { error: true } },
    { description: 'wrong fPort', input: { hex: '01755c', fPort: 10 }, expect: { error: true } },
    {
      description: 'no bytes (a JSON-only uplink)',
      input: { json: { battery: 92 } },
      expect: { error: true },
    },
  ],
}
