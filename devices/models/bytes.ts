/**
 * Reading vendor frames without trusting them. Many vendors (Milesight among them) send a frame as a
 * run of channels, each `channel id (1 B) · channel type (1 B) · a fixed number of data bytes` that
 * the pair determines. `readChannels` walks such a frame against a table and refuses a frame that is
 * short, ends inside a channel or names a channel the table does not know (its length is then
 * unknowable, so nothing after it can be read).
 */
import type { DecodeResult, UplinkInput } from './types.ts'

export interface Channel {
  /** Data bytes after the id and type. */
  size: number
  /** Fold the channel's data into `out`; a string is a reason to refuse the whole frame. */
  read: (data: Buffer, out: Record<string, unknown>) => string | undefined
}

/** Channel table keyed by `id << 8 | type` (e.g. 0x0175 for Milesight's battery). */
export type ChannelTable = ReadonlyMap<number, Channel>

export function readChannels(
  bytes: Buffer,
  table: ChannelTable,
  opts: { stopAt?: (id: number, type: number) => boolean } = {},
): { values: Record<string, unknown> } | { error: string } {
  if (bytes.length < 2) return { error: `frame of ${bytes.length} byte(s) is too short` }
  const values: Record<string, unknown> = {}
  let i = 0
  while (i < bytes.length) {
    if (i + 2 > bytes.length) return { error: `frame ends inside a channel header at byte ${i}` }
    const id = bytes[i]!
    const type = bytes[i + 1]!
    const channel = table.get((id << 8) | type)
    if (!channel) {
      if (opts.stopAt?.(id, type)) break
      return { error: `unknown channel ${hex(id)} ${hex(type)} at byte ${i}` }
    }
    const end = i + 2 + channel.size
    if (end > bytes.length) return { error: `channel ${hex(id)} ${hex(type)} is cut short` }
    const problem = channel.read(bytes.subarray(i + 2, end), values)
    if (problem) return { error: problem }
    i = end
  }
  return { values }
}

/** A channel whose data the kind has no use for (device info, unmapped telemetry): skipped by length. */
export const skip = (size: number): Channel => ({ size, read: () => undefined })

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`
}

/** The bytes of an uplink, from a LoRaWAN FRMPayload or a platform's opaque data; an error when absent. */
export function bytesOf(input: UplinkInput, expectPort?: number): Buffer | string {
  if (!input.bytes) return 'no payload bytes'
  if (expectPort !== undefined && input.fPort !== undefined && input.fPort !== expectPort) {
    return `fPort ${input.fPort} is not the device's uplink port ${expectPort}`
  }
  return input.bytes
}

/** A decoder's refusal, for `return refuse('…')`. */
export const refuse = (error: string): DecodeResult => ({ error })

/** Round to `digits` decimals (frames carry fixed-point values; float noise would show on screens). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
