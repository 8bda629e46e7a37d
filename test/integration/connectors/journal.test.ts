import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { ctwingDataReport, ctwingPost } from '../../../simulators/platforms/ctwing.ts'
import { buildHub, tempDir, until } from '../../helpers/hub.ts'
import { connectorsEstate, readingsOf, TOKENS } from './rig.ts'

/**
 * Acknowledgement is durability for pushes: with the journal's disk full (a real 256 KiB tmpfs on
 * `<data>/journal`, filled; the tests run as root) a push is answered 503, so CTWing retries; once
 * there is room again the retry is taken in and journalled once.
 */

const mounts: string[] = []
afterEach(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir])
})

it('a push the journal cannot keep is answered 503; the platform’s retry after the disk has room is one reading', async () => {
  const dataDir = tempDir()
  const journal = path.join(dataDir, 'journal')
  fs.mkdirSync(journal)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', journal])
  mounts.push(journal)
  const h = await buildHub({ estateFile: connectorsEstate(), dataDir })
  const readings = readingsOf(h.hub)
  const fd = fs.openSync(path.join(journal, 'filler'), 'w')
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1))
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC')
  } finally {
    fs.closeSync(fd)
  }

  const push = ctwingDataReport({ deviceId: 'ctw-bay-0001', imei: '867724052345678' }, { occupied: true }, 7)
  const url = `${h.httpUrl}/ingest/ctwing/ctw`
  for (let i = 0; i < 3; i++) {
    const res = await ctwingPost(url, TOKENS.ctw, push)
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ code: 'ZHIAN_ERR_JOURNAL_UNAVAILABLE' })
  }

  fs.rmSync(path.join(journal, 'filler'))
  await until(() => h.hub.gate.unavailable() === undefined, 'the journal writing again', 15_000)
  const retry = await ctwingPost(url, TOKENS.ctw, push)
  expect(retry.status).toBe(200)
  expect(await retry.json()).toEqual({ status: 'accepted' })
  expect(await (await ctwingPost(url, TOKENS.ctw, push)).json()).toEqual({ status: 'duplicate' })
  // Journalled once — what history ships and the rules replay after a crash. (A commit that fails
  // still releases its records to the live bus — the gate's rule for MQTT too — but not to history.)
  await h.close()
  const records = fs
    .readdirSync(journal)
    .filter((f) => f.endsWith('.jnl'))
    .flatMap((f) => fs.readFileSync(path.join(journal, f), 'utf8').split('\n'))
    .filter((line) => line.startsWith('{"m":"parking_bay"') && line.includes('"device_id":"bay1"'))
  expect(records).toHaveLength(1)
  expect(readings.of('bay1').at(-1)).toEqual({ occupied: true })
}, 60_000)
