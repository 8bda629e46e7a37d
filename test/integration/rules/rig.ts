import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import type { Hub } from '../../../src/app.ts'
import { FIXTURES, type TestHub, until } from '../../helpers/hub.ts'

export const RULES_ESTATE = path.join(FIXTURES, 'rules-estate.yaml')

export type AlertWithAudit = Alert & { audit: AuditEntry[] }

/** GET /api/alerts with a query; throws on a non-200 answer. */
export async function listAlerts(h: TestHub, query = ''): Promise<{ items: Alert[]; total: number }> {
  const res = await h.api(`/api/alerts${query ? `?${query}` : ''}`)
  if (res.status !== 200) throw new Error(`GET /api/alerts?${query}: ${res.status} ${await res.text()}`)
  return (await res.json()) as { items: Alert[]; total: number }
}

/**
 * GET /api/alerts/:id. The audit log is returned without dispatch's entries (work orders assign and
 * notify on their own schedule); these tests check the rule engine's and people's transitions.
 */
export async function getAlert(h: TestHub, id: string): Promise<AlertWithAudit> {
  const res = await h.api(`/api/alerts/${id}`)
  if (res.status !== 200) throw new Error(`GET /api/alerts/${id}: ${res.status}`)
  const alert = (await res.json()) as AlertWithAudit
  return { ...alert, audit: alert.audit.filter((e) => e.channel !== 'dispatch') }
}

/** Wait until an alert of this type (for this device) matches `check`. */
export function waitAlert(
  h: TestHub,
  type: string,
  check: (a: Alert) => boolean = () => true,
  timeoutMs = 8000,
): Promise<Alert> {
  return until(
    async () => (await listAlerts(h, `type=${type}`)).items.find(check),
    `${type} alert`,
    timeoutMs,
  )
}

export async function send(client: MqttClient, topic: string, body: unknown): Promise<void> {
  await client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })
}

export async function post(h: TestHub, pathname: string, body?: unknown): Promise<Response> {
  return h.api(pathname, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  })
}

/**
 * What the hub publishes on `<base>/hub/alert`. No MQTT login but devices exists yet and devices
 * may not subscribe there (ACL), so the test listens inside the embedded broker itself.
 */
export function hubAlertFeed(hub: Hub): { messages: (Alert & { event: AuditEntry })[]; close: () => void } {
  const aedes = (hub.broker as unknown as { aedes: AedesLike }).aedes
  const messages: (Alert & { event: AuditEntry })[] = []
  const topic = hub.topics.hub('alert')
  const onPacket = (packet: { payload: Buffer }, cb: () => void) => {
    messages.push(JSON.parse(packet.payload.toString()))
    cb()
  }
  aedes.subscribe(topic, onPacket, () => {})
  return { messages, close: () => aedes.unsubscribe(topic, onPacket, () => {}) }
}

interface AedesLike {
  subscribe(topic: string, fn: (packet: { payload: Buffer }, cb: () => void) => void, done: () => void): void
  unsubscribe(
    topic: string,
    fn: (packet: { payload: Buffer }, cb: () => void) => void,
    done: () => void,
  ): void
}
