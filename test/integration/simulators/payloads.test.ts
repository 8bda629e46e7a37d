import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { KIND_IDS } from '../../../devices/index.ts'
import { withEveryKind } from '../../../simulators/estate-gen.ts'
import { Fleet } from '../../../simulators/fleet.ts'
import { EXPECTED_CODE, MALFORMED_CLASSES, malformedMessages } from '../../../simulators/malformed.ts'
import { loadEstateFile, serializeWithSections } from '../../../src/config/estate-file.ts'
import { buildHub, DEMO_ESTATE, SMALL_ESTATE, tempDir, until } from '../../helpers/hub.ts'

async function metric(hub: Awaited<ReturnType<typeof buildHub>>, name: string) {
  const m = (await hub.hub.metrics.registry.getSingleMetric(name)?.get())?.values ?? []
  return m as { labels: Record<string, string>; value: number }[]
}

describe('simulated devices against a real hub', () => {
  test('every kind is accepted and nothing is rejected while the demo estate runs ×120 with frequent faults', async () => {
    // Every kind: the demo estate's, and one of each kind added to devices/ since.
    const estate = withEveryKind(loadEstateFile(DEMO_ESTATE))
    const estateFile = path.join(tempDir(), 'estate.yaml')
    fs.writeFileSync(estateFile, serializeWithSections(estate, DEMO_ESTATE))
    const hub = await buildHub({ estateFile })
    const readings = new Map<string, number>()
    hub.hub.bus.on('reading', ({ device }) => readings.set(device.kind, (readings.get(device.kind) ?? 0) + 1))
    const events: string[] = []
    hub.hub.bus.on('device_event', ({ type }) => events.push(type))
    const fleet = new Fleet({
      estate,
      url: hub.mqttUrl,
      seed: 9,
      speed: 120,
      faultRate: 6,
      ts: false,
    })
    await fleet.start()
    await fleet.waitConnected(estate.devices.length, 30_000)
    fleet.clock.run()
    // Every elevator fault and every action of the other kinds at least once, on top of the random ones.
    for (const action of Object.keys(fleet.device('elev_b1_1').behaviour.actions))
      fleet.act('elev_b1_2', action)
    for (const action of ['block', 'battery_low']) fleet.act('fp_2', action, { for: '2m' })
    for (const action of ['lift_cover', 'rain', 'roll_over', 'battery_low'])
      fleet.act('mh_02', action, { for: '2m' })
    for (const action of ['flap', 'zombie', 'battery_low']) fleet.act('pb_003', action, { for: '5m' })
    await new Promise((r) => setTimeout(r, 8000))
    await fleet.stop()

    const rejected = (await metric(hub, 'zhian_mqtt_messages_rejected_total')).reduce(
      (s, v) => s + v.value,
      0,
    )
    expect(rejected).toBe(0)
    expect(fleet.stats.rejected).toBe(0)
    expect(fleet.stats.errors).toBe(0)
    for (const kind of KIND_IDS) expect(readings.get(kind) ?? 0, kind).toBeGreaterThan(0)
    expect(events).toContain('fault')
    expect(events).toContain('alarm_button')
    const accepted = (await metric(hub, 'zhian_mqtt_messages_in_total')).reduce((s, v) => s + v.value, 0)
    expect(accepted).toBeGreaterThan(500)
  })

  test('the malformed mode produces each class of bad payload, and the hub refuses each with its reason', async () => {
    const hub = await buildHub({ estateFile: SMALL_ESTATE })
    const fleet = new Fleet({
      estate: loadEstateFile(SMALL_ESTATE),
      url: hub.mqttUrl,
      malformed: true,
      faultRate: 0,
    })
    const expected = new Map<string, number>()
    for (const d of fleet.estate.devices) {
      for (const bad of malformedMessages(d, fleet.topics))
        expected.set(bad.expect, (expected.get(bad.expect) ?? 0) + 1)
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0)
    await fleet.start()
    await until(() => fleet.stats.rejected >= total, `${total} refusals on the error topics`, 15_000)
    const byReason = new Map<string, number>()
    for (const v of await metric(hub, 'zhian_mqtt_messages_rejected_total')) {
      byReason.set(v.labels.reason!, (byReason.get(v.labels.reason!) ?? 0) + v.value)
    }
    await fleet.stop()
    expect(byReason).toEqual(expected)
    expect(Object.fromEntries(fleet.stats.rejectedByCode)).toEqual(Object.fromEntries(expected))
    // Every class is covered by some device of the fixture estate.
    const codes = new Set(MALFORMED_CLASSES.map((c) => EXPECTED_CODE[c]))
    expect(new Set(byReason.keys())).toEqual(codes)
    // The devices stayed connected and their good messages still count.
    expect(fleet.stats.connected).toBe(0) // stopped now
    expect(fleet.stats.errors).toBe(0)
  })
})
