import { describe, expect, test } from 'vitest'
import { Fleet } from '../../../simulators/fleet.ts'
import type { MqttLink } from '../../../simulators/links.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { buildHub, SMALL_ESTATE, until } from '../../helpers/hub.ts'

describe('simulated device connections', () => {
  test('announce online and info, leave "offline" by their will when the connection dies, and come back with backoff', async () => {
    const hub = await buildHub({ estateFile: SMALL_ESTATE })
    const availability: string[] = []
    hub.hub.bus.on('availability', ({ device, online }) =>
      availability.push(`${device.id}:${online ? 'online' : 'offline'}`),
    )
    const infos = new Map<string, Record<string, unknown>>()
    hub.hub.bus.on('device_info', ({ device, info }) => infos.set(device.id, info))
    const fleet = new Fleet({
      estate: loadEstateFile(SMALL_ESTATE),
      url: hub.mqttUrl,
      backoff: { baseMs: 200, maxMs: 1000 },
    })
    await fleet.start()
    await fleet.waitConnected(7, 10_000)
    await until(() => infos.size === 7, 'info from all 7 devices')
    expect(infos.get('mh1')).toMatchObject({ vendor: 'zhian-sim', interval_s: 1800 })

    fleet.act('pb1', 'drop') // socket gone without DISCONNECT
    await until(() => availability.includes('pb1:offline'), 'the will of pb1')
    await until(() => availability.filter((a) => a === 'pb1:online').length === 2, 'pb1 back online')
    expect(fleet.stats.connects).toBe(8)

    fleet.act('pb2', 'silence') // a dead gateway: no reconnect until resumed
    await until(() => availability.includes('pb2:offline'), 'the will of pb2')
    await new Promise((r) => setTimeout(r, 1500))
    expect(availability.filter((a) => a === 'pb2:online')).toHaveLength(1)
    ;(fleet.link('pb2') as MqttLink).resume()
    await until(() => availability.filter((a) => a === 'pb2:online').length === 2, 'pb2 back online')

    await fleet.stop() // graceful: each says offline itself
    await until(
      () => availability.filter((a) => a.endsWith(':offline')).length >= 2 + 7,
      'offline from every device',
    )
    expect(fleet.stats.errors).toBe(0)
  })

  test('after a reconnect storm every device is back within a few seconds, spread out by the jitter', async () => {
    const hub = await buildHub({ estateFile: SMALL_ESTATE })
    const fleet = new Fleet({
      estate: loadEstateFile(SMALL_ESTATE),
      url: hub.mqttUrl,
      backoff: { baseMs: 1000, maxMs: 5000 },
    })
    await fleet.start()
    await fleet.waitConnected(7, 10_000)
    const onlineAt: number[] = []
    hub.hub.bus.on('availability', ({ online }) => online && onlineAt.push(performance.now()))
    const dropped = performance.now()
    fleet.act('*', 'drop')
    await until(() => onlineAt.length === 7, 'all 7 devices online again', 10_000)
    await fleet.stop()
    const delays = onlineAt.map((t) => t - dropped)
    expect(Math.max(...delays)).toBeLessThan(3000)
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(50) // not all in the same instant
  })

  test('obey the report interval the hub sets on their set topic', async () => {
    const hub = await buildHub({ estateFile: SMALL_ESTATE })
    const fleet = new Fleet({ estate: loadEstateFile(SMALL_ESTATE), url: hub.mqttUrl })
    await fleet.start()
    await fleet.waitConnected(7, 10_000)
    await hub.hub.broker.publish('zhian/manhole/mh1/set', JSON.stringify({ report_interval_s: 60 }), {
      qos: 1,
      retain: false,
    })
    await until(() => fleet.device('mh1').interval_s === 60, 'mh1 to take the new interval')
    await fleet.stop()
  })
})

describe('the speed factor', () => {
  test('at ×900 a manhole sends its half-hourly status report every two seconds of wall time', async () => {
    const hub = await buildHub({ estateFile: SMALL_ESTATE })
    const full: number[] = []
    hub.hub.bus.on('reading', ({ device, values }) => {
      if (device.id === 'mh1' && Object.keys(values).length === 4) full.push(performance.now())
    })
    const run = async (speed: number) => {
      full.length = 0
      const fleet = new Fleet({ estate: loadEstateFile(SMALL_ESTATE), url: hub.mqttUrl, speed, seed: 4 })
      await fleet.start()
      await fleet.waitConnected(7, 10_000)
      fleet.clock.run()
      await new Promise((r) => setTimeout(r, 7000))
      await fleet.stop()
      return full.length
    }
    const fast = await run(900)
    const slow = await run(1)
    expect(slow).toBe(1) // the report on connect only
    expect(fast).toBeGreaterThanOrEqual(3) // connect + 1800 s / 900 = every 2 s
    expect(fast).toBeLessThanOrEqual(6)
  })
})
