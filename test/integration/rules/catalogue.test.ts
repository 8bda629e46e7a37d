import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildHub, connectDevice, FIXTURES, type TestHub } from '../../helpers/hub.ts'
import { getAlert, listAlerts, post, send, waitAlert } from './rig.ts'

/**
 * Every alert of the catalogue through real MQTT against one running hub, one device per alert
 * (fixture rules-all-estate.yaml, millisecond overrides): raised, not duplicated by a repeat of the
 * last message (a re-trigger where the rule says so), then cleared — resolved by itself when
 * auto-clear, waiting for a person when latched. `fire_passage.blocked_during_fire` takes its fire
 * from a smoke alarm in its estate (e_fire): a lift's fire-return mode is no evidence of fire.
 */

type Step =
  /** A message from another device (cross-device rules). */
  | { as: string; kind: string; state: Record<string, unknown> }
  | { state: Record<string, unknown> }
  | { event: { type: string; data?: Record<string, unknown> } }
  | { info: Record<string, unknown> }
  | { wait: number }

interface Scenario {
  alert: string
  device: string
  raise: Step[]
  /** null: nothing the device can send clears it (a person resolves it). */
  clear: Step[] | null
  latched: boolean
  /** What repeats the raise (default: its last message again); an offline device just stays silent longer. */
  again?: Step[]
  /** Occurrences after the repeat (default 1: a repeat is not news; 2 where a repeat re-triggers). */
  occurrences?: number
}

const IDLE = {
  floor: 7,
  moving: false,
  in_door_zone: true,
  door: 'closed',
  passenger: false,
  direction: 'none',
  service_mode: 'normal',
  speed: 0,
  fault_code: 0,
  power_source: 'mains',
}
const st = (state: Record<string, unknown>): Step => ({ state })
const ev = (type: string, data?: Record<string, unknown>): Step => ({
  event: { type, ...(data ? { data } : {}) },
})

const SCENARIOS: Scenario[] = [
  {
    alert: 'elevator.trapped',
    device: 'lift_t',
    raise: [st(IDLE), st({ passenger: true })],
    clear: [st({ door: 'open' })],
    latched: true,
  },
  {
    alert: 'elevator.moving_door_open',
    device: 'lift_m',
    raise: [st(IDLE), st({ moving: true, door: 'open', in_door_zone: false })],
    clear: [st({ moving: false, door: 'closed', in_door_zone: true })],
    latched: true,
  },
  {
    alert: 'elevator.overtravel_top',
    device: 'lift_ot',
    raise: [st(IDLE), st({ floor: 18, direction: 'up', moving: true, in_door_zone: false })],
    clear: [st({ in_door_zone: true, direction: 'none', moving: false })],
    latched: true,
  },
  {
    alert: 'elevator.overtravel_bottom',
    device: 'lift_ob',
    raise: [st({ fault_code: 91 })],
    clear: [st({ fault_code: 0 })],
    latched: true,
  },
  {
    alert: 'elevator.overspeed',
    device: 'lift_os',
    raise: [st({ moving: true, speed: 2.5 })],
    clear: [st({ speed: 1 })],
    latched: true,
  },
  {
    alert: 'elevator.stopped_outside_zone',
    device: 'lift_sz',
    raise: [st(IDLE), st({ in_door_zone: false })],
    clear: [st({ in_door_zone: true })],
    latched: false,
  },
  {
    alert: 'elevator.safety_circuit_open',
    device: 'lift_sc',
    raise: [st({ fault_code: 1 })],
    clear: [st({ fault_code: 0 })],
    latched: true,
  },
  {
    alert: 'elevator.door_fault',
    device: 'lift_df',
    raise: [ev('fault', { code: 2, active: true })],
    clear: [ev('fault', { code: 2, active: false })],
    latched: false,
  },
  {
    alert: 'elevator.door_cycling',
    device: 'lift_dc',
    raise: [st(IDLE), ...[1, 2, 3].flatMap(() => [st({ door: 'open' }), st({ door: 'closed' })])],
    clear: [st({ moving: true })],
    latched: false,
  },
  {
    alert: 'elevator.restart_blocked',
    device: 'lift_rb',
    raise: [st({ fault_code: 7 })],
    clear: [st({ fault_code: 0 })],
    latched: true,
  },
  {
    alert: 'elevator.power_loss',
    device: 'lift_pl',
    raise: [st({ power_source: 'battery' })],
    clear: [st({ power_source: 'mains' })],
    latched: false,
  },
  {
    alert: 'elevator.alarm_button',
    device: 'lift_ab',
    raise: [ev('alarm_button')],
    clear: null,
    latched: true,
    // Every press is news: a re-trigger of the same alert.
    occurrences: 2,
  },
  {
    alert: 'elevator.mode_change',
    device: 'lift_mc',
    raise: [ev('fault', { code: 43, active: true })],
    clear: [ev('fault', { code: 40, active: true })],
    latched: false,
  },
  {
    alert: 'elevator.frequent_faults',
    device: 'lift_ff',
    raise: [1, 2, 3].flatMap(() => [st({ fault_code: 1 }), st({ fault_code: 0 })]),
    clear: null,
    latched: true,
  },
  {
    alert: 'elevator.offline',
    device: 'lift_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 4500 }],
    clear: [st({ floor: 1 })],
    latched: false,
  },
  {
    alert: 'fire_passage.occupied',
    device: 'fp_o',
    raise: [st({ occupied: true })],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'fire_passage.blocked',
    device: 'fp_b',
    raise: [st({ occupied: true })],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'fire_passage.persistent_blockage',
    device: 'fp_pb',
    raise: [st({ occupied: true })],
    clear: [st({ occupied: false })],
    latched: true,
  },
  {
    alert: 'fire_passage.low_battery',
    device: 'fp_lb',
    raise: [st({ battery_pct: 10 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'fire_passage.offline',
    device: 'fp_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'manhole.cover_open',
    device: 'mh_co',
    raise: [st({ tilt_deg: 30 })],
    clear: [st({ tilt_deg: 0 })],
    latched: true,
  },
  {
    alert: 'manhole.cover_loose',
    device: 'mh_cl',
    raise: [st({ tilt_deg: 7 })],
    clear: [st({ tilt_deg: 0 })],
    latched: false,
  },
  {
    alert: 'manhole.water_high',
    device: 'mh_wh',
    raise: [st({ water_level_cm: 90 })],
    clear: [st({ water_level_cm: 10 })],
    latched: false,
  },
  {
    alert: 'manhole.water_rising',
    device: 'mh_wr',
    raise: [st({ water_level_cm: 10 }), st({ water_level_cm: 40 })],
    clear: [{ wait: 100 }],
    latched: false,
  },
  {
    alert: 'manhole.low_battery',
    device: 'mh_lb',
    raise: [st({ battery_pct: 10 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'manhole.offline',
    device: 'mh_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ tilt_deg: 0 })],
    latched: false,
  },
  {
    alert: 'parking_bay.overstay',
    device: 'pb_os',
    raise: [st({ occupied: true })],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'parking_bay.zone_full',
    device: 'pb_zf',
    raise: [st({ occupied: true })],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'parking_bay.sensor_flapping',
    device: 'pb_sf',
    raise: [false, true, false, true, false].map((occupied) => st({ occupied })),
    clear: [{ wait: 100 }],
    latched: false,
  },
  {
    alert: 'parking_bay.low_battery',
    device: 'pb_lb',
    raise: [st({ battery_pct: 5 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'parking_bay.offline',
    device: 'pb_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ occupied: false })],
    latched: false,
  },
  {
    alert: 'smoke_detector.fire_alarm',
    device: 'sd_fa',
    raise: [st({ alarm: true })],
    clear: [st({ alarm: false })],
    latched: true,
  },
  {
    alert: 'smoke_detector.removed',
    device: 'sd_rm',
    raise: [st({ removed: true })],
    clear: [st({ removed: false })],
    latched: false,
  },
  {
    alert: 'smoke_detector.fault',
    device: 'sd_ft',
    raise: [st({ fault: true })],
    clear: [st({ fault: false })],
    latched: false,
  },
  {
    alert: 'smoke_detector.low_battery',
    device: 'sd_lb',
    raise: [st({ battery_pct: 10 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'smoke_detector.offline',
    device: 'sd_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ alarm: false })],
    latched: false,
  },
  {
    alert: 'sos_button.sos',
    device: 'sos_p',
    raise: [ev('pressed', { press: 'long' })],
    clear: null,
    latched: true,
    // Every press is news: a re-trigger of the same alert.
    occurrences: 2,
  },
  {
    alert: 'sos_button.cancelled',
    device: 'sos_c',
    raise: [ev('pressed', { press: 'cancel' })],
    clear: [{ wait: 600 }],
    latched: false,
    occurrences: 2,
  },
  {
    alert: 'sos_button.low_battery',
    device: 'sos_lb',
    raise: [st({ battery_pct: 10 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'sos_button.offline',
    device: 'sos_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ battery_pct: 90 })],
    latched: false,
  },
  {
    alert: 'gas_detector.gas_alarm',
    device: 'gas_a',
    raise: [st({ alarm_level: 'low', gas_lel_pct: 25 })],
    clear: [st({ alarm_level: 'none', gas_lel_pct: 0 })],
    latched: true,
  },
  {
    alert: 'gas_detector.linkage_failed',
    device: 'gas_l',
    raise: [st({ alarm_level: 'high', valve: 'open' })],
    clear: [st({ valve: 'closed' })],
    latched: false,
  },
  {
    alert: 'gas_detector.fault',
    device: 'gas_ft',
    raise: [st({ fault: true })],
    clear: [st({ fault: false })],
    latched: false,
  },
  {
    alert: 'gas_detector.offline',
    device: 'gas_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ gas_lel_pct: 0 })],
    latched: false,
  },
  {
    alert: 'electrical_fire.residual_current',
    device: 'ef_rc',
    raise: [st({ residual_ma: 400 })],
    clear: [st({ residual_ma: 50 })],
    latched: false,
  },
  {
    alert: 'electrical_fire.overtemp',
    device: 'ef_ot',
    raise: [st({ temp1_c: 90 })],
    clear: [st({ temp1_c: 30 })],
    latched: false,
  },
  {
    alert: 'electrical_fire.tripped',
    device: 'ef_tr',
    raise: [st({ tripped: true })],
    clear: [st({ tripped: false })],
    latched: false,
  },
  {
    alert: 'electrical_fire.fault',
    device: 'ef_ft',
    raise: [st({ fault: true })],
    clear: [st({ fault: false })],
    latched: false,
  },
  {
    alert: 'electrical_fire.offline',
    device: 'ef_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ residual_ma: 50 })],
    latched: false,
  },
  {
    alert: 'fire_hydrant.pressure_low',
    device: 'fh_pl',
    raise: [st({ pressure_mpa: 0.03 })],
    clear: [st({ pressure_mpa: 0.3 })],
    latched: false,
  },
  {
    alert: 'fire_hydrant.opened',
    device: 'fh_op',
    raise: [st({ valve_open: true })],
    clear: [st({ valve_open: false })],
    latched: false,
  },
  {
    alert: 'fire_hydrant.knocked',
    device: 'fh_kn',
    raise: [st({ knocked: true })],
    clear: [st({ knocked: false })],
    latched: true,
  },
  {
    alert: 'fire_hydrant.low_battery',
    device: 'fh_lb',
    raise: [st({ battery_pct: 10 })],
    clear: [st({ battery_pct: 60 })],
    latched: true,
  },
  {
    alert: 'fire_hydrant.offline',
    device: 'fh_off',
    raise: [{ info: { interval_s: 1 } }],
    again: [{ wait: 2500 }],
    clear: [st({ pressure_mpa: 0.3 })],
    latched: false,
  },
  {
    alert: 'fire_passage.blocked_during_fire',
    device: 'fp_bf',
    raise: [st({ occupied: true }), { as: 'sd_fire', kind: 'smoke_detector', state: { alarm: true } }],
    clear: [{ as: 'sd_fire', kind: 'smoke_detector', state: { alarm: false } }],
    latched: false,
  },
]

let h: TestHub
beforeAll(async () => {
  h = await buildHub({ estateFile: path.join(FIXTURES, 'rules-all-estate.yaml') })
})

async function run(scenario: Scenario, steps: Step[]): Promise<void> {
  const client = await connectDevice(h.mqttUrl, scenario.device)
  const kind = scenario.alert.split('.')[0]!
  const topic = (suffix: string) => `zhian/${kind}/${scenario.device}/${suffix}`
  for (const step of steps) {
    if ('as' in step) {
      const other = await connectDevice(h.mqttUrl, step.as)
      await send(other, `zhian/${step.kind}/${step.as}/state`, step.state)
      await other.endAsync()
    } else if ('state' in step) await send(client, topic('state'), step.state)
    else if ('event' in step) await send(client, topic('event'), step.event)
    else if ('info' in step) await send(client, topic('info'), step.info)
    else await new Promise((r) => setTimeout(r, step.wait))
  }
  await client.endAsync()
}

const mine = (s: Scenario) => (a: { device_id: string | null; subject: string }) =>
  s.alert === 'parking_bay.zone_full' ? a.subject === 'zone:e1:z_full' : a.device_id === s.device

describe('every alert of the catalogue through real MQTT', () => {
  for (const s of SCENARIOS) {
    it(`${s.alert}: raised, not duplicated, ${s.latched ? 'latched until a person resolves it' : 'auto-resolved once clear'}`, async () => {
      await run(s, s.raise)
      const alert = await waitAlert(h, s.alert, mine(s))
      expect(alert).toMatchObject({
        status: 'active',
        condition: 'raised',
        latched: s.latched,
        suppressed: false,
      })
      expect(alert.message.zh.length).toBeGreaterThan(0)

      // The last message again (or more silence): still the same single alert.
      await run(s, s.again ?? [s.raise.at(-1)!])
      const want = s.occurrences ?? 1
      if (want > 1) await waitAlert(h, s.alert, (a) => a.id === alert.id && a.occurrences === want)
      else await new Promise((r) => setTimeout(r, 300))
      const same = (await listAlerts(h, `type=${s.alert}`)).items.filter(mine(s))
      expect(same.map((a) => [a.id, a.occurrences, a.condition])).toEqual([[alert.id, want, 'raised']])

      if (s.clear) {
        await run(s, s.clear)
        if (s.latched) {
          const cleared = await waitAlert(h, s.alert, (a) => a.id === alert.id && a.condition === 'cleared')
          expect(cleared.status).toBe('active')
        } else {
          await waitAlert(h, s.alert, (a) => a.id === alert.id && a.status === 'resolved')
        }
      }
      if (s.latched) {
        const res = await post(h, `/api/alerts/${alert.id}/resolve`, { note: 'checked on site' })
        expect(res.status).toBe(200)
      }
      const done = await getAlert(h, alert.id)
      expect(done.status).toBe('resolved')
      expect(done.audit[0]!.action).toBe('raised')
      expect(done.audit.at(-1)!.action).toBe('resolved')
    })
  }
})
