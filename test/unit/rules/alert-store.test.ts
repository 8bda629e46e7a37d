import { afterEach, describe, expect, it } from 'vitest'
import { Gating } from '../../../src/alerts/gating.ts'
import { AlertStore } from '../../../src/alerts/store.ts'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { Bus } from '../../../src/core/bus.ts'
import { FakeClock } from '../../../src/core/clock.ts'
import type { Db } from '../../../src/store/db.ts'
import { openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir } from '../../helpers/hub.ts'
import { device, H, IDLE_LIFT, lift, MIN, rig, S } from './harness.ts'

/** The lifecycle store on a real SQLite file, fed by the real rule engine on a fake clock. */
const dbs: Db[] = []
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
})

function setup(dataDir = tempDir('zhian-alerts-')) {
  const db = openDb(dataDir)
  dbs.push(db)
  const bus = new Bus()
  const events: { alert: Alert; entry: AuditEntry }[] = []
  bus.on('alert', (e) => events.push(e))
  // What the broker announces on `<base>/hub/alert`: every transition of an alert not suppressed.
  const published: string[] = []
  bus.on('alert', ({ alert, entry }) => {
    if (!alert.suppressed) published.push(`${alert.type}:${entry.action}`)
  })
  const store = new AlertStore({
    db,
    bus,
    log: createLogger('silent'),
  })
  store.start()
  const gating = new Gating(db)
  gating.start()
  const fp = device('fp1', 'fire_passage')
  const mh = device('mh1', 'manhole')
  const r = rig({ devices: [fp, mh], gates: gating })
  // The engine's signals go to the store, as in the hub.
  const feed = () => {
    for (const s of r.signals.splice(0)) store.apply(s)
  }
  return { db, dataDir, store, gating, r, fp, mh, events, published, feed }
}

describe('alert store lifecycle', () => {
  it('keeps one open alert per device and type; a re-trigger increments occurrences and last_at', () => {
    const { store, r, mh, feed } = setup()
    r.send(mh, { cover_open: true })
    r.send(mh, { cover_open: false, tilt_deg: 0 })
    r.advance(MIN)
    r.send(mh, { cover_open: true })
    feed()
    const open = store.openAlerts()
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({
      type: 'manhole.cover_open',
      occurrences: 2,
      condition: 'raised',
      status: 'active',
    })
    expect(open[0]!.last_at - open[0]!.first_at).toBe(MIN)
    expect(store.list({ limit: 10, offset: 0 }).total).toBe(1)
  })

  it('auto-resolves an auto-clear alert when its condition clears, and a new episode is a new alert', () => {
    const { store, r, fp, feed } = setup()
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    r.send(fp, { occupied: false })
    r.advance(MIN)
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    feed()
    const blocked = store.list({ type: 'fire_passage.blocked', limit: 10, offset: 0 }).items
    expect(blocked.map((a) => a.status)).toEqual(['active', 'resolved'])
    expect(store.audit(blocked[1]!.id).map((e) => e.action)).toEqual(['raised', 'cleared', 'resolved'])
  })

  it('walks active → acknowledged → resolved with an audit entry and a bus event per step', () => {
    const { store, r, mh, feed, events, published } = setup()
    r.send(mh, { cover_open: true })
    feed()
    const [alert] = store.openAlerts()
    store.acknowledge(alert!.id, { actor: 'wang', channel: 'http', note: '已到场' })
    store.assign(alert!.id, 'utility_owner', { actor: 'wang', channel: 'http' })
    store.comment(alert!.id, { actor: 'li', channel: 'socket', note: '已设围挡' })
    store.resolve(alert!.id, { actor: 'wang', channel: 'http', note: '井盖复位' })
    expect(events.map((e) => e.entry.action)).toEqual([
      'raised',
      'acknowledged',
      'assigned',
      'commented',
      'resolved',
    ])
    expect(events.at(-1)!.alert).toMatchObject({ status: 'resolved', assigned_team: 'utility_owner' })
    expect(store.audit(alert!.id).map((e) => [e.actor, e.channel])).toEqual([
      ['rule', 'rule'],
      ['wang', 'http'],
      ['wang', 'http'],
      ['li', 'socket'],
      ['wang', 'http'],
    ])
    expect(published).toEqual([
      'manhole.cover_open:raised',
      'manhole.cover_open:acknowledged',
      'manhole.cover_open:assigned',
      'manhole.cover_open:commented',
      'manhole.cover_open:resolved',
    ])
    expect(store.openAlerts()).toHaveLength(0)
    expect(() => store.acknowledge(alert!.id, { actor: 'x', channel: 'http' })).toThrow(/resolved/)
    expect(() => store.resolve(alert!.id, { actor: 'x', channel: 'http' })).toThrow(/already resolved/)
  })

  it('records a suppressed alert without publishing it', () => {
    const { store, gating, r, mh, feed, published } = setup()
    gating.setMaintenance('mh1', true, 'wang', '换井盖', null)
    r.send(mh, { cover_open: true })
    feed()
    const [alert] = store.openAlerts()
    expect(alert).toMatchObject({ suppressed: true, suppressed_reason: 'maintenance' })
    expect(store.audit(alert!.id)[0]!.action).toBe('suppressed')
    expect(published).toEqual([])
  })

  it('reloads open alerts from the database at start', () => {
    const first = setup()
    first.r.send(first.mh, { cover_open: true })
    first.feed()
    const id = first.store.openAlerts()[0]!.id
    const again = new AlertStore({ db: first.db, bus: new Bus(), log: createLogger('silent') })
    again.start()
    expect(again.openFor('mh1', 'manhole.cover_open')?.id).toBe(id)
  })
})

describe('silences', () => {
  it('cover a device or a site node, for some or all types, until they end or are deleted', () => {
    const { gating } = setup()
    const fp = device('fp1', 'fire_passage')
    const now = Date.now() + 1000 // a moment after the silences start
    const s1 = gating.addSilence({
      device_id: 'fp1',
      site_id: null,
      types: ['fire_passage.blocked'],
      reason: '演练',
      created_by: 'wang',
      ends_at: now + 60_000,
    })
    expect(gating.suppression(fp, 'e1', 'fire_passage.blocked', now)).toBe(`silence:${s1.id}`)
    expect(gating.suppression(fp, 'e1', 'fire_passage.occupied', now)).toBeUndefined()
    expect(gating.suppression(fp, 'e1', 'fire_passage.blocked', now + 60_000)).toBeUndefined()
    const s2 = gating.addSilence({
      device_id: null,
      site_id: 'c1',
      types: null,
      reason: 'x',
      created_by: 'w',
      ends_at: now + 60_000,
    })
    expect(gating.suppression(fp, 'e1', 'fire_passage.occupied', now)).toBe(`silence:${s2.id}`)
    gating.endSilence(s2.id)
    expect(gating.suppression(fp, 'e1', 'fire_passage.occupied', now)).toBeUndefined()
    expect(() => gating.endSilence(s2.id)).toThrow(/unknown or ended silence/)
  })

  it('can start later: a maintenance window suppresses only between its start and end', () => {
    const { gating } = setup()
    const fp = device('fp1', 'fire_passage')
    const now = Date.now()
    const w = gating.addSilence({
      device_id: null,
      site_id: 'e1',
      types: null,
      reason: '周三例行维保',
      created_by: 'wang',
      starts_at: now + 3_600_000,
      ends_at: now + 7_200_000,
    })
    expect(gating.suppression(fp, 'e1', 'fire_passage.blocked', now)).toBeUndefined()
    expect(gating.suppression(fp, 'e1', 'fire_passage.blocked', now + 3_600_000)).toBe(`silence:${w.id}`)
    expect(gating.suppression(fp, 'e1', 'fire_passage.blocked', now + 7_200_000)).toBeUndefined()
  })
})

/** Store, gating and engine on one fake clock, so silences and maintenance run out as time moves. */
function gated() {
  const db = openDb(tempDir('zhian-gates-'))
  dbs.push(db)
  const clock = new FakeClock()
  const bus = new Bus()
  // What the broker announces on `<base>/hub/alert`: every transition of an alert not suppressed.
  const published: string[] = []
  bus.on('alert', ({ alert, entry }) => {
    if (!alert.suppressed) published.push(`${alert.type}:${entry.action}`)
  })
  const store = new AlertStore({
    db,
    bus,
    log: createLogger('silent'),
    now: () => clock.now(),
  })
  store.start()
  const gating = new Gating(db, () => clock.now())
  gating.start()
  const fp = device('fp1', 'fire_passage')
  const l = lift()
  const r = rig({ devices: [fp, l], gates: gating, clock })
  const feed = () => {
    for (const s of r.signals.splice(0)) store.apply(s)
  }
  const only = (type: string) => {
    feed()
    const items = store.list({ type, limit: 10, offset: 0 }).items
    expect(items).toHaveLength(1)
    return items[0]!
  }
  return { db, clock, store, gating, r, fp, l, feed, only, published }
}

describe('a suppressed alert whose gate ends while its condition still holds', () => {
  it('is notified when the lift goes back to normal service with the passenger still trapped', () => {
    const { r, l, store, only, published } = gated()
    r.send(l, { ...IDLE_LIFT, service_mode: 'inspection' })
    r.send(l, { passenger: true })
    r.advance(60 * S)
    expect(only('elevator.trapped')).toMatchObject({
      suppressed: true,
      suppressed_reason: 'service_mode:inspection',
    })
    expect(published.filter((p) => p.startsWith('elevator.trapped'))).toEqual([])
    r.send(l, { service_mode: 'normal' })
    const alert = only('elevator.trapped')
    expect(alert).toMatchObject({
      suppressed: false,
      suppressed_reason: null,
      status: 'active',
      occurrences: 1,
    })
    expect(store.audit(alert.id).map((e) => [e.action, e.note])).toEqual([
      ['suppressed', 'suppressed: service_mode:inspection'],
      ['raised', 'no longer suppressed: service_mode:inspection ended'],
    ])
    expect(published.filter((p) => p.startsWith('elevator.trapped'))).toEqual(['elevator.trapped:raised'])
  })

  it('is notified when its silence runs out, without another message from the device', () => {
    const { r, fp, gating, clock, only, published } = gated()
    gating.addSilence({
      device_id: 'fp1',
      site_id: null,
      types: null,
      reason: '搬家',
      created_by: 'wang',
      ends_at: clock.now() + 30 * MIN,
    })
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    expect(only('fire_passage.blocked').suppressed).toBe(true)
    r.advance(20 * MIN - 1)
    expect(only('fire_passage.blocked').suppressed).toBe(true)
    r.advance(1)
    const alert = only('fire_passage.blocked')
    expect(alert.suppressed).toBe(false)
    expect(alert.message.en).toContain('for 30 min')
    expect(published).toContain('fire_passage.blocked:raised')
  })

  it('is notified at once when its silence is deleted', () => {
    const { r, fp, gating, clock, only } = gated()
    const s = gating.addSilence({
      device_id: null,
      site_id: 'e1',
      types: ['fire_passage.blocked'],
      reason: '演练',
      created_by: 'wang',
      ends_at: clock.now() + 24 * H,
    })
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    expect(only('fire_passage.blocked').suppressed).toBe(true)
    gating.endSilence(s.id)
    expect(only('fire_passage.blocked').suppressed).toBe(false)
  })

  it('is notified when device maintenance mode is switched off or runs out', () => {
    const a = gated()
    a.gating.setMaintenance('fp1', true, 'wang', '维修', null)
    a.r.send(a.fp, { occupied: true })
    a.r.advance(10 * MIN)
    expect(a.only('fire_passage.blocked').suppressed_reason).toBe('maintenance')
    a.gating.setMaintenance('fp1', false, 'wang', null, null)
    expect(a.only('fire_passage.blocked').suppressed).toBe(false)

    const b = gated()
    b.gating.setMaintenance('fp1', true, 'wang', '维修', b.clock.now() + H)
    b.r.send(b.fp, { occupied: true })
    b.r.advance(10 * MIN)
    expect(b.only('fire_passage.blocked').suppressed).toBe(true)
    b.r.advance(50 * MIN)
    expect(b.only('fire_passage.blocked').suppressed).toBe(false)
  })

  it('stays hidden when the condition cleared before the gate ended', () => {
    const { r, fp, gating, clock, only, published } = gated()
    gating.addSilence({
      device_id: 'fp1',
      site_id: null,
      types: null,
      reason: '搬家',
      created_by: 'wang',
      ends_at: clock.now() + 30 * MIN,
    })
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    r.send(fp, { occupied: false })
    r.advance(30 * MIN)
    expect(only('fire_passage.blocked')).toMatchObject({ suppressed: true, status: 'resolved' })
    expect(published.filter((p) => p.startsWith('fire_passage.blocked'))).toEqual([])
  })

  it('is notified after a restart when its silence ran out while the hub was down', () => {
    const { r, fp, gating, clock, db, only } = gated()
    gating.addSilence({
      device_id: 'fp1',
      site_id: null,
      types: null,
      reason: '搬家',
      created_by: 'wang',
      ends_at: clock.now() + 30 * MIN,
    })
    r.send(fp, { occupied: true })
    r.advance(10 * MIN)
    const muted = only('fire_passage.blocked')
    const snapshot = r.engine.takeSnapshot({ all: true })
    r.engine.stop()
    clock.advance(H) // the hub is down; the silence ends meanwhile
    const store = new AlertStore({ db, bus: new Bus(), log: createLogger('silent'), now: () => clock.now() })
    store.start()
    const gating2 = new Gating(db, () => clock.now())
    gating2.start()
    const after = rig({ devices: [fp], gates: gating2, clock, snapshot })
    for (const a of store.openAlerts())
      after.engine.adopt(a.subject, a.type, a.suppressed ? a.suppressed_reason : null)
    after.engine.regateAll()
    for (const s of after.signals.splice(0)) store.apply(s)
    expect(store.get(muted.id)).toMatchObject({ suppressed: false, status: 'active', condition: 'raised' })
  })
})

describe('a mode change between non-normal modes', () => {
  it('updates the one open mode_change alert: new text, the new mode’s severity, one more occurrence', () => {
    const { r, l, only, store } = gated()
    r.send(l, { ...IDLE_LIFT, service_mode: 'fire_return' })
    expect(only('elevator.mode_change').severity).toBe('major')
    r.send(l, { service_mode: 'inspection' })
    const alert = only('elevator.mode_change')
    expect(alert).toMatchObject({ severity: 'info', occurrences: 2, condition: 'raised' })
    expect(alert.message.en).toBe('1号楼2号电梯 entered inspection mode')
    expect(store.audit(alert.id).map((e) => e.action)).toEqual(['raised', 'retriggered'])
  })
})
