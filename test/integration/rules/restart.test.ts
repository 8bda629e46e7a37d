import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, tempDir } from '../../helpers/hub.ts'
import { getAlert, listAlerts, RULES_ESTATE, send, waitAlert } from './rig.ts'

/** The rules fixture with fire_passage.blocked held for 4 s, so a restart falls inside the hold time. */
function estateWithSlowBlock(): string {
  const file = path.join(tempDir('zhian-rules-'), 'estate.yaml')
  const text = fs
    .readFileSync(RULES_ESTATE, 'utf8')
    .replace('fire_passage.blocked: { for: "2s", clear_for: "1s" }', 'fire_passage.blocked: { for: "4s" }')
  if (!text.includes('for: "4s"')) throw new Error('fixture changed: blocked override not found')
  fs.writeFileSync(file, text)
  return file
}

describe('rule state across a restart', () => {
  it('raises fire_passage.blocked at the original deadline when the hub restarts in the middle of the `for` timer', async () => {
    const estateFile = estateWithSlowBlock()
    const first = await buildHub({ estateFile })
    const fp1 = await connectDevice(first.mqttUrl, 'fp1')
    const occupiedAt = Date.now()
    await send(fp1, 'zhian/fire_passage/fp1/state', { occupied: true })
    await new Promise((r) => setTimeout(r, 1500))
    await first.close()
    const second = await buildHub({ estateFile, dataDir: first.dataDir })
    const restartedAt = Date.now()
    const alert = await waitAlert(second, 'fire_passage.blocked')
    // Due at +4 s from the first message (or at once, if the restart itself took longer than that);
    // a timer started afresh would fire ~4 s after the restart instead.
    expect(alert.first_at - occupiedAt).toBeGreaterThanOrEqual(3900)
    expect(alert.first_at).toBeLessThan(Math.max(occupiedAt + 4000, restartedAt) + 1000)
    expect(alert.values.occupied).toBe(true)
  })

  it('gives devices a full offline window from hub start after a downtime longer than it: no offline storm', async () => {
    const first = await buildHub({ estateFile: RULES_ESTATE })
    for (const id of ['lift1', 'lift2']) {
      const c = await connectDevice(first.mqttUrl, id)
      await send(c, `zhian/elevator/${id}/info`, { interval_s: 2 })
      await send(c, `zhian/elevator/${id}/state`, { floor: 1 })
      await c.endAsync()
    }
    await first.close()
    await new Promise((r) => setTimeout(r, 3000)) // down longer than the 2 s window
    const restartingAt = Date.now()
    const second = await buildHub({ estateFile: RULES_ESTATE, dataDir: first.dataDir })
    const lift2 = await connectDevice(second.mqttUrl, 'lift2')
    // lift2 is back and keeps reporting; lift1 never comes back.
    // A beat still in flight when the test ends is cut off by the forced close: not a failure.
    const beat = setInterval(
      () => send(lift2, 'zhian/elevator/lift2/state', { floor: 2 }).catch(() => {}),
      500,
    )
    try {
      await new Promise((r) => setTimeout(r, 1000))
      expect((await listAlerts(second, 'type=elevator.offline')).total).toBe(0)
      const offline = await waitAlert(second, 'elevator.offline', (a) => a.device_id === 'lift1')
      // One full window after the restart, not at once (its last message is over 3 s old).
      expect(offline.first_at - restartingAt).toBeGreaterThanOrEqual(2000)
      const all = await listAlerts(second, 'type=elevator.offline')
      expect(all.items.map((a) => a.device_id)).toEqual(['lift1'])
    } finally {
      clearInterval(beat)
    }
  })

  it('keeps open alerts across a restart: a re-trigger afterwards updates the same alert', async () => {
    const first = await buildHub({ estateFile: RULES_ESTATE })
    const mh1 = await connectDevice(first.mqttUrl, 'mh1')
    await send(mh1, 'zhian/manhole/mh1/state', { cover_open: true })
    const before = await waitAlert(first, 'manhole.cover_open')
    await send(mh1, 'zhian/manhole/mh1/state', { cover_open: false, tilt_deg: 0 })
    await waitAlert(first, 'manhole.cover_open', (a) => a.condition === 'cleared')
    await first.close()

    const second = await buildHub({ estateFile: RULES_ESTATE, dataDir: first.dataDir })
    const open = await listAlerts(second, 'type=manhole.cover_open&status=active')
    expect(open.items.map((a) => a.id)).toEqual([before.id])
    const mh1again = await connectDevice(second.mqttUrl, 'mh1')
    await send(mh1again, 'zhian/manhole/mh1/state', { cover_open: true })
    const after = await waitAlert(second, 'manhole.cover_open', (a) => a.occurrences === 2)
    expect(after.id).toBe(before.id)
    expect((await getAlert(second, before.id)).audit.map((e) => e.action)).toEqual([
      'raised',
      'cleared',
      'retriggered',
    ])
  })
})
