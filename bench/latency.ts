import { performance } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { io } from 'socket.io-client'
import { Topics } from '../src/mqtt/topics.ts'
import { deviceId } from './loadgen.ts'
import { percentile } from './proc.ts'

/**
 * Alert latency: from the PUBLISH that completes a trigger condition (a manhole cover tilted past 90°,
 * an immediate `manhole.cover_open`) to the alert event arriving at a socket.io client, while a
 * background load runs. Each sample uses a fresh manhole, so every trigger raises a new alert.
 */

export interface LatencyResult {
  samples: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  max_ms: number
  missed: number
}

export async function measureAlertLatency(opts: {
  mqttUrl: string
  httpUrl: string
  token: string
  secret: string
  /** First device index the triggers may use (the load generator uses the ones below). */
  firstIndex: number
  lastIndex: number
  samples: number
  intervalMs: number
}): Promise<LatencyResult> {
  const topics = new Topics('zhian')
  const socket = io(opts.httpUrl, {
    auth: { token: opts.token },
    transports: ['websocket'],
    reconnection: false,
  })
  const pending = new Map<string, number>()
  const latencies: number[] = []
  socket.on(
    'alert',
    (change: { alert: { type: string; device_id: string | null }; entry: { action: string } }) => {
      if (change.alert.type !== 'manhole.cover_open' || change.entry.action !== 'raised') return
      const sent = pending.get(change.alert.device_id ?? '')
      if (sent === undefined) return
      latencies.push(performance.now() - sent)
      pending.delete(change.alert.device_id!)
    },
  )
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve())
    socket.once('connect_error', reject)
  })
  const manholes: string[] = []
  for (let i = opts.firstIndex; i < opts.lastIndex && manholes.length < opts.samples; i++) {
    const d = deviceId('bench', i)
    if (d.kind === 'manhole') manholes.push(d.id)
  }
  const clients: MqttClient[] = await Promise.all(
    manholes.map((id) =>
      mqtt.connectAsync(opts.mqttUrl, {
        username: id,
        password: opts.secret,
        protocolVersion: 4,
        reconnectPeriod: 0,
      }),
    ),
  )
  for (const [i, client] of clients.entries()) {
    const id = manholes[i]!
    pending.set(id, performance.now())
    client.publish(
      topics.device('manhole', id, 'state'),
      JSON.stringify({ tilt_deg: 120, cover_open: true }),
      { qos: 1 },
    )
    await new Promise((r) => setTimeout(r, opts.intervalMs))
  }
  const deadline = Date.now() + 5000
  while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  socket.close()
  await Promise.all(clients.map((c) => c.endAsync(true)))
  const round = (v: number) => Math.round(v * 10) / 10
  return {
    samples: latencies.length,
    p50_ms: round(percentile(latencies, 50)),
    p95_ms: round(percentile(latencies, 95)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(Math.max(...latencies)),
    missed: pending.size,
  }
}
