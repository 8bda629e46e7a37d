import net from 'node:net'
import { Aedes } from 'aedes'

/**
 * The baseline: the same Aedes version with no hooks and a counting in-process subscriber. Reports
 * its port, then answers {count} requests over IPC.
 */
const aedes = await Aedes.createBroker()
let count = 0
aedes.subscribe(
  'zhian/#',
  (_packet, cb) => {
    count++
    cb()
  },
  () => undefined,
)
const server = net.createServer(aedes.handle)
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as net.AddressInfo).port })
})
process.on('message', (m: { type: string }) => {
  if (m.type === 'count') process.send?.({ count })
})
process.on('SIGTERM', () => {
  server.close()
  aedes.close(() => process.exit(0))
})
