import fs from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { AlertStore } from '../../../src/alerts/store.ts'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { Bus, type Device } from '../../../src/core/bus.ts'
import { FakeClock, RealClock } from '../../../src/core/clock.ts'
import { Metrics } from '../../../src/core/metrics.ts'
import { Dispatcher } from '../../../src/dispatch/dispatcher.ts'
import { RuleEngine } from '../../../src/rules/engine.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { DEMO_ESTATE, tempDir } from '../../helpers/hub.ts'
import { flush, MIN, MONDAY_10H } from './rig.ts'

/**
 * The demo estate's own teams, roster and routing with the real rule engine, alert store and
 * dispatcher on one fake clock: a resident's SOS press and a smoke alarm reach a person on duty and
 * escalate when nobody accepts, as a property manager trying the demo would see in the crew app.
 */

const open: { db: Db; dispatcher: Dispatcher; engine: RuleEngine }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.engine.stop()
    await o.dispatcher.stop()
    o.db.close()
  }
})

function demo() {
  const estate = parseEstate(fs.readFileSync(DEMO_ESTATE, 'utf8'))
  const db = openDb(tempDir('zhian-demo-routing-'))
  const bus = new Bus()
  const clock = new FakeClock(MONDAY_10H)
  const log = createLogger('silent')
  const alerts = new AlertStore({ db, bus, log, now: () => clock.now() })
  alerts.start()
  const dispatcher = new Dispatcher({
    db,
    bus,
    alerts,
    log,
    metrics: new Metrics(),
    clock,
    outboxClock: new RealClock(),
    linkBase: () => 'http://hub.test',
  })
  dispatcher.start({ teams: estate.teams, roster: estate.roster, routing: estate.routing })
  const engine = new RuleEngine({ clock, kinds: KINDS, overrides: {}, sink: (s) => alerts.apply(s) })
  const site = { street: 'zhalongkou', community: 'xinfeng', estate: 'qianxin_fuyuan', building: 'qxfy_b1' }
  const dev = (id: string, kind: string, name: string): Device => ({
    id,
    kind: kind as Device['kind'],
    estate: site.estate,
    building: site.building,
    name,
    location: undefined,
    params: {},
    site,
  })
  open.push({ db, dispatcher, engine })
  return { clock, alerts, dispatcher, engine, dev }
}

describe('the demo estate’s dispatch of the new life-safety alerts', () => {
  it('an SOS press goes to the duty guard at once, then to the estate manager and the community grid', async () => {
    const d = demo()
    const sos = d.dev('sos_b1_301', 'sos_button', '1号楼301 一键报警')
    d.engine.start([sos])
    d.engine.event(sos, 'pressed', { press: 'long' })
    await flush()
    const alert = d.alerts.openFor('sos_b1_301', 'sos_button.sos')!
    const [wo] = d.dispatcher.store.query({ alert: alert.id })
    expect(wo).toMatchObject({
      status: 'dispatched',
      team: 'qxfy_duty',
      assignee: 'qxfy_duty/zhou',
      sla: { accept: 2 * MIN, arrive: 10 * MIN },
    })
    // Nobody accepts: after 2 min the estate manager (the team's lead), after 4 min the community grid.
    d.clock.advance(2 * MIN)
    await flush()
    expect(d.dispatcher.get(wo!.id)!.participants).toEqual(['qxfy_duty/zhou', 'qxfy_duty/manager_sun'])
    d.clock.advance(4 * MIN)
    await flush()
    const now = d.dispatcher.get(wo!.id)!
    expect(now.participants).toContain('xinfeng_grid/grid_wu')
    expect(now.breaches.map((b) => b.stage)).toEqual(['accept'])
  })

  it('a smoke alarm goes to the micro fire station, and to the property duty when not accepted within 1 min', async () => {
    const d = demo()
    const sd = d.dev('sd_b1_s3', 'smoke_detector', '1号楼3层楼梯间烟感')
    d.engine.start([sd])
    d.engine.reading(sd, { alarm: true })
    await flush()
    const alert = d.alerts.openFor('sd_b1_s3', 'smoke_detector.fire_alarm')!
    const [wo] = d.dispatcher.store.query({ alert: alert.id })
    expect(wo).toMatchObject({ team: 'xinfeng_fire', assignee: 'xinfeng_fire/fire_desk' })
    d.clock.advance(1 * MIN)
    await flush()
    expect(d.dispatcher.get(wo!.id)!.participants).toContain('qxfy_duty/manager_sun')
  })

  it('a gas alarm in the canteen goes the same way as a fire alarm; a residual-current alarm to the estate’s electrician', async () => {
    const d = demo()
    const gas = d.dev('gas_canteen', 'gas_detector', '食堂后厨燃气探测器')
    const ef = d.dev('ef_ebike_shed', 'electrical_fire', '电动车充电棚电气火灾监控')
    d.engine.start([gas, ef])
    d.engine.reading(gas, { alarm_level: 'low' })
    d.engine.reading(ef, { residual_ma: 450 })
    d.clock.advance(10_000)
    await flush()
    const orderOf = (device: string, type: string) =>
      d.dispatcher.store.query({ alert: d.alerts.openFor(device, type)!.id })[0]
    expect(orderOf('gas_canteen', 'gas_detector.gas_alarm')).toMatchObject({
      team: 'xinfeng_fire',
      sla: { accept: MIN, arrive: 3 * MIN },
    })
    expect(orderOf('ef_ebike_shed', 'electrical_fire.residual_current')).toMatchObject({
      team: 'qxfy_engineering',
      assignee: 'qxfy_engineering/chen',
    })
  })
})
