import type { MqttClient } from 'mqtt'
import type { Alert } from '../../../src/alerts/types.ts'
import type { Delivery, WorkOrder, WorkOrderEvent, WorkOrderTimes } from '../../../src/dispatch/types.ts'
import { type TestHub, until } from '../../helpers/hub.ts'

export type WorkOrderDetail = WorkOrder & {
  times: WorkOrderTimes
  events: WorkOrderEvent[]
  deliveries: Delivery[]
}

export const PASSWORDS: Record<string, string> = {
  crew_wang: 'crew-wang-password',
  crew_li: 'crew-li-password',
  crew_zhao: 'crew-zhao-password',
  mgr_e1: 'mgr-e1-password',
  viewer_e1: 'viewer-e1-password',
}

/** A logged-in fixture user: fetch with its session token. */
export async function userApi(h: TestHub, username: string) {
  const res = await fetch(`${h.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORDS[username] }),
  })
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`)
  const { token } = (await res.json()) as { token: string }
  return (pathname: string, body?: unknown) =>
    fetch(`${h.httpUrl}${pathname}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
}

export async function post(h: TestHub, pathname: string, body: unknown = {}): Promise<Response> {
  return h.api(pathname, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
}

export async function workOrderOf(h: TestHub, alertId: string, timeoutMs = 5000): Promise<WorkOrderDetail> {
  const wo = await until(
    async () => {
      const page = (await (await h.api(`/api/work-orders?alert=${alertId}`)).json()) as { items: WorkOrder[] }
      return page.items[0]
    },
    `work order of ${alertId}`,
    timeoutMs,
  )
  return detail(h, wo.id)
}

export async function detail(h: TestHub, id: string): Promise<WorkOrderDetail> {
  const res = await h.api(`/api/work-orders/${id}`)
  if (res.status !== 200) throw new Error(`GET /api/work-orders/${id}: ${res.status}`)
  return (await res.json()) as WorkOrderDetail
}

export async function alertOf(h: TestHub, type: string, timeoutMs = 8000): Promise<Alert> {
  return until(
    async () => {
      const page = (await (await h.api(`/api/alerts?type=${type}`)).json()) as { items: Alert[] }
      return page.items[0]
    },
    `${type} alert`,
    timeoutMs,
  )
}

/** A passenger inside, car stopped at floor level, door closed: the trapped rule's condition. */
export async function trapPassenger(lift: MqttClient, id = 'lift1'): Promise<void> {
  await lift.publishAsync(
    `zhian/elevator/${id}/state`,
    JSON.stringify({ floor: 5, moving: false, door: 'closed', in_door_zone: true, passenger: true }),
    { qos: 1 },
  )
}
