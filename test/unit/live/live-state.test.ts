import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { loadEstateFile } from '../../../src/config/estate-file.ts'
import { Bus } from '../../../src/core/bus.ts'
import { LiveState, SWEEP_MS } from '../../../src/live/live-state.ts'
import { Registry } from '../../../src/registry/registry.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { SMALL_ESTATE, tempDir } from '../../helpers/hub.ts'

/** LiveState over a real registry (SQLite in a temp dir) and bus, with its clock in the test's hand. */
describe('live state', () => {
  let db: Db
  let bus: Bus
  let registry: Registry
  let now: number
  let live: LiveState

  beforeEach(async () => {
    db = openDb(tempDir())
    bus = new Bus()
    registry = new Registry(db, bus)
    registry.open()
    new Auth(db, new ApiToken(db)).open() // the users table's crew column, as the hub does before the file
    await registry.applyEstate(loadEstateFile(SMALL_ESTATE))
    now = 1_000_000
    // Zone names as the estate file's `zones` on estate e1 gives them.
    live = new LiveState(
      bus,
      registry,
      () => now,
      undefined,
      (estate): Record<string, string> => (estate === 'e1' ? { ground: '地面停车场' } : {}),
    )
    live.start()
  })
  afterEach(() => {
    live.stop()
    db.close()
  })

  const read = (id: string, values: Record<string, unknown>) =>
    bus.emit('reading', { device: registry.get(id)!, values, ts: now, receivedAt: now, seq: undefined })
  const site = (id: string) => live.rollup({ scope: null }).find((s) => s.id === id)!
  const alert = (over: Partial<Alert>): Alert => ({
    id: 'a1',
    subject: 'lift1',
    type: 'elevator.trapped',
    kind: 'elevator',
    device_id: 'lift1',
    street: 's1',
    community: 'c1',
    estate: 'e1',
    building: 'e1_b1',
    severity: 'critical',
    status: 'active',
    condition: 'raised',
    suppressed: false,
    suppressed_reason: null,
    latched: true,
    crew: 'elevator_contractor',
    assigned_team: null,
    title: { zh: '困人', en: 'Trapped' },
    message: { zh: '', en: '' },
    values: {},
    occurrences: 1,
    first_at: now,
    last_at: now,
    cleared_at: null,
    acknowledged_at: null,
    resolved_at: null,
    ...over,
  })

  it('counts a device offline until it talks, then offline again after its kind offline window (the offline alert window)', () => {
    expect(site('e1')).toMatchObject({ devices: 6, offline: 6 })
    read('lift1', { floor: 3 })
    expect(site('e1').offline).toBe(5)
    expect(site('s1').offline).toBe(6) // e1's five plus e2's lift
    now += 60_000 * 3 + 30_000 // elevator heartbeat 60 s × 3 missed + 30 s grace, as elevator.offline
    expect(site('e1').offline).toBe(5)
    now += 1
    expect(site('e1').offline).toBe(6)
    expect(live.device('lift1')).toMatchObject({ online: false, values: { floor: 3 }, last_seen: 1_000_000 })
  })

  it('shows a manhole offline when its offline alert is due (2 × 30 min + 1 h), not an hour before', () => {
    read('mh1', { tilt_deg: 1 })
    now += 2 * 1_800_000 + 60_000 + 1 // the old dashboard rule (two heartbeats + 1 min) called it offline here
    expect(live.device('mh1')!.online).toBe(true)
    now += 3_600_000 - 60_000
    expect(live.device('mh1')!.online).toBe(false)
  })

  it('pushes a device that fell silent as offline, once, without any event announcing it', () => {
    read('lift1', { floor: 3 })
    read('fp1', { occupied: false })
    expect(live.drainDirty().map((d) => [d.id, d.online])).toEqual([
      ['lift1', true],
      ['fp1', true],
    ])
    const before = live.version
    now += 60_000 * 3 + 30_000 + 1 // past the lift's offline window; the passage (2 × 5 min + 5 min) still fine
    expect(live.sweep()).toBe(1)
    // The live push carries it (device list, estate view) and the roll-up recomputes (version moved).
    expect(live.drainDirty()).toMatchObject([{ id: 'lift1', online: false, last_seen: 1_000_000 }])
    expect(live.version).toBeGreaterThan(before)
    expect(site('e1').offline).toBe(5)
    // Nothing more to push until it changes again.
    expect(live.sweep()).toBe(0)
    expect(live.drainDirty()).toEqual([])
    // It talks again: online, and a later silence is noticed again.
    read('lift1', { floor: 4 })
    expect(live.drainDirty()).toMatchObject([{ id: 'lift1', online: true }])
    now += 60_000 * 3 + 30_000 + 1
    expect(live.sweep()).toBe(1)
    expect(live.drainDirty()).toMatchObject([{ id: 'lift1', online: false }])
  })

  it('forgets what changed while nobody watched: the next push carries only later changes, with current values', () => {
    read('lift1', { floor: 3 })
    read('fp1', { occupied: false })
    live.discardDirty()
    expect(live.drainDirty()).toEqual([])
    read('lift1', { floor: 5 })
    expect(live.drainDirty()).toMatchObject([{ id: 'lift1', values: { floor: 5 } }])
    // A watcher that joins now loads the state, which was kept: only the push list was dropped.
    expect(live.device('fp1')).toMatchObject({ values: { occupied: false } })
  })

  it('sweeps on its own every SWEEP_MS once started', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const swept = new LiveState(bus, registry, () => now)
      swept.start()
      read('lift1', { floor: 3 })
      swept.drainDirty()
      now += 60_000 * 3 + 30_000 + 1
      vi.advanceTimersByTime(SWEEP_MS)
      expect(swept.drainDirty()).toMatchObject([{ id: 'lift1', online: false }])
      swept.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it('believes the device’s own last will over its heartbeat', () => {
    read('lift2', { floor: 1 })
    bus.emit('availability', { device: registry.get('lift2')!, online: false, at: now })
    expect(live.device('lift2')!.online).toBe(false)
    read('lift2', { floor: 2 })
    expect(live.device('lift2')!.online).toBe(true)
  })

  it('merges values reported on change and remembers since when each holds', () => {
    read('fp1', { occupied: true, object_class: 'car' })
    now += 5000
    read('fp1', { confidence: 0.9 })
    now += 5000
    read('fp1', { occupied: true })
    expect(live.device('fp1')).toMatchObject({
      values: { occupied: true, object_class: 'car', confidence: 0.9 },
      since: { occupied: 1_000_000, confidence: 1_005_000 },
    })
  })

  it('counts parking per zone from the bays when the rule engine is not running, under the zone’s name', () => {
    read('pb1', { occupied: true })
    expect(live.parking({ scope: null })).toEqual([
      { estate: 'e1', zone: 'ground', name: '地面停车场', total: 2, occupied: 1, free: 0, unknown: 1 },
    ])
    read('pb2', { occupied: false })
    expect(site('e1').parking).toEqual({ total: 2, free: 1, unknown: 0 })
    expect(live.parking({ scope: 'e2' })).toEqual([])
  })

  it('rolls open alerts up every level by severity, and drops them when resolved', () => {
    const before = live.version
    bus.emit('alert', {
      alert: alert({}),
      entry: { alert_id: 'a1', at: now, action: 'raised', actor: 'rule', channel: 'rule', note: null },
    })
    expect(live.version).toBeGreaterThan(before)
    for (const id of ['s1', 'c1', 'e1', 'e1_b1']) expect(site(id).open.critical).toBe(1)
    expect(site('e2').open.critical).toBe(0)
    expect(live.device('lift1')).toMatchObject({ open_alerts: 1, worst_severity: 'critical' })
    expect(live.drainDirty().map((d) => d.id)).toContain('lift1')
    expect(live.openAlerts({ scope: 'e2' })).toEqual([])
    bus.emit('alert', {
      alert: alert({ status: 'resolved', resolved_at: now }),
      entry: { alert_id: 'a1', at: now, action: 'resolved', actor: 'mgr', channel: 'http', note: null },
    })
    expect(site('s1').open.critical).toBe(0)
    expect(live.device('lift1')).toMatchObject({ open_alerts: 0, worst_severity: null })
  })

  it('cuts every view to the scope', () => {
    expect(
      live
        .rollup({ scope: 'e1' })
        .map((s) => s.id)
        .sort(),
    ).toEqual(['e1', 'e1_b1', 'e1_b2'])
    expect(live.devices({ scope: 'e2' }).map((d) => d.id)).toEqual(['e2_lift1'])
    expect(live.devices({ scope: 'c1' }, { q: '井盖' }).map((d) => d.id)).toEqual(['mh1'])
  })

  it('keeps a device’s last refused message with the catalogue’s text and a count; a refusal is no sign of life', () => {
    const refuse = (code: 'ZHIAN_ERR_INVALID_JSON' | 'ZHIAN_ERR_OUT_OF_RANGE', detail?: string) =>
      bus.emit('device_refused', { device: registry.get('mh1')!, code, detail, via: 'mqtt', at: now })
    expect(live.device('mh1')?.last_error).toBeNull()
    live.discardDirty()
    refuse('ZHIAN_ERR_INVALID_JSON')
    now += 1000
    refuse('ZHIAN_ERR_OUT_OF_RANGE', 'water_level_cm: Number must be less than or equal to 2000')
    expect(live.drainDirty().map((d) => d.id)).toEqual(['mh1'])
    const mh1 = live.device('mh1')!
    expect(mh1.last_error).toEqual({
      code: 'ZHIAN_ERR_OUT_OF_RANGE',
      zh: '数值超出范围',
      en: 'value out of range',
      detail: 'water_level_cm: Number must be less than or equal to 2000',
      at: now,
      via: 'mqtt',
      count: 2,
    })
    // Garbage is not a heartbeat: the device stays offline and never seen.
    expect(mh1).toMatchObject({ online: false, last_seen: null })
    expect(live.device('lift1')?.last_error).toBeNull()
  })
})
