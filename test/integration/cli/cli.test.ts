import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { buildHub, type TestHub, tempDir, until } from '../../helpers/hub.ts'
import { as, DASHBOARD_ESTATE, login } from '../../helpers/session.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const run = promisify(execFile)

function zhian(dataDir: string, ...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ZHIAN_DATA_DIR: dataDir },
  })
}

/** `zhian …` with `input` on its standard input. */
function zhianWithInput(dataDir: string, input: string, ...args: string[]) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ZHIAN_DATA_DIR: dataDir },
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    child.on('close', (code) => resolve({ code, out }))
    child.stdin.end(input)
  })
}

/** `zhian start` as a new user runs it; resolves with what it printed once the banner is out. */
async function start(env: Record<string, string>): Promise<{ out: () => string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ZHIAN_HTTP_PORT: '0',
      ZHIAN_HTTP_HOST: '127.0.0.1',
      ZHIAN_MQTT_PORT: '0',
      ZHIAN_MQTT_HOST: '127.0.0.1',
      ZHIAN_LOG_LEVEL: 'silent',
      ...env,
    },
  })
  onTestFinished(() => {
    child.kill('SIGTERM')
  })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  child.stderr.on('data', (d) => {
    out += d
  })
  await until(() => out.includes('dashboard http'), 'the start banner', 20_000)
  return { out: () => out, child }
}

describe('zhian device add', () => {
  /** The hub in this process sees a device the CLI added within a second; then it may connect. */
  async function connectsWith(hub: TestHub, id: string, secret: string): Promise<boolean> {
    await until(async () => (await hub.api(`/api/devices/${id}`)).status === 200, `${id} in the hub`)
    const client = await mqtt.connectAsync(hub.mqttUrl, {
      username: id,
      password: secret,
      protocolVersion: 4,
      reconnectPeriod: 0,
    })
    const connected = client.connected
    await client.endAsync(true)
    return connected
  }

  it('reads the secret from standard input or a file, so it never appears in the process list', async () => {
    const hub = await buildHub()
    const add = (id: string) => ['device', 'add', '--id', id, '--kind', 'manhole', '--estate', 'e1']
    const piped = await zhianWithInput(
      hub.dataDir,
      'piped-device-secret-1\n',
      ...add('mh8'),
      '--secret-stdin',
    )
    expect(piped.code).toBe(0)
    expect(piped.out).toContain('added manhole mh8 in e1')
    expect(piped.out).not.toContain('piped-device-secret-1')
    expect(piped.out).not.toContain('shown once')
    expect(await connectsWith(hub, 'mh8', 'piped-device-secret-1')).toBe(true)

    const file = path.join(tempDir(), 'secret.txt')
    fs.writeFileSync(file, 'from-a-file-secret\n', { mode: 0o600 })
    const filed = await zhian(hub.dataDir, ...add('mh9'), '--secret-file', file)
    expect(filed.stdout).not.toContain('from-a-file-secret')
    expect(await connectsWith(hub, 'mh9', 'from-a-file-secret')).toBe(true)

    // More than one source, or a file that cannot be read: refused, and no device added.
    const both = await zhianWithInput(hub.dataDir, 'x', ...add('mh10'), '--secret-stdin', '--secret', 'y')
    expect(both.code).toBe(2)
    expect(both.out).toContain('at most one of --secret, --secret-stdin, --secret-file')
    const missing = await zhianWithInput(hub.dataDir, '', ...add('mh10'), '--secret-file', `${file}.gone`)
    expect(missing.code).not.toBe(0)
    expect(missing.out).toMatch(/ZHIAN_ERR_VALIDATION: .*--secret-file/)
    expect((await hub.api('/api/devices/mh10')).status).toBe(404)
  }, 90_000)
})

describe('zhian user … and the first admin', () => {
  it('adds a user a running hub accepts, changes the password (ending sessions), removes the user', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const added = await zhian(hub.dataDir, 'user', 'add', 'duty1', '--role', 'manager', '--scope', 'e1')
    const password = /password \(shown once\): (\S+)/.exec(added.stdout)?.[1]
    expect(added.stdout).toContain('added manager duty1, scope e1')
    expect(password).toBeDefined()
    const res = await login(hub.httpUrl, 'duty1', password!)
    expect(res.status).toBe(200)
    const { token } = (await res.json()) as { token: string }
    expect(await (await as(hub.httpUrl, token)('/api/auth/me')).json()).toMatchObject({
      role: 'manager',
      scope: 'e1',
    })

    await zhian(hub.dataDir, 'user', 'passwd', 'duty1', '--password', 'a-new-password-1')
    expect((await as(hub.httpUrl, token)('/api/auth/me')).status).toBe(401)
    expect((await login(hub.httpUrl, 'duty1', password!)).status).toBe(401)
    const again = await login(hub.httpUrl, 'duty1', 'a-new-password-1')
    expect(again.status).toBe(200)
    const token2 = ((await again.json()) as { token: string }).token

    const listed = await zhian(hub.dataDir, 'user', 'list')
    expect(listed.stdout).toMatch(/^duty1\tmanager\te1\t-\tcli$/m)
    await zhian(hub.dataDir, 'user', 'remove', 'duty1')
    expect((await as(hub.httpUrl, token2)('/api/auth/me')).status).toBe(401)
    expect((await login(hub.httpUrl, 'duty1', 'a-new-password-1')).status).toBe(401)

    await expect(zhian(hub.dataDir, 'user', 'add', 'x1', '--role', 'boss')).rejects.toThrow(
      /--role is one of/,
    )
    await expect(
      zhian(hub.dataDir, 'user', 'add', 'x2', '--role', 'viewer', '--scope', 'nowhere'),
    ).rejects.toThrow(/ZHIAN_ERR_UNKNOWN_SITE/)
  }, 90_000)

  it('zhian user add|passwd read the password from standard input or a file, so it never appears in the process list', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const added = await zhianWithInput(
      hub.dataDir,
      'piped-password-1\n',
      'user',
      'add',
      'duty2',
      '--role',
      'viewer',
      '--password-stdin',
    )
    expect(added.code).toBe(0)
    expect(added.out).not.toContain('piped-password-1')
    expect(added.out).not.toContain('shown once')
    expect((await login(hub.httpUrl, 'duty2', 'piped-password-1')).status).toBe(200)

    const file = path.join(tempDir(), 'pw.txt')
    fs.writeFileSync(file, 'from-a-file-pass\n', { mode: 0o600 })
    await zhian(hub.dataDir, 'user', 'passwd', 'duty2', '--password-file', file)
    expect((await login(hub.httpUrl, 'duty2', 'piped-password-1')).status).toBe(401)
    expect((await login(hub.httpUrl, 'duty2', 'from-a-file-pass')).status).toBe(200)

    const both = await zhianWithInput(
      hub.dataDir,
      'x',
      'user',
      'passwd',
      'duty2',
      '--password-stdin',
      '--password',
      'y',
    )
    expect(both.code).toBe(2)
    expect(both.out).toContain('at most one of')
  }, 90_000)

  it('zhian start writes the generated admin password and API token to an owner-only file it names; neither reaches stdout or the log; ZHIAN_ADMIN_PASSWORD sets the password instead', async () => {
    const dataDir = tempDir()
    const first = await start({ ZHIAN_DATA_DIR: dataDir, ZHIAN_LOG_LEVEL: 'info' })
    const file = path.join(dataDir, 'initial-credentials.txt')
    expect(first.out()).toContain(`generated credentials written to ${file}`)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const text = fs.readFileSync(file, 'utf8')
    const password = /dashboard login: admin \/ (\S+)/.exec(text)?.[1]
    const token = /admin API token: (\S+)/.exec(text)?.[1]
    expect(password).toMatch(/^[\w-]{16}$/)
    expect(token).toMatch(/^[\w-]{32}$/)
    // The pino log (info level) and the banner carry neither secret.
    expect(first.out()).toMatch(/"file":"[^"]*initial-credentials\.txt"/)
    expect(first.out()).not.toContain(password)
    expect(first.out()).not.toContain(token)
    const port = /dashboard http:\/\/127\.0\.0\.1:(\d+)\//.exec(first.out())?.[1]
    expect((await login(`http://127.0.0.1:${port}`, 'admin', password!)).status).toBe(200)
    const me = await fetch(`http://127.0.0.1:${port}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(me.status).toBe(200)
    first.child.kill('SIGTERM')
    await new Promise((r) => first.child.once('exit', r))
    const second = await start({ ZHIAN_DATA_DIR: dataDir })
    expect(second.out()).not.toContain('generated credentials')
    expect(fs.readFileSync(file, 'utf8')).toBe(text)
    second.child.kill('SIGTERM')

    const fixedDir = tempDir()
    const fixed = await start({
      ZHIAN_DATA_DIR: fixedDir,
      ZHIAN_ADMIN_PASSWORD: 'wall-screen-pass',
      ZHIAN_API_TOKEN: 'a-fixed-api-token-0123',
    })
    expect(fixed.out()).not.toContain('generated credentials')
    expect(fs.existsSync(path.join(fixedDir, 'initial-credentials.txt'))).toBe(false)
    const fixedPort = /dashboard http:\/\/127\.0\.0\.1:(\d+)\//.exec(fixed.out())?.[1]
    expect((await login(`http://127.0.0.1:${fixedPort}`, 'admin', 'wall-screen-pass')).status).toBe(200)
  }, 90_000)
})
