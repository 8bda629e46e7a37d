import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { API_TOKEN, FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { type HubProcess, startHubProcess } from '../../helpers/hub-process.ts'

/**
 * "PUBACK" means "the rules will see it": a fire passage reports `occupied` at QoS 1, gets its PUBACK,
 * and the hub is killed with SIGKILL at once — or at a random moment while the `for` timers run.
 * After the restart, `occupied` (held 1 s) and `blocked` (held 2 s) come exactly once each, never
 * before their hold time. ZHIAN_KILL_TRIALS sets the number of trials (100 to soak it).
 */

const TRIALS = Number(process.env.ZHIAN_KILL_TRIALS ?? 6)
const ESTATE = `${FIXTURES}/replay-estate.yaml`
const OCCUPIED_MS = 1000
const BLOCKED_MS = 2000

async function alertsOf(hub: HubProcess, type: string): Promise<Alert[]> {
  const res = await fetch(`${hub.httpUrl}/api/alerts?type=${type}&limit=500`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  })
  if (res.status !== 200) throw new Error(`GET /api/alerts: ${res.status}`)
  return ((await res.json()) as { items: Alert[] }).items
}

async function publish(hub: HubProcess, occupied: boolean): Promise<number> {
  const client = await mqtt.connectAsync(hub.mqttUrl, {
    username: 'fp1',
    password: 'fp1-secret-00001',
    reconnectPeriod: 0,
  })
  const at = Date.now()
  await client.publishAsync('zhian/fire_passage/fp1/state', JSON.stringify({ occupied }), { qos: 1 })
  client.end(true)
  return at
}

async function kill(hub: HubProcess): Promise<void> {
  hub.child.kill('SIGKILL')
  await new Promise((resolve) =>
    hub.child.exitCode !== null ? resolve(null) : hub.child.once('exit', resolve),
  )
}

describe('rules: a reading PUBACKed right before a SIGKILL still raises its alerts, once', () => {
  it(`raises occupied and blocked exactly once per trial after kill -9 at random points (${TRIALS} trials)`, {
    timeout: 60_000 + TRIALS * 20_000,
  }, async () => {
    const env = {
      ZHIAN_DATA_DIR: tempDir(),
      ZHIAN_CONFIG: ESTATE,
      ZHIAN_LOG_LEVEL: process.env.ZHIAN_TEST_LOG ?? 'info',
    }
    let hub = await startHubProcess(env)
    let seed = Number(process.env.ZHIAN_KILL_SEED ?? Date.now() % 100_000)
    const random = () => {
      seed = (seed * 16807) % 2147483647
      return seed / 2147483647
    }
    console.log(`kill-after-PUBACK: ${TRIALS} trials, seed ${seed}`)
    for (let trial = 1; trial <= TRIALS; trial++) {
      // Half the trials die at the PUBACK itself, the others while the hold timers run (or just after).
      const delay = trial % 2 === 1 ? 0 : Math.floor(random() * (BLOCKED_MS + 500))
      const sentAt = await publish(hub, true)
      if (delay > 0) await new Promise((r) => setTimeout(r, delay))
      await kill(hub)
      hub = await startHubProcess(env)

      const current = (alerts: Alert[]) => alerts.filter((a) => a.first_at >= sentAt)
      for (const [type, hold] of [
        ['fire_passage.occupied', OCCUPIED_MS],
        ['fire_passage.blocked', BLOCKED_MS],
      ] as const) {
        const raised = await until(
          async () => {
            const mine = current(await alertsOf(hub, type))
            return mine.length > 0 ? mine : undefined
          },
          `${type} after kill -9 (trial ${trial}, killed ${delay} ms after the PUBACK)`,
          15_000,
        ).catch((err) => {
          console.log(hub.output())
          throw err
        })
        expect(raised, `trial ${trial}: one ${type}`).toHaveLength(1)
        expect(raised[0]!.occurrences).toBe(1)
        // Never before the reading was held for its window (the hold counts from the reading).
        expect(raised[0]!.first_at - sentAt).toBeGreaterThanOrEqual(hold - 50)
      }
      // Cleared and resolved before the next trial; still one alert each.
      await publish(hub, false)
      for (const type of ['fire_passage.occupied', 'fire_passage.blocked']) {
        const done = await until(
          async () => {
            const mine = current(await alertsOf(hub, type))
            return mine.every((a) => a.status === 'resolved') ? mine : undefined
          },
          `${type} resolved (trial ${trial})`,
          15_000,
        )
        expect(done).toHaveLength(1)
      }
    }
    // Across every trial: one alert per trial and type, none doubled by a replay.
    for (const type of ['fire_passage.occupied', 'fire_passage.blocked']) {
      const all = await alertsOf(hub, type)
      expect(all).toHaveLength(TRIALS)
      expect(all.every((a) => a.occurrences === 1)).toBe(true)
    }
    await hub.stop()
  })
})
