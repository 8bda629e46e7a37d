/**
 * Milesight EM400-UDL, NB-IoT variant: the same ultrasonic well-level sensor (distance → water level,
 * tilt switch → cover disturbed), its frame sent over NB-IoT to the platform in transparent mode
 * (CTWing `APPdata`, OneNET opaque data), the platform handing the bytes on untouched.
 *
 * Payload definition: Milesight-IoT/SensorDecoders, em-series/em400-udl/README.md, "NB-IoT Data Frame"
 * and "Example (NB-IoT)", https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em400-udl
 * (revision of 2026-07-30), reimplemented from the table. The frame is an 86-byte header —
 * start flag 0x02 (1), id (2), data length (2: the bytes after this field), flag (1), frame count (2),
 * protocol version (1), firmware (4, ASCII), hardware (4, ASCII), serial number (16, ASCII),
 * IMEI (15, ASCII), IMSI (15, ASCII), ICCID (20, ASCII), CSQ (1), sensor payload length (2) — and
 * then the sensor payload in the LoRaWAN variant's channel format (./em400-udl.ts). Multi-byte
 * header fields are big-endian (the example's 0x005f = 95, 0x000e = 14).
 */
import { float } from '../../types.ts'
import type { DecodeResult, ModelDefinition, UplinkInput } from '../types.ts'
import { em400Udl } from './em400-udl.ts'

const HEADER = 86
const START = 0x02

/** The header's ASCII fields hold digits and hex letters; anything else is a garbled frame. */
const PRINTABLE = /^[\x20-\x7e]*$/

function decode(input: UplinkInput): DecodeResult {
  const b = input.bytes
  if (!b) return { error: 'no payload bytes (the transparent APPdata)' }
  if (b.length < HEADER)
    return { error: `an EM400-UDL NB-IoT frame has an ${HEADER}-byte header; got ${b.length} bytes` }
  if (b[0] !== START) return { error: `start flag 0x${b[0]!.toString(16)} is not 0x02` }
  if (b.readUInt16BE(3) !== b.length - 5)
    return { error: `data length ${b.readUInt16BE(3)} does not match the frame (${b.length - 5})` }
  const imei = b.subarray(48, 63).toString('latin1')
  if (!/^[0-9]{15}$/.test(imei) || !PRINTABLE.test(b.subarray(9, 48).toString('latin1'))) {
    return { error: 'garbled header (IMEI or version fields)' }
  }
  const size = b.readUInt16BE(HEADER - 2)
  if (HEADER + size !== b.length) return { error: `sensor payload length ${size} does not match the frame` }
  return em400Udl.decode({ bytes: b.subarray(HEADER), params: input.params })
}

/** The frame the sensor sends for a manhole state: the LoRaWAN variant's sensor payload behind the header. */
function frame(state: Record<string, unknown>, params: Readonly<Record<string, unknown>>) {
  const payload = em400Udl.frame!(state, params).bytes ?? Buffer.alloc(0)
  const header = Buffer.alloc(HEADER)
  header[0] = START
  header.writeUInt16BE(1, 1)
  header.writeUInt16BE(HEADER + payload.length - 5, 3)
  header[8] = 1
  header.write('0101', 9, 'latin1')
  header.write('0110', 13, 'latin1')
  header.write('6749D19054690031', 17, 'latin1')
  header.write(typeof params.imei === 'string' ? params.imei : '868508064807350', 33, 'latin1')
  header.write('460043224213110', 48, 'latin1')
  header.write('89860412102270062857', 63, 'latin1')
  header[83] = 20
  header.writeUInt16BE(payload.length, 84)
  return { bytes: Buffer.concat([header, payload]) }
}

export const em400UdlNb: ModelDefinition = {
  id: 'milesight/em400-udl-nb',
  vendor: { zh: '星纵物联', en: 'Milesight' },
  model: 'EM400-UDL (NB-IoT)',
  names: { zh: '超声波液位传感器(井下,NB-IoT)', en: 'Ultrasonic level sensor (in a well, NB-IoT)' },
  kind: 'manhole',
  transports: ['ctwing', 'onenet', 'http'],
  source:
    'https://github.com/Milesight-IoT/SensorDecoders/blob/main/em-series/em400-udl/README.md ("NB-IoT Data Frame" and "Example (NB-IoT)", 2026-07-30)',
  params: {
    mount_depth_cm: float('安装深度(传感器至井底)', 'Mounting depth (sensor to well bottom)', 1, 5000, 'cm'),
  },
  decode,
  frame,
  vectors: [
    {
      description:
        'vendor NB-IoT example (IMEI 868508064807350): battery 100 %, 26.7 °C, 315 mm, tilt; as CTWing APPdata',
      input: {
        base64:
          'AgABAF8AAAABMDEwMTAxMTA2NzQ5RDE5MDU0NjkwMDMxODY4NTA4MDY0ODA3MzUwNDYwMDQzMjI0MjEzMTEwODk4NjA0MTIxMDIyNzAwNjI4NTcJAA4BdWQDZwsBBII7AQUAAQ==',
      },
      params: { mount_depth_cm: 120 },
      expect: { state: { battery_pct: 100, water_level_cm: 88.5, cover_open: true } },
    },
    {
      description: 'the same frame with the hex of the vendor example',
      input: {
        hex: '020001005f00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000e01756403670b0104823b01050001',
      },
      params: { mount_depth_cm: 31.5 },
      expect: { state: { battery_pct: 100, water_level_cm: 0, cover_open: true } },
    },
    {
      description: 'header only: the sensor payload cut off',
      input: {
        hex: '020001005f00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000e',
      },
      expect: { error: true },
    },
    {
      description: 'start flag wrong',
      input: {
        hex: '030001005f00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000e01756403670b0104823b01050001',
      },
      expect: { error: true },
    },
    {
      description: 'IMEI field garbled',
      input: {
        hex: '020001005f00000001303130313031313036373439443139303534363930303331383638353038303634383037333530383638353038303634383037333558383938363034313231303232373030363238353709000e01756403670b0104823b01050001',
      },
      params: { mount_depth_cm: 120 },
      expect: { error: true },
    },
    {
      description: 'one byte more than the length fields say',
      input: {
        hex: '020001005f00000001303130313031313036373439443139303534363930303331383638353038303634383037333530343630303433323234323133313130383938363034313231303232373030363238353709000e01756403670b0104823b0105000100',
      },
      params: { mount_depth_cm: 120 },
      expect: { error: true },
    },
    {
      description: 'a LoRaWAN-style frame without the header',
      input: { hex: '01756403670b0104823b01050001' },
      expect: { error: true },
    },
    {
      description: 'a JSON payload instead of APPdata',
      input: { json: { APPdata: 'AgAB' } },
      expect: { error: true },
    },
  ],
}
