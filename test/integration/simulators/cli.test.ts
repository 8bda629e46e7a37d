import { spawn } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { buildHub, DEMO_ESTATE } from '../../helpers/hub.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

/** `readAfterMs` starts reading stdout late, as a busy pipe reader would: the pipe fills and the CLI must still flush it all before exiting. */
function zhian(
  args: string[],
  readAfterMs = 0,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT })
  let stdout = ''
  let stderr = ''
  // The listener is attached at once (Node resumes an unread child stdout at exit and would drop
  // what it reads); pausing the socket makes the child's writes queue in the child meanwhile.
  child.stdout.on('data', (d) => (stdout += d))
  if (readAfterMs > 0) {
    child.stdout.pause()
    setTimeout(() => child.stdout.resume(), readAfterMs)
  }
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

describe('zhian simulate', () => {
  test('plays a scenario against a hub at a speed for a simulated duration, then exits cleanly', {
    timeout: 60_000,
  }, async () => {
    const hub = await buildHub({ estateFile: DEMO_ESTATE })
    let trapped = false
    hub.hub.bus.on('reading', ({ device, values }) => {
      if (device.id === 'elev_b1_2' && values.passenger === true) trapped = true
    })
    const run = await zhian([
      'simulate',
      '--url',
      hub.mqttUrl,
      '--scenario',
      'trapped',
      '--speed',
      '60',
      '--duration',
      '3m',
    ])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('80 devices → ')
    expect(run.stderr).toContain('trapped → elev_b1_2 {"for":"5m"}')
    expect(run.stderr).toMatch(
      /stopping: connected 80\/80 \| \d+ msg\/s \| sent \d+ \| refused 0 \| errors 0/,
    )
    expect(trapped).toBe(true)
  })

  test('--generate-estate prints an estate file with the demo devices plus synthesised ones', async () => {
    const run = await zhian(['simulate', '--generate-estate', '150'])
    expect(run.code).toBe(0)
    const estate = parseEstate(run.stdout, 'generated')
    expect(estate.devices).toHaveLength(150)
    expect(estate.devices[0]!.id).toBe('elev_b1_1')
    expect(estate.devices[149]!.secret).toBe(`sim-secret-${estate.devices[149]!.id}`)
  })

  test('--dry-run prints the timeline as JSON lines without a broker', async () => {
    const run = await zhian(['simulate', '--dry-run', '--scenario', 'trapped', '--duration', '3m'], 3000)
    expect(run.code).toBe(0)
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.length).toBeGreaterThan(100)
    const trap = lines.find(
      (l) => l.topic === 'zhian/elevator/elev_b1_2/state' && l.payload.includes('"passenger":true'),
    )
    expect(trap?.at).toMatch(/T\d\d:\d\d:\d\d/)
  })

  test('refuses an unknown scenario with the list of known ones', async () => {
    const run = await zhian(['simulate', '--dry-run', '--scenario', 'nope'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/unknown scenario "nope" \(known: demo, trapped/)
  })
})
