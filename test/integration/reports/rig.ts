import type { MqttClient } from 'mqtt'
import type { Alert } from '../../../src/alerts/types.ts'
import type { WorkOrder, WorkOrderTimes } from '../../../src/dispatch/types.ts'
import type { Report } from '../../../src/reports/model.ts'
import { type TestHub, until } from '../../helpers/hub.ts'

/** Helpers for the report tests: fixture logins, MQTT sends, alert and work-order reads over HTTP. */

export const PASSWORDS: Record<string, string> = {
  mgr_e1: 'mgr-e1-password',
  mgr_e2: 'mgr-e2-password',
  officer_s1: 'officer-s1-password',
  crew_wang: 'crew-wang-password',
}

export type Fetch = (pathname: string, body?: unknown) => Promise<Response>

export async function login(h: TestHub, username: string): Promise<Fetch> {
  const res = await fetch(`${h.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORDS[username] }),
  })
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`)
  const { token } = (await res.json()) as { token: string }
  return (pathname, body) =>
    fetch(`${h.httpUrl}${pathname}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
}

export async function send(
  client: MqttClient,
  topic: string,
  payload: Record<string, unknown>,
): Promise<void> {
  await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 })
}

export const LIFT_IDLE = {
  floor: 5,
  moving: false,
  in_door_zone: true,
  door: 'closed',
  passenger: false,
  direction: 'none',
  service_mode: 'normal',
  speed: 0,
  fault_code: 0,
  power_source: 'mains',
}

/** Every alert the admin API lists (newest first). */
export async function allAlerts(h: TestHub, query = ''): Promise<Alert[]> {
  const res = await h.api(`/api/alerts?limit=500${query}`)
  if (res.status !== 200) throw new Error(`GET /api/alerts: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { items: Alert[] }).items
}

/** Wait until `device` has `n` alerts of `type`; returns them oldest first. */
export async function alertsOf(
  h: TestHub,
  type: string,
  device: string,
  n = 1,
  timeoutMs = 8000,
): Promise<Alert[]> {
  return until(
    async () => {
      const items = (await allAlerts(h, `&type=${type}&device=${device}`)).reverse()
      return items.length >= n ? items : undefined
    },
    `${n} × ${type} on ${device}`,
    timeoutMs,
  )
}

export type WorkOrderDetail = WorkOrder & { times: WorkOrderTimes }

export async function workOrderOf(h: TestHub, alertId: string): Promise<WorkOrderDetail> {
  const wo = await until(async () => {
    const page = (await (await h.api(`/api/work-orders?alert=${alertId}`)).json()) as { items: WorkOrder[] }
    return page.items[0]
  }, `work order of ${alertId}`)
  return (await (await h.api(`/api/work-orders/${wo.id}`)).json()) as WorkOrderDetail
}

export async function reportJson(f: Fetch | TestHub, query: string): Promise<Report> {
  const res =
    typeof f === 'function' ? await f(`/api/reports?${query}`) : await f.api(`/api/reports?${query}`)
  if (res.status !== 200) throw new Error(`GET /api/reports?${query}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Report
}

/** Nearest-rank p90 and the usual median, in seconds to 0.1 (as the report states them). */
export function expectedStat(ms: number[]): { n: number; median_s: number | null; p90_s: number | null } {
  const s = [...ms].sort((a, b) => a - b)
  const sec = (v: number | undefined) => (v === undefined ? null : Math.round(v / 100) / 10)
  const n = s.length
  const median = n === 0 ? undefined : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1]! + s[n / 2]!) / 2
  return { n, median_s: sec(median), p90_s: sec(s[Math.ceil(0.9 * n) - 1]) }
}
