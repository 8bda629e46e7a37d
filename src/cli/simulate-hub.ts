import fs from 'node:fs'
import path from 'node:path'
import type { Scenario } from '../../simulators/scenarios/types.ts'
import { INITIAL_CREDENTIALS_FILE } from '../util/secrets.ts'

/**
 * What `zhian simulate` asks the hub over its HTTP API (with an API token): which of its devices are
 * already connected (another simulator — `npm run demo` — drives them: two fleets on the same ids
 * fight, each taking the other's connection), and which alerts a scenario's run raised, to print
 * them against the ones it expects. Any MQTT broker works without it; only the checks need the hub.
 */

export interface HubLink {
  http: string
  token: string
}

export interface Expectation {
  type: string
  device: string
}

/**
 * The API token to ask with: `--token`, else `ZHIAN_API_TOKEN`, else the token a hub on this machine
 * generated at its first start (the last one in its data dir's owner-only credentials file, where
 * `npm start` leaves it), else `fallback` (the demo's).
 */
export function hubToken(explicit: string | undefined, env: NodeJS.ProcessEnv, fallback: string): string {
  if (explicit) return explicit
  if (env.ZHIAN_API_TOKEN) return env.ZHIAN_API_TOKEN
  try {
    const text = fs.readFileSync(path.join(env.ZHIAN_DATA_DIR ?? './data', INITIAL_CREDENTIALS_FILE), 'utf8')
    const tokens = [...text.matchAll(/^admin API token: (\S+)$/gm)].map((m) => m[1]!)
    if (tokens.length > 0) return tokens.at(-1)!
  } catch {
    // No such file (read and deleted, or another machine's hub): the fallback.
  }
  return fallback
}

async function get<T>(hub: HubLink, path: string): Promise<T> {
  const res = await fetch(`${hub.http}${path}`, {
    headers: { authorization: `Bearer ${hub.token}` },
    signal: AbortSignal.timeout(5000),
  })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string }
    throw new Error(`${res.status} ${body.code ?? res.statusText}`)
  }
  return (await res.json()) as T
}

/** The ids among `ids` the hub has online now. */
export async function connectedDevices(hub: HubLink, ids: string[]): Promise<string[]> {
  const live = await get<{ devices: { id: string; online: boolean }[] }>(hub, '/api/live/devices?limit=10000')
  const online = new Set(live.devices.filter((d) => d.online).map((d) => d.id))
  return ids.filter((id) => online.has(id))
}

/** Alert type + device of every alert raised since `from` on one of `ids` (suppressed ones too). */
export async function raisedSince(hub: HubLink, from: number, ids: Set<string>): Promise<Expectation[]> {
  const out: Expectation[] = []
  for (let offset = 0; ; offset += 500) {
    const page = await get<{
      items: { type: string; device_id: string | null; first_at: number }[]
      total: number
    }>(hub, `/api/alerts?from=${from}&limit=500&offset=${offset}`)
    for (const a of page.items)
      if (a.device_id && ids.has(a.device_id) && a.first_at >= from)
        out.push({ type: a.type, device: a.device_id })
    if (offset + 500 >= page.total) return out
  }
}

/** Each `raises` of each step, on each device it targets (once each). */
export function expectedAlerts(
  scenario: Scenario,
  resolve: (target: Scenario['steps'][number]['target']) => string[],
): Expectation[] {
  const seen = new Set<string>()
  const out: Expectation[] = []
  for (const step of scenario.steps)
    for (const type of step.raises ?? [])
      for (const device of resolve(step.target)) {
        const key = `${type} ${device}`
        if (!seen.has(key)) out.push({ type, device })
        seen.add(key)
      }
  return out
}

/**
 * Expected against raised, one line each: ✓ raised as expected, ✗ expected but not raised, + raised
 * but not expected (an error only for an exact scenario). `ok` when nothing is missing (and, for an
 * exact scenario, nothing extra).
 */
export function compareAlerts(
  scenario: Scenario,
  expected: Expectation[],
  raised: Expectation[],
): { ok: boolean; lines: string[] } {
  const key = (e: Expectation) => `${e.type} ${e.device}`
  const got = new Map<string, number>()
  for (const r of raised) got.set(key(r), (got.get(key(r)) ?? 0) + 1)
  const want = new Set(expected.map(key))
  const lines = [`expected ${expected.length} alert(s), raised ${raised.length}:`]
  let missing = 0
  for (const e of expected) {
    const hit = got.has(key(e))
    if (!hit) missing++
    lines.push(`  ${hit ? '✓' : '✗'} ${e.type.padEnd(34)} ${e.device}${hit ? '' : '   not raised'}`)
  }
  const extra = raised.filter((r) => !want.has(key(r)))
  for (const r of extra) lines.push(`  + ${r.type.padEnd(34)} ${r.device}   not expected`)
  const ok = missing === 0 && (!scenario.exact || extra.length === 0)
  lines.push(
    ok
      ? 'result: as expected'
      : `result: ${missing} missing${scenario.exact ? `, ${extra.length} unexpected` : ''}`,
  )
  return { ok, lines }
}
