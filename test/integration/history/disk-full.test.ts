import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { buildHub, connectDevice, secretOf, tempDir, until } from '../../helpers/hub.ts'

/**
 * A full disk under the journal: a real 256 KiB tmpfs mounted on `<data>/journal` (the tests run as
 * root, as CI does), filled to the last byte. Nothing is acknowledged, nothing is left behind (no
 * segment per refused write), `hub.disk_full` is raised, new device connections are refused with
 * CONNACK 3 — and once space is freed the hub takes messages again on its own and clears the alert.
 */

const mounts: string[] = []
afterEach(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir])
})

function fullJournalDisk(): { dataDir: string; journal: string; free: () => void } {
  const dataDir = tempDir()
  const journal = path.join(dataDir, 'journal')
  fs.mkdirSync(journal)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', journal])
  mounts.push(journal)
  return {
    dataDir,
    journal,
    free: () => fs.rmSync(path.join(journal, 'filler'), { force: true }),
  }
}

/** Write until the disk refuses (ENOSPC). */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w')
  const chunk = Buffer.alloc(4096, 1)
  try {
    for (;;) fs.writeSync(fd, chunk)
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC')
  } finally {
    fs.closeSync(fd)
  }
}

const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.jnl'))

describe('history: a full journal disk', () => {
  it('acknowledges nothing, leaves no litter, raises hub.disk_full, refuses new devices, and recovers by itself', async () => {
    const disk = fullJournalDisk()
    const h = await buildHub({ dataDir: disk.dataDir })
    const alerts = async (): Promise<Alert[]> =>
      ((await (await h.api('/api/alerts?type=hub.disk_full')).json()) as { items: Alert[] }).items
    fill(disk.journal)
    const before = segments(disk.journal).length

    // A publish is not acknowledged: the hub closes the connection without PUBACK [MQTT-3.3.5-2].
    for (let i = 0; i < 20; i++) {
      const client = await mqtt
        .connectAsync(h.mqttUrl, {
          username: 'lift1',
          password: secretOf('lift1'),
          reconnectPeriod: 0,
        })
        .catch(() => undefined)
      if (!client) continue // refused already: the journal is known to fail
      const acked = client
        .publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: i }), { qos: 1 })
        .then(
          () => true,
          () => false,
        )
      const closed = new Promise<boolean>((r) => client.once('close', () => r(false)))
      expect(await Promise.race([acked, closed])).toBe(false)
      client.end(true)
    }
    expect(segments(disk.journal).length).toBeLessThanOrEqual(before + 1)

    const raised = await until(
      async () => (await alerts()).find((a) => a.condition === 'raised'),
      'hub.disk_full',
    )
    expect(raised.severity).toBe('critical')
    expect(raised.message.zh).toContain('清理')

    // New device connections: CONNACK 3, server unavailable.
    const refused = await mqtt
      .connectAsync(h.mqttUrl, { username: 'mh1', password: secretOf('mh1'), reconnectPeriod: 0 })
      .then(
        (c) => {
          c.end(true)
          return undefined
        },
        (err: { code?: number }) => err.code,
      )
    expect(refused).toBe(3)

    // Space again: the hub notices on its own, clears the alert and acknowledges.
    disk.free()
    await until(
      async () => (await alerts()).find((a) => a.id === raised.id && a.status === 'resolved'),
      'cleared',
    )
    const device = await connectDevice(h.mqttUrl, 'lift1')
    await device.publishAsync('zhian/elevator/lift1/state', JSON.stringify({ floor: 3 }), { qos: 1 })
    expect(segments(disk.journal).length).toBeLessThanOrEqual(before + 1)
  })
})
