/**
 * Milesight GS524N, LoRaWAN standalone smoke detector: alarm, silencing, self-test, removal from its
 * base, fault, battery, smoke concentration and temperature in one 6-byte frame.
 *
 * Payload definition: Milesight-IoT/SensorDecoders, gs-series/gs524n/README.md (byte table,
 * message types, CRC and example), https://github.com/Milesight-IoT/SensorDecoders/tree/main/gs-series/gs524n
 * (revision of 2026-07-30), reimplemented from the table:
 *   byte 1 firmware (high nibble) + protocol (low nibble) version; byte 2 sensor type (high nibble,
 *   1 = smoke) + message type (low nibble: 1 alarm, 2 silenced, 4 low battery, 5 fault ("failover"),
 *   7 normal, 10 removed, 11 installed, 14/15 test alarm with normal/low battery); byte 3 battery %;
 *   byte 4 smoke concentration %; byte 5 temperature int8 °C; byte 6 CRC: all six bytes sum to 0 mod 256.
 * The concentration is the detector's obscuration in % per metre; the kind keeps dB/m
 * (EN 54-7 / GB 4715 measure smoke as obscuration m in dB/m): m = −10·log10(1 − p/100).
 */
import { round } from '../bytes.ts'
import type { DecodeResult, ModelDefinition, UplinkInput } from '../types.ts'

const SMOKE_SENSOR = 1
const TYPE = {
  alarm: 1,
  silenced: 2,
  lowBattery: 4,
  fault: 5,
  normal: 7,
  removed: 10,
  installed: 11,
  testNormalBattery: 14,
  testLowBattery: 15,
} as const

/** The battery level below which the detector reports a self-test as "with low battery". */
const LOW_BATTERY_PCT = 20

// `+ 0` turns the −0 of a clear reading into 0.
const dbPerMetre = (pct: number) => round(-10 * Math.log10(1 - Math.min(pct, 99) / 100), 2) + 0
const pctOf = (db: number) => Math.round((1 - 10 ** (-db / 10)) * 100)

function checksumOk(b: Buffer): boolean {
  let sum = 0
  for (const x of b) sum = (sum + x) & 0xff
  return sum === 0
}

function decode(input: UplinkInput): DecodeResult {
  const b = input.bytes
  if (!b) return { error: 'no payload bytes' }
  if (b.length !== 6) return { error: `a GS524N frame is 6 bytes, not ${b.length}` }
  if (!checksumOk(b)) return { error: 'CRC mismatch: the six bytes do not sum to 0' }
  if (b[1]! >> 4 !== SMOKE_SENSOR) return { error: `sensor type ${b[1]! >> 4} is not a smoke sensor` }
  if (b[2]! > 100 || b[3]! > 100) return { error: 'battery or concentration above 100 %' }
  const measured = {
    battery_pct: b[2]!,
    smoke_db_m: dbPerMetre(b[3]!),
    temperature_c: b.readInt8(4),
  }
  const type = b[1]! & 0x0f
  switch (type) {
    case TYPE.alarm:
      return { decoded: { state: { alarm: true, test_alarm: false, ...measured } } }
    case TYPE.silenced:
      // Hushed at the detector: the sounder stops; whether smoke is still there the next frame says.
      return { decoded: { state: measured, events: [{ type: 'silenced' }] } }
    case TYPE.lowBattery:
      return { decoded: { state: measured } }
    case TYPE.fault:
      return { decoded: { state: { fault: true, ...measured } } }
    case TYPE.normal:
      return {
        decoded: { state: { alarm: false, test_alarm: false, fault: false, removed: false, ...measured } },
      }
    case TYPE.removed:
      return { decoded: { state: { removed: true, ...measured } } }
    case TYPE.installed:
      return { decoded: { state: { removed: false, ...measured } } }
    case TYPE.testNormalBattery:
    case TYPE.testLowBattery:
      // A self-test sounds the alarm: not a fire, and said so.
      // It reports the test once the test alarm has sounded: the test passed.
      return {
        decoded: {
          state: { test_alarm: true, ...measured },
          events: [{ type: 'self_test', data: { passed: true } }],
        },
      }
    default:
      return { error: `message type ${type} is not a GS524N message` }
  }
}

/** The frame the detector sends for a smoke-detector state: the message type is the state's most urgent fact. */
function frame(state: Record<string, unknown>) {
  const battery = typeof state.battery_pct === 'number' ? Math.round(state.battery_pct) : 100
  let type: number = TYPE.lowBattery
  if (state.alarm === true) type = TYPE.alarm
  else if (state.test_alarm === true)
    type = battery < LOW_BATTERY_PCT ? TYPE.testLowBattery : TYPE.testNormalBattery
  else if (state.fault === true) type = TYPE.fault
  else if (state.removed === true) type = TYPE.removed
  else if (state.alarm === false) type = TYPE.normal
  else if (state.removed === false) type = TYPE.installed
  const b = Buffer.from([
    0x22,
    (SMOKE_SENSOR << 4) | type,
    battery,
    typeof state.smoke_db_m === 'number' ? pctOf(state.smoke_db_m) : 0,
    0,
    0,
  ])
  b.writeInt8(typeof state.temperature_c === 'number' ? Math.round(state.temperature_c) : 25, 4)
  let sum = 0
  for (const x of b.subarray(0, 5)) sum += x
  b[5] = (0x100 - (sum & 0xff)) & 0xff
  return { bytes: b, fPort: 85 }
}

const SAMPLE = { battery_pct: 100, smoke_db_m: 0, temperature_c: 28 }

export const gs524n: ModelDefinition = {
  id: 'milesight/gs524n',
  vendor: { zh: '星纵物联', en: 'Milesight' },
  model: 'GS524N',
  names: { zh: '独立式光电感烟探测器', en: 'Standalone smoke detector' },
  kind: 'smoke_detector',
  transports: ['chirpstack', 'tts'],
  source:
    'https://github.com/Milesight-IoT/SensorDecoders/blob/main/gs-series/gs524n/README.md (byte table, message types, CRC and example, 2026-07-30)',
  decode,
  frame,
  vectors: [
    {
      description: 'vendor example: test alarm with normal battery, 100 %, concentration 0 %, 28 °C',
      input: { hex: '221E64001C40' },
      expect: {
        state: { test_alarm: true, ...SAMPLE },
        events: [{ type: 'self_test', data: { passed: true } }],
      },
    },
    {
      description: 'smoke alarm, 90 % battery, 10 %/m obscuration, 31 °C',
      input: { hex: '22115a0a1f4a' },
      expect: {
        state: { alarm: true, test_alarm: false, battery_pct: 90, smoke_db_m: 0.46, temperature_c: 31 },
      },
    },
    {
      description: 'silenced at the detector',
      input: { hex: '22125a0a1f49' },
      expect: {
        state: { battery_pct: 90, smoke_db_m: 0.46, temperature_c: 31 },
        events: [{ type: 'silenced' }],
      },
    },
    {
      description: 'normal heartbeat at −5 °C',
      input: { hex: '22175000fb7c' },
      expect: {
        state: {
          alarm: false,
          test_alarm: false,
          fault: false,
          removed: false,
          battery_pct: 80,
          smoke_db_m: 0,
          temperature_c: -5,
        },
      },
    },
    {
      description: 'taken off its base',
      input: { hex: '221a50001a5a' },
      expect: { state: { removed: true, battery_pct: 80, smoke_db_m: 0, temperature_c: 26 } },
    },
    {
      description: 'fault',
      input: { hex: '221550001a5f' },
      expect: { state: { fault: true, battery_pct: 80, smoke_db_m: 0, temperature_c: 26 } },
    },
    { description: 'CRC wrong', input: { hex: '221E64001C41' }, expect: { error: true } },
    { description: '5 bytes', input: { hex: '221E64001C' }, expect: { error: true } },
    { description: '7 bytes', input: { hex: '221E64001C4000' }, expect: { error: true } },
    { description: 'unknown message type 3', input: { hex: '22135a0a1f48' }, expect: { error: true } },
    { description: 'not a smoke sensor (type 2)', input: { hex: '22215a0a1f3a' }, expect: { error: true } },
  ],
}
