import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { KIND_IDS, KINDS } from '../../devices/index.ts'
import { SCHEMAS } from '../../devices/schema.ts'
import type { KindDefinition } from '../../devices/types.ts'
import { generatedDashboards } from '../../grafana/gen.ts'
import { generateEstate, withEveryKind } from '../../simulators/estate-gen.ts'
import { Fleet } from '../../simulators/fleet.ts'
import type { RecordedMessage } from '../../simulators/links.ts'
import { recordPayloads } from '../../simulators/loadgen.ts'
import { loadEstateFile } from '../../src/config/estate-file.ts'
import { localParts, ymd } from '../../src/reports/period.ts'
import { buildHub, connectDevice, DEMO_ESTATE, tempDir, until } from '../helpers/hub.ts'

/**
 * Adding a kind is one file and one line in devices/index.ts: the kind of devices/template.ts (a
 * water-leak sensor, a kind the hub does not have), copied to a temp file and registered the way that one line does (index.ts here is
 * the real one plus the new key), is picked up by the hub, the simulators, the Grafana generator, the
 * live state the estate view shows, and the reports, with no other file touched.
 */
vi.mock('../../devices/index.ts', async (importOriginal) => {
  const fsm = await import('node:fs')
  const osm = await import('node:os')
  const pathm = await import('node:path')
  const devices = pathm.resolve(import.meta.dirname, '../../devices')
  const dir = fsm.mkdtempSync(pathm.join(osm.tmpdir(), 'zhian-kind-'))
  const file = pathm.join(dir, 'water_leak.ts')
  const template = fsm.readFileSync(pathm.join(devices, 'template.ts'), 'utf8')
  fsm.writeFileSync(file, template.replace("from './types.ts'", `from '${pathm.join(devices, 'types.ts')}'`))
  const original = (await importOriginal()) as typeof import('../../devices/index.ts')
  const { water_leak } = await import(file)
  const KINDS = { ...original.KINDS, water_leak }
  return {
    ...original,
    KINDS,
    KIND_IDS: Object.keys(KINDS),
    isKindId: (v: string) => Object.hasOwn(KINDS, v),
    kindOf: (id: string) => KINDS[id as keyof typeof KINDS],
  }
})

const KIND = 'water_leak' as (typeof KIND_IDS)[number]
const def = (): KindDefinition => (KINDS as Record<string, KindDefinition>)[KIND]!

function estateFile(): string {
  const file = path.join(tempDir('zhian-kind-estate-'), 'estate.yaml')
  fs.writeFileSync(
    file,
    `sites:
  - { id: s1, type: street, name: 街道, children: [
      { id: c1, type: community, name: 社区, children: [
          { id: e1, type: estate, name: 一号小区, children: [ { id: e1_b1, type: building, name: 1号楼 } ] } ] } ] }
devices:
  - { id: wl1, kind: water_leak, estate: e1, building: e1_b1, name: 1号楼泵房水浸, secret: wl1-secret-000001 }
  - { id: mh1, kind: manhole, estate: e1, name: 1号井盖, secret: mh1-secret-000001 }
users: []
overrides: {}
`,
  )
  return file
}

describe('a new kind from the template, registered with one line', () => {
  it('is a kind everywhere devices/ is read: schemas, the catalogue', () => {
    expect(KIND_IDS).toContain(KIND)
    expect(SCHEMAS[KIND].state.safeParse({ leak: true }).success).toBe(true)
    expect(SCHEMAS[KIND].state.safeParse({ leak: 'yes' }).success).toBe(false)
  })

  it('is simulated by the generic behaviour: healthy readings the hub accepts, and its fault', async () => {
    const payloads = recordPayloads(KIND, 'wl1', {}, 10)
    expect(payloads.length).toBeGreaterThan(0)
    for (const p of payloads) expect(SCHEMAS[KIND].state.safeParse(JSON.parse(p)).success, p).toBe(true)
    const messages: RecordedMessage[] = []
    const fleet = new Fleet({
      estate: loadEstateFile(estateFile()),
      seed: 1,
      faultRate: 0,
      record: (m) => messages.push(m),
    })
    await fleet.start()
    fleet.act('wl1', 'fault', { for: '5m' })
    fleet.clock.advance(3_600_000)
    await fleet.stop()
    const states = messages
      .filter((m) => m.topic === 'zhian/water_leak/wl1/state')
      .map((m) => JSON.parse(m.payload))
    expect(states.some((s) => s.leak === true)).toBe(true)
    // …and recovers: the last report of the flag says dry (devices report on change).
    expect(states.filter((s) => 'leak' in s).at(-1)).toMatchObject({ leak: false })
    // The simulator payload tests run the demo estate with one device of every kind it lacks.
    expect(withEveryKind(loadEstateFile(DEMO_ESTATE)).devices.filter((d) => d.kind === KIND)).toHaveLength(1)
    // A scaled estate takes it in when the kind gives it a weight (the template gives 0).
    const scaled = generateEstate(100)
    expect(scaled.devices.some((d) => d.kind === KIND)).toBe(def().simulator!.mix.weight > 0)
  })

  it('gets a Grafana dashboard from `npm run gen`: a series per numeric and boolean field', () => {
    const text = generatedDashboards().get('water-leak.json')
    expect(text).toBeDefined()
    const json = JSON.parse(text!)
    expect(json.title).toBe('智安 水浸 Water leak')
    expect(json.panels.map((p: { title: string }) => p.title)).toEqual([
      '浸水 Water detected',
      '积水深度 Water depth',
      '电池电量 Battery',
    ])
    expect(json.panels[1].targets[0].query).toContain('FROM "water_leak"')
  })

  it('is in the dashboard build: a copy of the tree with the file and the one line builds with it', {
    timeout: 120_000,
  }, () => {
    const root = path.resolve(import.meta.dirname, '../..')
    const copy = tempDir('zhian-kind-tree-')
    for (const dir of ['src', 'devices'])
      fs.cpSync(path.join(root, dir), path.join(copy, dir), { recursive: true })
    for (const file of ['package.json', 'tsconfig.json'])
      fs.copyFileSync(path.join(root, file), path.join(copy, file))
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'))
    fs.copyFileSync(path.join(root, 'devices/template.ts'), path.join(copy, 'devices/water_leak.ts'))
    // The one line (and its import) in devices/index.ts.
    const index = path.join(copy, 'devices/index.ts')
    fs.writeFileSync(
      index,
      `import { water_leak } from './water_leak.ts'\n${fs
        .readFileSync(index, 'utf8')
        .replace('export const KINDS = {', 'export const KINDS = {\n  water_leak,')}`,
    )
    const out = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'src/web/vite.config.ts',
        '--logLevel',
        'error',
      ],
      { cwd: copy, encoding: 'utf8' },
    )
    expect(out.status, out.stderr).toBe(0)
    const assets = path.join(copy, 'dist/web/assets')
    const js = fs
      .readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => fs.readFileSync(path.join(assets, f), 'utf8'))
      .join('\n')
    // The estate view lists its panels from the kinds: the new kind is among them, with its names.
    expect(js).toContain('water_leak')
    expect(js).toContain('水浸')
  })

  it('is accepted, alerted, shown live and reported by a real hub', { timeout: 60_000 }, async () => {
    const h = await buildHub({ estateFile: estateFile() })
    const wl = await connectDevice(h.mqttUrl, 'wl1', { password: 'wl1-secret-000001' })
    const sim = def().simulator!
    await wl.publishAsync('zhian/water_leak/wl1/state', JSON.stringify(sim.healthy(1)), { qos: 1 })
    // Live state: what the estate view's generic table shows.
    await until(async () => {
      const estate = (await (await h.api('/api/live/estates/e1')).json()) as {
        devices: { id: string; online: boolean; values: Record<string, unknown> }[]
      }
      const d = estate.devices.find((x) => x.id === 'wl1')
      return d?.online === true && d.values.leak === false
    }, 'wl1 live and online')
    // Its faulty reading raises the alert it declares.
    await wl.publishAsync('zhian/water_leak/wl1/state', JSON.stringify(sim.faulty!.state), { qos: 1 })
    const type = `${KIND}.${sim.faulty!.raises}`
    await until(async () => {
      const res = (await (await h.api(`/api/alerts?type=${type}`)).json()) as {
        items: { device_id: string }[]
      }
      return res.items.some((a) => a.device_id === 'wl1')
    }, `${type} raised`)
    // Reports: counted by kind and by type, under the kind's name.
    const today = ymd(localParts(Date.now(), 'Asia/Shanghai'))
    const report = (await (await h.api(`/api/reports?scope=e1&period=${today}`)).json()) as {
      alerts: { type: string; count: number }[]
      alerts_by_kind: { key: string; name: { zh: string }; count: number }[]
      kinds: { kind: string }[]
    }
    expect(report.alerts.find((a) => a.type === type)?.count).toBe(1)
    expect(report.alerts_by_kind.find((k) => k.key === KIND)).toMatchObject({
      name: { zh: '水浸' },
      count: 1,
    })
    // …and in a section of its own: its alerts counted per device.
    expect(report.kinds.find((k) => k.kind === KIND)).toMatchObject({
      total: 1,
      rows: [{ device_id: 'wl1', counts: { leak: 1 } }],
    })
  })
})
