import { parseArgs } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { deviceId } from './loadgen.ts'

/**
 * Opens N idle device connections (keepalive 60 s, 200 connects in flight), reports when all are up,
 * then stays idle until SIGTERM. Run as its own process so its memory is not the broker's.
 */
const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    count: { type: 'string', default: '1000' },
    secret: { type: 'string', default: '' },
  },
})
const N = Number(opt.count)
const clients: MqttClient[] = []
setTimeout(() => process.exit(3), 600_000).unref()
const started = Date.now()
let failed = 0
for (let start = 0; start < N; start += 200) {
  const batch = []
  for (let i = start; i < Math.min(N, start + 200); i++) {
    const { id } = deviceId('bench', i)
    batch.push(
      mqtt
        .connectAsync(opt.url!, {
          clientId: `${id}-idle`,
          username: opt.secret ? id : undefined,
          password: opt.secret || undefined,
          protocolVersion: 4,
          keepalive: 60,
          reconnectPeriod: 0,
          connectTimeout: 120_000,
        })
        .then(
          (c) => {
            clients.push(c)
          },
          () => {
            failed++
          },
        ),
    )
  }
  await Promise.all(batch)
}
process.send?.({ connected: clients.length, failed, seconds: (Date.now() - started) / 1000 })
process.on('message', (m: { type: string }) => {
  if (m.type === 'alive') process.send?.({ alive: clients.filter((c) => c.connected).length })
})
process.on('SIGTERM', () => {
  for (const c of clients) c.end(true)
  process.exit(0)
})
