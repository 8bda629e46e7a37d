import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'
import { alertOf, detail, trapPassenger, workOrderOf } from './rig.ts'

describe('dispatch across a restart', () => {
  it('a notification pending when the hub stops (receiver down) is delivered by the next hub on the same data dir, once', async () => {
    // Reserve a port for the receiver, then leave it closed: the contractor's endpoint is down.
    const rx = await new Receiver().start()
    const port = rx.port
    const estate = estateFor(rx)
    await rx.stop()
    const h = await buildHub({ estateFile: estate })
    const lift = await connectDevice(h.mqttUrl, 'lift1')
    await trapPassenger(lift)
    const alert = await alertOf(h, 'elevator.trapped')
    const wo = await workOrderOf(h, alert.id)
    await until(
      async () => (await detail(h, wo.id)).deliveries[0]?.last_error === 'ECONNREFUSED',
      'a refused attempt',
    )
    expect((await detail(h, wo.id)).deliveries[0]!.status).toBe('pending')
    await lift.endAsync(true)
    await h.close()

    const back = await new Receiver().start(port)
    const h2 = await buildHub({ estateFile: estate, dataDir: h.dataDir })
    await until(() => back.to('/wang').length === 1, 'delivery after restart')
    const after = await detail(h2, wo.id)
    await until(async () => (await detail(h2, wo.id)).deliveries[0]?.status === 'delivered', 'delivered')
    expect(after.status).toBe('dispatched')
    expect(back.to('/wang')[0]!.headers['x-zhian-idempotency-key']).toBe(after.deliveries[0]!.key)
    // One order, not a second one for the same alert after the restart.
    const page = (await (await h2.api(`/api/work-orders?alert=${alert.id}`)).json()) as { total: number }
    expect(page.total).toBe(1)
    await new Promise((r) => setTimeout(r, 300))
    expect(back.to('/wang')).toHaveLength(1)
  })
})
