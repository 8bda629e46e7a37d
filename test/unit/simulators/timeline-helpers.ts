import type { RecordedMessage } from '../../../simulators/links.ts'

/** Per-device state over time, rebuilt from recorded messages the way the hub merges on-change reports. */
export type Timeline = { t: number; s: Record<string, unknown> }[]

export function timelines(messages: RecordedMessage[]): Map<string, Timeline> {
  const out = new Map<string, Timeline>()
  const current = new Map<string, Record<string, unknown>>()
  for (const m of messages) {
    const [, , id, suffix] = m.topic.split('/')
    if (suffix !== 'state' || !id) continue
    const { ts: _ts, seq: _seq, ...values } = JSON.parse(m.payload) as Record<string, unknown>
    const s = { ...(current.get(id) ?? {}), ...values }
    current.set(id, s)
    const list = out.get(id) ?? []
    list.push({ t: m.t, s })
    out.set(id, list)
  }
  return out
}

/** Longest continuous time (ms) `pred` held, up to `end`. */
export function longestRun(
  timeline: Timeline,
  pred: (s: Record<string, unknown>) => boolean,
  end: number,
): number {
  let since: number | undefined
  let longest = 0
  for (const { t, s } of timeline) {
    if (pred(s)) since ??= t
    else if (since !== undefined) {
      longest = Math.max(longest, t - since)
      since = undefined
    }
  }
  if (since !== undefined) longest = Math.max(longest, end - since)
  return longest
}

/** The state at time `t` (last report at or before it). */
export function stateAt(timeline: Timeline, t: number): Record<string, unknown> {
  let s: Record<string, unknown> = {}
  for (const e of timeline) {
    if (e.t > t) break
    s = e.s
  }
  return s
}
