/**
 * Bosch Parking Lot Sensor (PLS, TPS110), LoRaWAN in-ground bay sensor: occupancy on change, a
 * heartbeat with the current occupancy, a start-up frame.
 *
 * Payload definition: the vendor's codec in The Things Network device repository,
 * TheThingsNetwork/lorawan-devices vendor/bosch/tps110-0292-codec.yaml (firmware 0.29.2, examples) and
 * the port table it documents, https://github.com/TheThingsNetwork/lorawan-devices/tree/master/vendor/bosch,
 * reimplemented from that description. The frame's meaning depends on the LoRaWAN FPort:
 * 1 parking status (1 B: bit 0 occupied), 2 heartbeat (bit 0 occupied + optional int8 °C),
 * 3 start-up (17 B: debug codes, firmware, reset cause, byte 16 bit 0 occupied), 4 device
 * information, 5 device usage, 6 debug. Other bits are reserved.
 */
import type { DecodeResult, ModelDefinition, UplinkInput } from '../types.ts'

const STATUS = 1
const HEARTBEAT = 2
const STARTUP = 3
/** Ports whose frames carry nothing for the kind (device information, usage, debug). */
const DIAGNOSTIC = new Set([4, 5, 6])

const occupied = (byte: number) => ({ decoded: { state: { occupied: (byte & 0x01) === 1 } } })

function decode(input: UplinkInput): DecodeResult {
  const b = input.bytes
  if (!b) return { error: 'no payload bytes' }
  if (input.fPort === undefined)
    return { error: 'the frame needs its LoRaWAN FPort (1 status, 2 heartbeat, 3 start-up)' }
  switch (input.fPort) {
    case STATUS:
      return b.length === 1 ? occupied(b[0]!) : { error: `a status frame is 1 byte, not ${b.length}` }
    case HEARTBEAT:
      return b.length === 1 || b.length === 2
        ? occupied(b[0]!)
        : { error: `a heartbeat frame is 1 or 2 bytes, not ${b.length}` }
    case STARTUP:
      return b.length === 17 ? occupied(b[16]!) : { error: `a start-up frame is 17 bytes, not ${b.length}` }
    default:
      return DIAGNOSTIC.has(input.fPort)
        ? { decoded: {} }
        : { error: `fPort ${input.fPort} is not a PLS port` }
  }
}

/** A heartbeat for the bay's state (the sensor reports a change on port 1, its daily heartbeat on port 2). */
function frame(state: Record<string, unknown>) {
  return { bytes: Buffer.from([state.occupied === true ? 1 : 0, 0x14]), fPort: HEARTBEAT }
}

export const pls: ModelDefinition = {
  id: 'bosch/pls',
  vendor: { zh: '博世', en: 'Bosch' },
  model: 'Parking Lot Sensor (TPS110)',
  names: { zh: '地磁车位检测器', en: 'Parking lot sensor' },
  kind: 'parking_bay',
  transports: ['chirpstack', 'tts'],
  source:
    'https://github.com/TheThingsNetwork/lorawan-devices/blob/master/vendor/bosch/tps110-0292-codec.yaml (ports, frames and examples, firmware 0.29.2)',
  decode,
  frame,
  vectors: [
    {
      description: 'vendor example: parking status, occupied',
      input: { hex: '01', fPort: 1 },
      expect: { state: { occupied: true } },
    },
    {
      description: 'vendor example: heartbeat, occupied, −1 °C',
      input: { hex: '01ff', fPort: 2 },
      expect: { state: { occupied: true } },
    },
    {
      description: 'vendor example: start-up with debug codes 804 and 885, firmware 0.29.2, occupied',
      input: { hex: '240300007503000000000000001d020301', fPort: 3 },
      expect: { state: { occupied: true } },
    },
    {
      description: 'parking status, free',
      input: { hex: '00', fPort: 1 },
      expect: { state: { occupied: false } },
    },
    {
      description: 'heartbeat without the temperature byte, reserved bits set, free',
      input: { hex: 'fe', fPort: 2 },
      expect: { state: { occupied: false } },
    },
    {
      description: 'device information frame: nothing for the bay',
      input: { hex: '0102030405', fPort: 4 },
      expect: {},
    },
    { description: 'status frame of 2 bytes', input: { hex: '0100', fPort: 1 }, expect: { error: true } },
    { description: 'empty status frame', input: { hex: '', fPort: 1 }, expect: { error: true } },
    { description: 'heartbeat of 3 bytes', input: { hex: '011400', fPort: 2 }, expect: { error: true } },
    {
      description: 'start-up frame cut short',
      input: { hex: '24030000750300', fPort: 3 },
      expect: { error: true },
    },
    { description: 'unknown fPort', input: { hex: '01', fPort: 85 }, expect: { error: true } },
    { description: 'no fPort', input: { hex: '01' }, expect: { error: true } },
  ],
}
