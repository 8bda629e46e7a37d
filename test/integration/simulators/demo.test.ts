import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { tempDir, until } from '../../helpers/hub.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

test('npm run demo comes up, shows alerts within a minute and stops cleanly on Ctrl-C', {
  timeout: 150_000,
}, async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  // What `npm run demo` runs, spawned directly: npm itself dies of the SIGINT a terminal sends the
  // whole foreground group, while the question here is whether zhian stops cleanly.
  expect(pkg.scripts.demo).toBe('node --max-semi-space-size=64 --import tsx src/main.ts demo')
  const [command, ...args] = (pkg.scripts.demo as string).split(' ')
  const child = spawn(command === 'node' ? process.execPath : command!, args, {
    cwd: ROOT,
    detached: true, // its own process group, like a terminal's foreground job
    env: {
      ...process.env,
      ZHIAN_DATA_DIR: tempDir('zhian-demo-'),
      ZHIAN_MQTT_PORT: '0',
      ZHIAN_HTTP_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const banner = await until(
      () => /dashboard\s+(http:\/\/localhost:\d+)\/\s+login admin \/ (\S+)/.exec(out),
      'the demo banner',
      60_000,
    )
    expect(out).toMatch(/token zhian-demo-api-token/)
    const httpUrl = banner[1]!
    // The hub accepts the simulated readings…
    await until(
      async () => {
        const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
        const m = /zhian_mqtt_messages_in_total\{kind="elevator",suffix="state"\} (\d+)/.exec(metrics)
        return m && Number(m[1]) > 5
      },
      'elevator readings in the hub metrics',
      30_000,
    )
    // …and the first alerts of the demo scenario appear (a sensor battery runs low 45 s in).
    await until(() => out.includes('manhole.low_battery'), 'an alert line', 60_000)
    const login = await fetch(`${httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: banner[2] }),
    })
    expect(login.status).toBe(200)
  } finally {
    process.kill(-child.pid!, 'SIGINT')
  }
  expect(await exited).toBe(0)
  expect(out).toMatch(/stopped\./)
})
