import { beforeAll, describe, expect, it } from 'vitest'
import type { Cockpit } from '../../../src/cockpit/cockpit.ts'
import { buildHub, connectDevice, DEMO_ESTATE, type TestHub, until } from '../../helpers/hub.ts'
import { as, login } from '../../helpers/session.ts'

/** The street cockpit's answer on the demo street: four estates, ranked by what needs attention. */

let t: TestHub
const tokenOf = async (username: string) =>
  ((await (await login(t.httpUrl, username, 'zhian-demo')).json()) as { token: string }).token

beforeAll(async () => {
  t = await buildHub({ estateFile: DEMO_ESTATE })
})

describe('street cockpit', () => {
  it('ranks the street’s estates by open critical alerts: a lift alarm puts 红普新村 first', async () => {
    const officer = as(t.httpUrl, await tokenOf('jiedao'))
    const before = (await (await officer('/api/cockpit')).json()) as Cockpit
    expect(before.scope.name).toBe('闸弄口街道')
    expect(before.estates.map((e) => e.name).sort()).toEqual(
      ['前新福苑', '天城家园', '新风雅苑', '红普新村'].sort(),
    )
    expect(before.period.days).toHaveLength(7)

    const lift = await connectDevice(t.mqttUrl, 'hpxc_el_5_2')
    await lift.publishAsync('zhian/elevator/hpxc_el_5_2/event', JSON.stringify({ type: 'alarm_button' }), {
      qos: 1,
    })
    const after = await until(async () => {
      const c = (await (await officer('/api/cockpit')).json()) as Cockpit
      return c.estates.find((e) => e.id === 'hongpu_xincun')!.open.critical === 1 ? c : undefined
    }, 'the alarm in the cockpit')
    expect(after.by_critical[0]).toBe('hongpu_xincun')
    const hp = after.estates.find((e) => e.id === 'hongpu_xincun')!
    expect(hp.community).toBe('红普社区')
    expect(hp.devices).toBe(6)
    // Today's column of the trend counts it, for that estate.
    expect(after.trend.find((l) => l.estate === 'hongpu_xincun')!.counts.at(-1)).toBeGreaterThanOrEqual(1)
  })

  it('is the scope’s own: a manager sees his estate only, a crew none, another street’s site is unknown', async () => {
    const manager = as(t.httpUrl, await tokenOf('wuye'))
    const mine = (await (await manager('/api/cockpit')).json()) as Cockpit
    expect(mine.estates.map((e) => e.id)).toEqual(['qianxin_fuyuan'])
    const outside = await manager('/api/cockpit?scope=zhalongkou')
    expect(outside.status).toBe(400)
    expect(((await outside.json()) as { code: string }).code).toBe('ZHIAN_ERR_UNKNOWN_SITE')
    const crew = as(t.httpUrl, await tokenOf('fitter_wang'))
    expect((await crew('/api/cockpit')).status).toBe(403)
  })
})
