import type { Duplex } from 'node:stream'

/**
 * A packet-size limit in front of Aedes' parser, which has none: MQTT 3.1.1 allows a Remaining Length
 * of up to 268,435,455 bytes [MQTT-2.2.3] and mqtt-packet buffers a packet until it is complete, so
 * without this a device could make the hub hold ~256 MB before ingest ever sees the payload.
 *
 * It reads only the fixed headers (type byte + Remaining Length) of the inbound byte stream and skips
 * the bodies, so the cost is a few operations per packet. MQTT 3.1.1 has no way to tell a client a
 * packet was too large (Maximum Packet Size is MQTT 5 only); for a PUBLISH the server "MUST either make a
 * positive acknowledgement … or close the Network Connection" [MQTT-3.3.5-2], and acknowledging means
 * receiving it all — so the connection is closed as soon as the header announces too much.
 */

/** Room for the variable header of the largest PUBLISH: topic length (2) + topic (≤ 65,535) + packet id (2). */
export const PACKET_HEADROOM = 2 + 65_535 + 2

export class PacketSizeGuard {
  /** Bytes of the current packet's body still to skip; -1 while reading a fixed header. */
  private skip = -1
  private headerBytes = 0
  private length = 0
  private multiplier = 1
  private off = false

  constructor(private readonly maxRemainingLength: number) {}

  /**
   * Feed the next inbound bytes. Returns the announced Remaining Length of the first packet over the
   * limit, or undefined while everything is within it.
   */
  feed(chunk: Buffer): number | undefined {
    if (this.off) return undefined
    let i = 0
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i)
        this.skip -= n
        i += n
        continue
      }
      if (this.skip === 0) {
        this.skip = -1 // next packet: its first byte is the type, not part of the length
        this.headerBytes = 0
        continue
      }
      const byte = chunk[i++]!
      if (this.headerBytes === 0) {
        this.headerBytes = 1
        this.length = 0
        this.multiplier = 1
        continue
      }
      // Remaining Length: 7 bits per byte, least significant first, at most 4 bytes [MQTT-2.2.3].
      this.length += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.headerBytes++
      if (byte & 0x80) {
        if (this.headerBytes > 4) {
          this.off = true // malformed length: the parser reports it and Aedes closes the connection
          return undefined
        }
        continue
      }
      if (this.length > this.maxRemainingLength) return this.length
      this.skip = this.length
    }
    return undefined
  }
}

/**
 * Guard a connection Aedes is about to handle: every chunk Aedes reads (it only calls `read()` on
 * 'readable') passes the guard first; a packet over the limit is never handed on and `onTooLarge` is
 * called to close the connection.
 */
export function guardConnection(
  conn: Duplex,
  maxRemainingLength: number,
  onTooLarge: (announced: number) => void,
): void {
  const guard = new PacketSizeGuard(maxRemainingLength)
  const read = conn.read.bind(conn)
  let tripped = false
  conn.read = (size?: number) => {
    if (tripped) return null
    const chunk: unknown = read(size)
    if (!Buffer.isBuffer(chunk)) return chunk
    const announced = guard.feed(chunk)
    if (announced === undefined) return chunk
    tripped = true
    onTooLarge(announced)
    return null
  }
}
