import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { compressRules } from '../../../simulators/estate-gen.ts'
import { loadEstateFile, parseEstate, serializeWithSections } from '../../../src/config/estate-file.ts'
import { API_TOKEN, buildHub, connectDevice, DEMO_ESTATE, tempDir, until } from '../../helpers/hub.ts'

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
  test('plays a scenario against a hub whose rules run at its speed, stops at its end and prints expected vs raised', {
    timeout: 60_000,
  }, async () => {
    // The README's pairing: a hub on the estate with rule durations ÷ 60 for a ×60 scenario.
    const file = path.join(tempDir('zhian-x60-'), 'x60.yaml')
    fs.writeFileSync(file, serializeWithSections(compressRules(loadEstateFile(DEMO_ESTATE), 60), DEMO_ESTATE))
    const hub = await buildHub({ estateFile: file })
    let trapped = false
    hub.hub.bus.on('reading', ({ device, values }) => {
      if (device.id === 'elev_b1_2' && values.passenger === true) trapped = true
    })
    // No --duration: the scenario's own 10 minutes (10 s at ×60), then the summary.
    const run = await zhian([
      'simulate',
      '--url',
      hub.mqttUrl,
      '--http',
      hub.httpUrl,
      '--token',
      API_TOKEN,
      '--scenario',
      'trapped',
      '--speed',
      '60',
    ])
    expect(run.code).toBe(0)
    const devices = parseEstate(fs.readFileSync(DEMO_ESTATE, 'utf8')).devices.length
    expect(run.stderr).toContain(`${devices} devices → `)
    expect(run.stderr).toContain('trapped → elev_b1_2 {"for":"5m"}')
    expect(run.stderr).toMatch(
      new RegExp(
        `stopping: connected ${devices}/${devices} \\| \\d+ msg/s \\| sent \\d+ \\| refused 0 \\| errors 0`,
      ),
    )
    expect(run.stderr).toContain('--rules-speed 60')
    expect(trapped).toBe(true)
    expect(run.stdout).toContain('expected 1 alert(s), raised 1:')
    expect(run.stdout).toMatch(/✓ elevator\.trapped\s+elev_b1_2/)
    expect(run.stdout).toContain('result: as expected')
  })

  test('refuses to drive devices another simulator already drives, and drives none of them', {
    timeout: 60_000,
  }, async () => {
    const hub = await buildHub({ estateFile: DEMO_ESTATE })
    // A device of the demo as its simulator drives it: connected, announced online.
    const lift = await connectDevice(hub.mqttUrl, 'elev_b1_1')
    await lift.publishAsync('zhian/elevator/elev_b1_1/availability', 'online', { qos: 1, retain: true })
    await until(
      () => hub.hub.live.devices({ scope: null }).find((d) => d.id === 'elev_b1_1')?.online,
      'elev_b1_1 online',
    )
    let readings = 0
    hub.hub.bus.on('reading', () => readings++)
    const run = await zhian([
      'simulate',
      '--url',
      hub.mqttUrl,
      '--http',
      hub.httpUrl,
      '--token',
      API_TOKEN,
      '--scenario',
      'trapped',
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /1 of these \d+ devices are already connected to the hub at http:\/\/127\.0\.0\.1:\d+ \(elev_b1_1\)/,
    )
    expect(run.stderr).toContain('--force')
    expect(readings).toBe(0)
    expect(
      hub.hub.live
        .devices({ scope: null, role: 'admin' } as never)
        .filter((d) => d.online)
        .map((d) => d.id),
    ).toEqual(['elev_b1_1'])
  })

  test('--generate-estate prints an estate file with the demo devices plus synthesised ones', async () => {
    const demo = parseEstate(fs.readFileSync(DEMO_ESTATE, 'utf8')).devices.length
    const run = await zhian(['simulate', '--generate-estate', String(demo + 20)])
    expect(run.code).toBe(0)
    const estate = parseEstate(run.stdout, 'generated')
    expect(estate.devices).toHaveLength(demo + 20)
    expect(estate.devices[0]!.id).toBe('elev_b1_1')
    const last = estate.devices[demo + 19]!
    expect(last.secret).toBe(`sim-secret-${last.id}`)
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
