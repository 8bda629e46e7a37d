import fs from 'node:fs'
import http from 'node:http'
import { modelOf } from '../devices/models/index.ts'
import { ctwingDataReport } from '../simulators/platforms/ctwing.ts'
import { cpuSeconds, percentile } from './proc.ts'
import { hubMetric, startZhian } from './targets.ts'

/**
 * NB-IoT pushes: 1,000 CTWing-shaped pushes a second (open loop) from DEVICES parking sensors (WXHS
 * P_MD, profile JSON) to a zhian hub with the journal on; every push must be answered 200 `accepted`
 * (only once its uplink is in the journal) and every accepted one must be a reading in the hub.
 */

export interface PushResult {
  devices: number
  offered_per_s: number
  answered_per_s: number
  accepted: number
  /** Pushes answered anything but 200 accepted (the platform would retry them). */
  refused: number
  /** Accepted pushes the hub has no reading of. */
  lost: number
  p50_ms: number
  p99_ms: number
  hub_cpu_pct: number
}

const DEVICES = 5000
const TOKEN = 'bench-ctwing-token-0123456789'
const RATE = 1000

function pushEstate(dir: string): string {
  const lines = [
    'sites:',
    '  - { id: bench_street, type: street, name: 基准街道, children: [',
    '      { id: bench_community, type: community, name: 基准社区, children: [',
    '          { id: bench_estate, type: estate, name: 基准小区 } ] } ] }',
    'devices:',
  ]
  for (let i = 0; i < DEVICES; i++) {
    lines.push(
      `  - { id: nb_${i}, kind: parking_bay, model: wxhs/p-md, platform_device_id: ctw-${i}, estate: bench_estate, secret_hash: "sha256$${'0'.repeat(64)}" }`,
    )
  }
  lines.push('connectors:', `  - { id: ct, type: ctwing, token: ${TOKEN}, rate_per_s: 100000 }`)
  const file = `${dir}/estate-pushes.yaml`
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

export async function measurePushes(dir: string, seconds: number): Promise<PushResult> {
  const hub = await startZhian({ estateFile: pushEstate(dir), name: 'zhian-pushes' })
  const pmd = modelOf('wxhs/p-md')!
  const url = `${hub.httpUrl}/ingest/ctwing/ct?token=${TOKEN}`
  // A platform's pool of keep-alive connections.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  const latencies: number[] = []
  let sent = 0
  let accepted = 0
  let refused = 0
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => {
            text += d
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  const push = async (n: number) => {
    const i = n % DEVICES
    const body = ctwingDataReport(
      { deviceId: `ctw-${i}`, imei: '' },
      pmd.frame!({ occupied: n % 2 === 0 }, {}).json!,
      n,
    )
    const t = performance.now()
    try {
      const res = await post(JSON.stringify(body))
      if (res.status === 200 && (JSON.parse(res.text) as { status?: string }).status === 'accepted')
        accepted++
      else refused++
    } catch {
      refused++
    }
    latencies.push(performance.now() - t)
  }
  try {
    const cpu0 = cpuSeconds(hub.pid)
    const t0 = performance.now()
    const pending: Promise<void>[] = []
    // Open loop: the pushes due by now are sent whatever the answers' pace (CTWing does not wait).
    while (performance.now() - t0 < seconds * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE)
      while (sent < due) pending.push(push(sent++))
      await new Promise((r) => setTimeout(r, 5))
    }
    await Promise.all(pending)
    const elapsed = (performance.now() - t0) / 1000
    const cpu = cpuSeconds(hub.pid) - cpu0
    const readings = await hubMetric(hub.httpUrl!, 'zhian_mqtt_messages_in_total', 'suffix="state"')
    return {
      devices: DEVICES,
      offered_per_s: Math.round(sent / seconds),
      answered_per_s: Math.round((accepted + refused) / elapsed),
      accepted,
      refused,
      lost: Math.max(0, accepted - readings),
      p50_ms: Math.round(percentile(latencies, 50) * 10) / 10,
      p99_ms: Math.round(percentile(latencies, 99) * 10) / 10,
      hub_cpu_pct: Math.round((cpu / elapsed) * 100),
    }
  } finally {
    agent.destroy()
    await hub.stop()
  }
}

export function pushLines(p: PushResult | undefined): string[] {
  if (!p) return []
  return [
    `NB-IoT pushes (CTWing-shaped, ${p.devices.toLocaleString('en')} parking sensors, model wxhs/p-md, journal on, open loop at ${p.offered_per_s.toLocaleString('en')}/s): **${p.answered_per_s.toLocaleString('en')} answered/s**, ${p.accepted.toLocaleString('en')} accepted (200 only once in the journal), ${p.refused} refused, **${p.lost} lost**; answer p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms; hub CPU ${p.hub_cpu_pct} %`,
    '',
  ]
}
