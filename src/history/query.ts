import type { HistoryConfig } from '../config/env.ts'

/**
 * The read side of history: InfluxQL over the v1 `/query` endpoint — InfluxDB 1.x natively, 2.x and
 * 3.x through their v1 compatibility API (a token for 2.x/3.x). InfluxQL is the one query language
 * all three speak (research/stack-notes.md §4.3). Reports and any other reader go through here, so
 * src/history stays the only place that talks to InfluxDB.
 */

export interface Series {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values: unknown[][]
}

/** Run one InfluxQL statement; throws with InfluxDB's own error text. */
export async function influxQuery(h: HistoryConfig, q: string): Promise<Series[]> {
  const url = new URL('/query', h.url)
  url.searchParams.set('db', h.api === 'v2' ? h.bucket : h.database)
  url.searchParams.set('q', q)
  url.searchParams.set('epoch', 'ms')
  const headers: Record<string, string> = {}
  if (h.api === 'v2' && h.token) headers.authorization = `Token ${h.token}`
  else if (h.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${h.username}:${h.password ?? ''}`).toString('base64')}`
  }
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(h.timeoutMs) })
  const body = (await res.json().catch(() => ({}))) as {
    error?: string
    results?: { error?: string; series?: Series[] }[]
  }
  const error = body.error ?? body.results?.find((r) => r.error)?.error
  if (!res.ok || error) throw new Error(error ?? `HTTP ${res.status}`)
  return body.results?.flatMap((r) => r.series ?? []) ?? []
}
