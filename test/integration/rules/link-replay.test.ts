import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { API_TOKEN, FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'

/**
 * A camera's detection applied to another device (a link) is part of "PUBACK means the rules will see
 * it": the camera's message is journalled, the hub is killed with SIGKILL right after the PUBACK, and
 * the restarted hub's rules replay it — the car the yard camera saw is on the yard passage, the e-bike
 * the car camera saw is on its lift — each alert exactly once, never before its hold time.
 */

const ESTATE = `${FIXTURES}/cross-device-estate.yaml`
/** fire_passage.occupied at an entrance, as the fixture's override sets it. */
const OCCUPIED_MS = 1000

async function alertsOf(hub: HubProcess, type: string): Promise<Alert[]> {
  const res = await fetch(`${hub.httpUrl}/api/alerts?type=${type}&limit=500`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  })
  if (res.status !== 200) throw new Error(`GET /api/alerts: ${res.status}`)
  return ((await res.json()) as { items: Alert[] }).items
}

async function detect(hub: HubProcess, camera: string, body: unknown): Promise<number> {
  const client = await mqtt.connectAsync(hub.mqttUrl, {
    username: camera,
    password: `demo-secret-${camera}`,
    reconnectPeriod: 0,
  })
  const at = Date.now()
  await client.publishAsync(`zhian/ai_camera/${camera}/event`, JSON.stringify(body), { qos: 1 })
  client.end(true)
  return at
}

async function kill(hub: HubProcess): Promise<void> {
  hub.child.kill('SIGKILL')
  await new Promise((resolve) =>
    hub.child.exitCode !== null ? resolve(null) : hub.child.once('exit', resolve),
  )
}

describe('links replay from the journal after a kill -9', () => {
  it('a camera detection PUBACKed right before SIGKILL raises its alert on the watched device once after the restart', {
    timeout: 120_000,
  }, async () => {
    const env = {
      ZHIAN_DATA_DIR: tempDir(),
      ZHIAN_CONFIG: ESTATE,
      ZHIAN_LOG_LEVEL: process.env.ZHIAN_TEST_LOG ?? 'info',
    }
    let hub = await startHubProcess(env)
    const sentAt = await detect(hub, 'cam_yard', {
      type: 'passage_occupied',
      data: { occupied: true, object_class: 'car', plate: '浙A12345' },
    })
    await detect(hub, 'cam_lift', {
      type: 'ebike_in_lift',
      data: { snapshot_url: 'https://nvr.example/s/1.jpg' },
    })
    await kill(hub)
    hub = await startHubProcess(env)
    try {
      const occupied = await until(
        async () => {
          const a = await alertsOf(hub, 'fire_passage.occupied')
          return a.length > 0 ? a : undefined
        },
        'fire_passage.occupied on the yard passage after kill -9',
        15_000,
      )
      expect(occupied.map((a) => [a.device_id, a.occurrences])).toEqual([['fp_yard', 1]])
      expect(occupied[0]!.message.zh).toContain('被汽车占用')
      expect(occupied[0]!.first_at - sentAt).toBeGreaterThanOrEqual(OCCUPIED_MS - 50)
      const ebike = await until(
        async () => {
          const a = await alertsOf(hub, 'elevator.ebike_in_lift')
          return a.length > 0 ? a : undefined
        },
        'elevator.ebike_in_lift after kill -9',
        15_000,
      )
      expect(ebike.map((a) => [a.device_id, a.occurrences])).toEqual([['lift_b1', 1]])
      expect(ebike[0]!.message.zh).toContain('https://nvr.example/s/1.jpg')
    } catch (err) {
      console.log(hub.output())
      throw err
    }
    // A second restart replays nothing twice.
    await hub.stop()
    hub = await startHubProcess(env)
    expect((await alertsOf(hub, 'fire_passage.occupied')).length).toBe(1)
    expect((await alertsOf(hub, 'elevator.ebike_in_lift')).map((a) => a.occurrences)).toEqual([1])
    await hub.stop()
  })
})
