import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { buildHub, DEMO_ESTATE, tempDir, until } from '../../helpers/hub.ts'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../../..')

function zhian(dataDir: string, ...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ZHIAN_DATA_DIR: dataDir },
  })
}

async function canConnect(url: string, username: string, password: string): Promise<boolean> {
  const c = mqtt.connect(url, { username, password, protocolVersion: 4, reconnectPeriod: 0 })
  const ok = await new Promise<boolean>((r) => {
    c.once('connect', () => r(true))
    c.once('error', () => r(false))
  })
  c.end(true)
  return ok
}

describe('device registry over HTTP', () => {
  it('keeps /healthz and /metrics open and everything under /api behind the token', async () => {
    const t = await buildHub()
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${t.httpUrl}/metrics`)).text()).toContain('zhian_mqtt_connections')
    const anon = await fetch(`${t.httpUrl}/api/devices`)
    expect(anon.status).toBe(401)
    expect((await anon.json()).code).toBe('ZHIAN_ERR_UNAUTHORIZED')
    const forged = await fetch(`${t.httpUrl}/api/devices`, { headers: { authorization: 'Bearer forged' } })
    expect(forged.status).toBe(401)
  })

  it('adds a device with a generated secret that works once, and stores only a hash', async () => {
    const t = await buildHub()
    const res = await t.api('/api/devices', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'mh9',
        kind: 'manhole',
        estate: 'e1',
        location: '东门',
        params: { water_limit_cm: 60 },
      }),
    })
    expect(res.status).toBe(201)
    const { device, secret } = await res.json()
    expect(device).toMatchObject({ id: 'mh9', kind: 'manhole', estate: 'e1', location: '东门' })
    expect(secret).toMatch(/^[\w-]{20,}$/)
    expect(await canConnect(t.mqttUrl, 'mh9', secret)).toBe(true)
    const stored = t.hub.db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get('mh9') as {
      secret_hash: string
    }
    expect(stored.secret_hash).toMatch(/^sha256\$/)
    expect(stored.secret_hash).not.toContain(secret)
    const list = await (await t.api('/api/devices')).json()
    expect(list.map((d: { id: string }) => d.id)).toContain('mh9')
  })

  it('answers bad bodies with coded errors and changes nothing', async () => {
    const t = await buildHub()
    const before = (await (await t.api('/api/devices')).json()).length
    const post = (body: string) =>
      t.api('/api/devices', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const cases: [string, number, string][] = [
      ['{"id":"x1"', 400, 'ZHIAN_ERR_VALIDATION'],
      ['{"id":"x1","kind":"elevator"}', 400, 'ZHIAN_ERR_VALIDATION'],
      ['{"id":"X/1","kind":"elevator","estate":"e1"}', 400, 'ZHIAN_ERR_INVALID_ID'],
      ['{"id":"x1","kind":"escalator","estate":"e1"}', 400, 'ZHIAN_ERR_UNKNOWN_KIND'],
      ['{"id":"x1","kind":"elevator","estate":"c1"}', 400, 'ZHIAN_ERR_UNKNOWN_SITE'],
      ['{"id":"x1","kind":"elevator","estate":"e1","secret":"short"}', 400, 'ZHIAN_ERR_WEAK_SECRET'],
      [
        '{"id":"x1","kind":"elevator","estate":"e1","params":{"top_floor":"ten"}}',
        400,
        'ZHIAN_ERR_VALIDATION',
      ],
      ['{"id":"lift1","kind":"elevator","estate":"e1"}', 409, 'ZHIAN_ERR_DEVICE_EXISTS'],
    ]
    for (const [body, status, code] of cases) {
      const res = await post(body)
      expect({ body, status: res.status, code: (await res.json()).code }).toEqual({ body, status, code })
    }
    expect((await (await t.api('/api/devices')).json()).length).toBe(before)
    expect((await t.api('/api/devices/nope', { method: 'DELETE' })).status).toBe(404)
  })

  it('imports a CSV all-or-nothing: one bad row names its line and adds nothing', async () => {
    const t = await buildHub()
    const csv = (rows: string[]) =>
      t.api('/api/devices/import', {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: ['id,kind,estate,building,name,location,secret', ...rows].join('\n'),
      })
    const bad = await csv([
      'pb10,parking_bay,e1,,,B1-10,',
      'pb11,parking_bay,e1,,,B1-11,',
      'pb12,toaster,e1,,,,',
    ])
    expect(bad.status).toBe(400)
    const err = await bad.json()
    expect(err.code).toBe('ZHIAN_ERR_CSV_INVALID')
    expect(err.message).toContain('line 4')
    expect(t.hub.registry.get('pb10')).toBeUndefined()
    const good = await csv([
      'pb10,parking_bay,e1,,地下10号,B1-10,',
      'pb11,parking_bay,e1,,,B1-11,pb11-secret-abcdef',
    ])
    expect(good.status).toBe(200)
    const result = await good.json()
    expect(result).toMatchObject({ added: 2, updated: 0 })
    expect(Object.keys(result.secrets)).toEqual(['pb10'])
    expect(await canConnect(t.mqttUrl, 'pb11', 'pb11-secret-abcdef')).toBe(true)
    expect(await canConnect(t.mqttUrl, 'pb10', result.secrets.pb10)).toBe(true)
  })
})

describe('zhian CLI', () => {
  it('adds, lists and removes devices in the store a running hub uses, live within a second', async () => {
    const t = await buildHub()
    const added = await zhian(
      t.dataDir,
      'device',
      'add',
      '--id',
      'cli_lift',
      '--kind',
      'elevator',
      '--estate',
      'e1',
      '--building',
      'e1_b2',
      '--secret',
      'cli-lift-secret-123',
    )
    expect(added.stdout).toContain('added elevator cli_lift in e1')
    await until(() => t.hub.registry.get('cli_lift'), 'the hub to see the CLI-added device', 5000)
    expect(await canConnect(t.mqttUrl, 'cli_lift', 'cli-lift-secret-123')).toBe(true)
    const list = await zhian(t.dataDir, 'device', 'list')
    expect(list.stdout).toMatch(/^cli_lift\televator\te1\te1_b2/m)
    await zhian(t.dataDir, 'device', 'remove', 'cli_lift')
    await until(() => !t.hub.registry.get('cli_lift'), 'the hub to drop the removed device', 5000)
    expect(await canConnect(t.mqttUrl, 'cli_lift', 'cli-lift-secret-123')).toBe(false)
  })

  it('imports a CSV file and exports the store as an estate file that loads again', async () => {
    const t = await buildHub()
    const dir = tempDir()
    const file = path.join(dir, 'bays.csv')
    fs.writeFileSync(file, 'id,kind,estate,location\npb20,parking_bay,e1,B1-20\npb21,parking_bay,e1,B1-21\n')
    const imported = await zhian(t.dataDir, 'device', 'import', file)
    expect(imported.stdout).toContain('imported: 2 added, 0 updated')
    expect(imported.stdout).toMatch(/secret pb20 \S+/)
    const exported = await zhian(t.dataDir, 'config', 'export')
    const estate = parseEstate(exported.stdout)
    expect(estate.devices.map((d) => d.id)).toEqual(expect.arrayContaining(['lift1', 'pb20', 'pb21']))
    expect(estate.devices.every((d) => /^(scrypt|sha256)\$/.test(d.secret_hash ?? '') && !d.secret)).toBe(
      true,
    )
  })

  it('exports an estate with teams, roster and routing (the demo) as a file that loads again, sections as written', async () => {
    const t = await buildHub({ estateFile: DEMO_ESTATE })
    const exported = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'config', 'export'], {
      cwd: ROOT,
      env: { ...process.env, ZHIAN_DATA_DIR: t.dataDir, ZHIAN_CONFIG: DEMO_ESTATE },
    })
    const estate = parseEstate(exported.stdout)
    expect(estate.users.find((u) => u.username === 'fitter_wang')?.team).toBe('lift_yongan')
    expect(estate.teams?.map((x) => x.id)).toContain('lift_yongan')
    expect(exported.stdout).toMatch(/after: 5m/)
    expect(estate.routing?.length).toBeGreaterThan(0)
    // Site plans come from the file as written: pictures, building boxes, device points.
    expect(estate.devices.find((d) => d.id === 'hpxc_el_3_1')?.plan).toEqual({ x: 19, y: 21 })
    expect(exported.stdout).toMatch(/plan: plans\/tiancheng_jiayuan\.svg/)
  })

  it('fails `config check` on a bad estate file with the line and the reason', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'bad.yaml')
    fs.writeFileSync(file, 'sites:\n  - id: s1\n    type: planet\n    name: x\n')
    const err = await zhian(dir, 'config', 'check', file).catch((e: { code: number; stderr: string }) => e)
    expect((err as { code: number }).code).toBe(1)
    expect((err as { stderr: string }).stderr).toMatch(
      /ZHIAN_ERR_CONFIG_INVALID: .*bad\.yaml:3:\d+: sites\.0\.type/,
    )
  })

  it('refuses to start a hub with an invalid estate file, naming the line', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'bad.yaml')
    fs.writeFileSync(
      file,
      'sites: []\ndevices:\n  - id: a\n    kind: elevator\n    estate: e9\n    secret: long-enough-secret\n',
    )
    const err = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ZHIAN_DATA_DIR: dir,
        ZHIAN_CONFIG: file,
        ZHIAN_MQTT_PORT: '0',
        ZHIAN_HTTP_PORT: '0',
      },
    }).catch((e: { code: number; stderr: string }) => e)
    expect((err as { code: number }).code).toBe(1)
    expect((err as { stderr: string }).stderr).toMatch(
      /bad\.yaml:5:\d+: devices\.0\.estate: "e9" is not an estate/,
    )
  })
})
