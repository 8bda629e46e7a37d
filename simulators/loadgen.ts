import mqtt, { type MqttClient } from 'mqtt'
import type { KindId } from '../devices/index.ts'
import type { DeviceEntry, EstateFile } from '../src/config/estate-file.ts'
import { Topics } from '../src/mqtt/topics.ts'
import { SimClock } from './clock.ts'
import { SimulatedDevice } from './device.ts'
import { generateEstate, kindAt, mix } from './estate-gen.ts'
import { RecordingLink } from './links.ts'
import { Rng } from './rng.ts'

/**
 * The load generator (for the benchmark): N publishers, each a real MQTT connection with a device's
 * credentials, in a closed loop — each keeps `inflight` publishes outstanding and sends the next when
 * one completes (PUBACK for QoS 1, written to the socket for QoS 0). Payloads are realistic: recorded
 * beforehand from the kind behaviours, so the hot loop spends nothing on simulation. Meant to run in
 * its own process (`zhian simulate --load …`), printing a JSON report.
 */

export interface LoadOptions {
  url: string
  /** Credentials and kinds; the mix's kinds only, extended with synthesised devices when it has too few (see publishersOf). */
  estate: EstateFile
  publishers: number
  qos: 0 | 1
  durationMs: number
  /** Outstanding publishes per publisher (closed loop window). */
  inflight?: number
  connectRate?: number
  baseTopic?: string
  seed?: number
  /** Payloads prepared per publisher (cycled). */
  payloadsPerPublisher?: number
}

export interface LoadReport {
  url: string
  publishers: number
  qos: 0 | 1
  inflight: number
  connected: number
  connect_s: number
  duration_s: number
  sent: number
  completed: number
  errors: number
  msgs_per_s: number
  by_kind: Record<string, number>
  payload_bytes_avg: number
}

/** Realistic state payloads of one device: its behaviour run for a simulated day, heartbeats included. */
export function recordPayloads(
  kind: KindId,
  id: string,
  params: Record<string, unknown>,
  count: number,
  seed = 1,
): string[] {
  const clock = new SimClock({ start: Date.UTC(2026, 0, 15, 0) })
  const topics = new Topics('zhian')
  const out: string[] = []
  const device = new SimulatedDevice({
    id,
    kind,
    params,
    clock,
    rng: new Rng(`${seed}/${id}/load`),
    faultRate: 2,
    ts: false,
    seq: true,
    qos: 1,
  })
  device.attach(
    new RecordingLink({
      kind,
      id,
      topics,
      now: () => clock.now(),
      sink: (m) => m.topic.endsWith('/state') && out.push(m.payload),
    }),
  )
  device.start()
  device.connected()
  for (let h = 0; h < 48 && out.length < count; h++) clock.advance(3_600_000)
  device.stop()
  return out.slice(0, count)
}

/**
 * The devices that publish: kinds in the measured mix only (`simulator.mix.weight` > 0; a kind of
 * weight 0, such as a perimeter zone or a camera in the demo estate, is not part of what the
 * benchmark measures), picked in the mix's order — the i-th publisher is of the kind a scaled estate
 * has at index i, so 12 publishers are 6 lifts, 4 fire passages and 2 manholes whichever way the
 * estate file lists its devices. The estate's own devices come first; synthesised ones make up for a
 * kind it has too few of.
 */
export function publishersOf(base: EstateFile, publishers: number): DeviceEntry[] {
  const kinds = mix()
  const wanted = Array.from({ length: publishers }, (_, i) => kindAt(i, kinds).kind)
  const byKind = (e: EstateFile) => {
    const left = new Map<KindId, DeviceEntry[]>()
    for (const d of e.devices) if (d.secret) left.set(d.kind, [...(left.get(d.kind) ?? []), d])
    return left
  }
  const enough = (left: Map<KindId, DeviceEntry[]>) =>
    kinds.every((m) => (left.get(m.kind)?.length ?? 0) >= wanted.filter((k) => k === m.kind).length)
  let left = byKind(base)
  // `publishers` synthesised devices hold each kind at least as often as the first `publishers` of the mix.
  if (!enough(left)) left = byKind(generateEstate(base.devices.length + publishers, base))
  return wanted.map((kind) => left.get(kind)!.shift()!)
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const inflight = o.inflight ?? 1
  const entries = publishersOf(o.estate, o.publishers)
  const topics = new Topics(o.baseTopic ?? 'zhian')
  const prepared = entries.map((e) => ({
    entry: e,
    topic: topics.device(e.kind, e.id, 'state'),
    payloads: recordPayloads(e.kind, e.id, e.params ?? {}, o.payloadsPerPublisher ?? 64, o.seed),
  }))
  let errors = 0
  const connectStart = performance.now()
  const rate = o.connectRate ?? 500
  const clients: MqttClient[] = []
  await Promise.all(
    prepared.map(
      (p, i) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              const c = mqtt.connect(o.url, {
                protocolVersion: 4,
                clientId: `zhian-load-${p.entry.id}`,
                username: p.entry.id,
                password: p.entry.secret!,
                reconnectPeriod: 0,
                keepalive: 60,
                connectTimeout: 30_000,
              })
              clients[i] = c
              c.once('connect', () => resolve())
              c.on('error', () => {
                errors++
                resolve()
              })
              c.once('close', () => resolve())
            },
            Math.floor((i / rate) * 1000),
          )
        }),
    ),
  )
  const connected = clients.filter((c) => c?.connected).length
  const connect_s = (performance.now() - connectStart) / 1000

  const byKind: Record<string, number> = {}
  let sent = 0
  let completed = 0
  let inWindow = 0
  let bytes = 0
  let running = true
  const started = performance.now()
  const loops = prepared.flatMap((p, i) => {
    const client = clients[i]
    if (!client?.connected) return []
    let n = i // start each publisher at a different payload
    return Array.from({ length: inflight }, async () => {
      while (running && client.connected) {
        const payload = p.payloads[n++ % p.payloads.length]!
        sent++
        bytes += payload.length
        try {
          await client.publishAsync(p.topic, payload, { qos: o.qos })
          completed++
          if (running) inWindow++
          byKind[p.entry.kind] = (byKind[p.entry.kind] ?? 0) + 1
        } catch {
          errors++
        }
      }
    })
  })
  await new Promise((r) => setTimeout(r, o.durationMs))
  running = false
  const elapsed = (performance.now() - started) / 1000
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))])
  await Promise.all(clients.map((c) => c?.endAsync(true).catch(() => {})))
  return {
    url: o.url,
    publishers: o.publishers,
    qos: o.qos,
    inflight,
    connected,
    connect_s: Math.round(connect_s * 100) / 100,
    duration_s: Math.round(elapsed * 100) / 100,
    sent,
    completed,
    errors,
    msgs_per_s: Math.round(inWindow / elapsed),
    by_kind: byKind,
    payload_bytes_avg: sent ? Math.round(bytes / sent) : 0,
  }
}
