import type { ModelSummary } from '../../../devices/models/index.ts'
import type { Alert, AuditEntry } from '../../alerts/types.ts'
import type { WorkOrder } from '../../dispatch/types.ts'
import type { DeviceLive, ParkingZone, SiteRollup } from '../../live/live-state.ts'
import type { Site } from '../../registry/registry.ts'
import type { Me } from './access.ts'

/** The hub's HTTP API as the dashboard uses it. The session rides in the httpOnly cookie set at login. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageZh: string,
  ) {
    super(message)
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  })
  if (res.status === 204) return undefined as T
  const data = (await res.json().catch(() => ({}))) as Record<string, string>
  if (!res.ok) {
    if (res.status === 401 && !path.endsWith('/login')) onUnauthorized()
    throw new ApiError(
      res.status,
      data.code ?? 'ZHIAN_ERR_INTERNAL',
      data.message ?? res.statusText,
      data.message_zh ?? '',
    )
  }
  return data as T
}

let onUnauthorized: () => void = () => {}
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn
}

/** A team as GET /api/teams gives it (the fields the dashboard uses). */
export interface TeamInfo {
  id: string
  name: string
  crew: string
  estates: string[] | null
  members?: { id: string; name: string; user: string | null }[]
}

/** GET /api/teams/mine: the caller's places in the teams, its shifts and who is on duty now. */
export interface Duty {
  team: string
  team_name: string
  member: string
  name: string
  timezone: string
  shifts: { days: string[] | null; hours: string | null }[]
  on_duty: boolean
  on_duty_now: { id: string; name: string }[]
}

export interface AlertPage {
  items: Alert[]
  total: number
  limit: number
  offset: number
}

export const api = {
  login: (username: string, password: string) =>
    call<{ token: string }>('POST', '/api/auth/login', { username, password }),
  logout: () => call<void>('POST', '/api/auth/logout'),
  me: () => call<Me>('GET', '/api/auth/me'),
  myDuty: () => call<Duty[]>('GET', '/api/teams/mine'),
  sites: () => call<Site[]>('GET', '/api/sites'),
  models: () => call<ModelSummary[]>('GET', '/api/models'),
  live: () => call<{ at: number; sites: SiteRollup[]; parking: ParkingZone[] }>('GET', '/api/live'),
  openAlerts: () => call<Alert[]>('GET', '/api/live/alerts'),
  devices: (query: { estate?: string; q?: string } = {}) =>
    call<{ total: number; devices: DeviceLive[] }>('GET', `/api/live/devices?${new URLSearchParams(query)}`),
  estate: (id: string) =>
    call<{ site: Site; devices: DeviceLive[]; parking: ParkingZone[]; alerts: Alert[] }>(
      'GET',
      `/api/live/estates/${encodeURIComponent(id)}`,
    ),
  alerts: (query: Record<string, string>) =>
    call<AlertPage>('GET', `/api/alerts?${new URLSearchParams(query)}`),
  alert: (id: string) =>
    call<Alert & { audit: AuditEntry[] }>('GET', `/api/alerts/${encodeURIComponent(id)}`),
  ack: (id: string, note?: string) =>
    call<Alert>('POST', `/api/alerts/${encodeURIComponent(id)}/ack`, note ? { note } : {}),
  resolve: (id: string, note?: string) =>
    call<Alert>('POST', `/api/alerts/${encodeURIComponent(id)}/resolve`, note ? { note } : {}),
  comment: (id: string, note: string) =>
    call<Alert>('POST', `/api/alerts/${encodeURIComponent(id)}/comment`, { note }),
  assign: (id: string, team: string, note?: string) =>
    call<Alert>('POST', `/api/alerts/${encodeURIComponent(id)}/assign`, note ? { team, note } : { team }),
  silence: (alert: Alert, duration: string, reason: string) =>
    call<unknown>('POST', '/api/silences', {
      ...(alert.device_id ? { device: alert.device_id } : { site: alert.estate }),
      types: [alert.type],
      duration,
      reason,
    }),
  teams: () => call<TeamInfo[]>('GET', '/api/teams'),
  /** Open a work order for an alert by hand (routing picks the team unless one is given). */
  openWorkOrder: (alertId: string, team?: string) =>
    call<WorkOrder>('POST', '/api/work-orders', team ? { alert_id: alertId, team } : { alert_id: alertId }),
  /** Open work orders in the caller's reach (the console marks the alerts that have one). */
  openWorkOrders: () =>
    call<{ items: WorkOrder[]; total: number }>(
      'GET',
      '/api/work-orders?status=dispatched,accepted,on_site&limit=500',
    ),
  workOrdersOf: (alertId: string) =>
    call<{ items: WorkOrder[]; total: number }>(
      'GET',
      `/api/work-orders?${new URLSearchParams({ alert: alertId, limit: '20' })}`,
    ),
  exportUrl: (query: Record<string, string>) => `/api/alerts/export.csv?${new URLSearchParams(query)}`,
}
