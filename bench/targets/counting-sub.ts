import mqtt from 'mqtt'

/** One MQTT subscriber on zhian/# that only counts (the consumer for the Mosquitto baseline). */
const [url = 'mqtt://127.0.0.1:1883', qos = '1'] = process.argv.slice(2)
let count = 0
const client = await mqtt.connectAsync(url, {
  protocolVersion: 4,
  reconnectPeriod: 0,
  clientId: 'bench-counter',
})
client.on('message', () => {
  count++
})
await client.subscribeAsync('zhian/#', { qos: Number(qos) as 0 | 1 })
process.send?.({ ready: true })
process.on('message', (m: { type: string }) => {
  if (m.type === 'count') process.send?.({ count })
})
process.on('SIGTERM', () => client.end(true, () => process.exit(0)))
