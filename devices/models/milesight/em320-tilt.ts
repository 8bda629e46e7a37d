/**
 * Milesight EM320-TILT, LoRaWAN tilt sensor, fixed flat under a manhole cover: the tilt of the cover.
 *
 * Payload definition: Milesight-IoT/SensorDecoders, em-series/em320-tilt/README.md (channel table,
 * "Angle X/Y/Z Definition (bits)", example), https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em320-tilt
 * (revision of 2026-07-30), reimplemented from the tables. Uplinks on LoRaWAN FPort 85.
 * Each angle is the angle between that axis and the horizontal plane (−90°…90°) in bits 15..1 as a
 * signed value in 0.01°, bit 0 the device's own threshold flag. Lying flat the Z axis stands at 90°
 * (the vendor's example), so the cover's tilt from level is 90° − angle_z: 0° level, 90° on its edge,
 * 180° upside down — the manhole kind's `tilt_deg`.
 */
import { bytesOf, type Channel, type ChannelTable, readChannels, round } from '../bytes.ts'
import type { DecodeResult, ModelDefinition, UplinkInput } from '../types.ts'
import { MILESIGHT_INFO, milesightReply, milesightReportInterval } from './em400-udl.ts'

const PORT = 85

/** bits 15..1 of a little-endian int16, in 0.01° (an arithmetic shift keeps the sign). */
const angle = (d: Buffer, at: number) => (d.readInt16LE(at) >> 1) / 100

const CHANNELS: ChannelTable = new Map<number, Channel>([
  ...MILESIGHT_INFO,
  [
    0x0175,
    {
      size: 1,
      read: (d, out) => {
        out.battery = d[0]!
        return undefined
      },
    },
  ],
  [
    0x03d4,
    {
      size: 6,
      read: (d, out) => {
        const z = angle(d, 4)
        if (Math.abs(angle(d, 0)) > 90 || Math.abs(angle(d, 2)) > 90 || Math.abs(z) > 90) {
          return 'an angle beyond ±90° to the horizontal plane'
        }
        out.angle_z = z
        return undefined
      },
    },
  ],
])

function decode(input: UplinkInput): DecodeResult {
  const bytes = bytesOf(input, PORT)
  if (typeof bytes === 'string') return { error: bytes }
  const read = readChannels(bytes, CHANNELS, { stopAt: milesightReply })
  if ('error' in read) return read
  const state: Record<string, unknown> = {}
  if (typeof read.values.battery === 'number') state.battery_pct = read.values.battery
  if (typeof read.values.angle_z === 'number') state.tilt_deg = round(90 - read.values.angle_z, 2)
  return { decoded: Object.keys(state).length ? { state } : {} }
}

function frame(state: Record<string, unknown>) {
  const parts: Buffer[] = []
  if (typeof state.battery_pct === 'number')
    parts.push(Buffer.from([0x01, 0x75, Math.round(state.battery_pct)]))
  if (typeof state.tilt_deg === 'number') {
    const d = Buffer.from([0x03, 0xd4, 0, 0, 0, 0, 0, 0])
    // Tilted about the X axis only: Y follows the cover down, X stays level.
    const z = 90 - state.tilt_deg
    const y = state.tilt_deg <= 90 ? state.tilt_deg : 180 - state.tilt_deg
    d.writeInt16LE(Math.round(y * 100) << 1, 4)
    d.writeInt16LE(Math.round(z * 100) << 1, 6)
    parts.push(d)
  }
  return { bytes: Buffer.concat(parts), fPort: PORT }
}

export const em320Tilt: ModelDefinition = {
  id: 'milesight/em320-tilt',
  vendor: { zh: '星纵物联', en: 'Milesight' },
  model: 'EM320-TILT',
  names: { zh: '倾角传感器(井盖)', en: 'Tilt sensor (manhole cover)' },
  kind: 'manhole',
  transports: ['chirpstack', 'tts'],
  source:
    'https://github.com/Milesight-IoT/SensorDecoders/blob/main/em-series/em320-tilt/README.md (channel table, angle bits and example, 2026-07-30)',
  decode,
  // The vendor's encoder takes 1–64800 s (em320-tilt-encoder.js, setReportInterval); the kind's floor is 5 s.
  encode: milesightReportInterval(1, 64800),
  frame,
  vectors: [
    {
      description: 'vendor example: battery 100 %, angles x 0°, y 0° (threshold flag), z 90°: lying flat',
      input: { hex: '01756403D4000001005046', fPort: 85 },
      expect: { state: { battery_pct: 100, tilt_deg: 0 } },
    },
    {
      description: 'y 14.5°, z 75.5°: the cover tilted 14.5°',
      // 7550 << 1 = 15100 = 0x3afc
      input: { hex: '03d40000540bfc3a', fPort: 85 },
      expect: { state: { tilt_deg: 14.5 } },
    },
    {
      description: 'z at −90°: the cover lies upside down (180°)',
      // −9000 << 1 = −18000 = 0xb9b0
      input: { hex: '03d400000000b0b9', fPort: 85 },
      expect: { state: { tilt_deg: 180 } },
    },
    {
      description: 'angle channel cut short',
      input: { hex: '03d4000001', fPort: 85 },
      expect: { error: true },
    },
    {
      description: 'angle beyond 90°',
      input: { hex: '03d400000000ff7f', fPort: 85 },
      expect: { error: true },
    },
    { description: 'unknown channel', input: { hex: '01756404824408', fPort: 85 }, expect: { error: true } },
    { description: 'wrong fPort', input: { hex: '017564', fPort: 1 }, expect: { error: true } },
    { description: 'a lone byte', input: { hex: '03', fPort: 85 }, expect: { error: true } },
  ],
}
