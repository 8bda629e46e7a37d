import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { PacketSizeGuard } from '../../../src/broker/packet-guard.ts'

/** Real MQTT 3.1.1 packets (mqtt-packet, the parser Aedes uses) fed in arbitrary slices. */
function publish(payloadBytes: number, topic = 'zhian/elevator/lift1/state'): Buffer {
  return mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload: Buffer.alloc(payloadBytes, 0x41),
    qos: 1,
    messageId: 7,
    retain: false,
    dup: false,
  })
}

function feedInSlices(guard: PacketSizeGuard, bytes: Buffer, slice: number): number | undefined {
  for (let i = 0; i < bytes.length; i += slice) {
    const hit = guard.feed(bytes.subarray(i, i + slice))
    if (hit !== undefined) return hit
  }
  return undefined
}

describe('packet size guard', () => {
  const stream = Buffer.concat([
    mqttPacket.generate({ cmd: 'pingreq' }),
    publish(10),
    publish(200),
    publish(20_000), // 3-byte Remaining Length
    mqttPacket.generate({ cmd: 'pingreq' }),
    publish(0),
  ])

  it.each([1, 2, 3, 7, 64, 4096, stream.length])(
    'passes packets within the limit, sliced every %i bytes',
    (n) => {
      expect(feedInSlices(new PacketSizeGuard(30_000), stream, n)).toBeUndefined()
    },
  )

  it.each([1, 3, 64])(
    'reports the first packet over the limit from its header alone, sliced every %i bytes',
    (n) => {
      const big = publish(5 * 1024 * 1024)
      const header = big.subarray(0, 5) // type + 4-byte Remaining Length: the body never needs to arrive
      const announced = feedInSlices(new PacketSizeGuard(30_000), Buffer.concat([stream, header]), n)
      expect(announced).toBe(big.length - 5)
    },
  )

  it('stops guarding a malformed length (five length bytes) and leaves it to the parser', () => {
    const guard = new PacketSizeGuard(100)
    expect(guard.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined()
    expect(guard.feed(publish(10_000))).toBeUndefined()
  })
})
