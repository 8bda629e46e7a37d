import type { Timer } from '../clock.ts'
import { hourOfDay, parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

/**
 * A smart manhole-cover monitor (GB/T 41401-2022; domain-catalog §3): tilt with a little jitter around
 * its installed angle, vehicles rolling over (a spike of 12–35° for about a second: the "vehicle
 * passing" case that must not alert, §3.2 edge debounce), the cover lifted, water rising with rain
 * and draining after, battery drain. Tilt and level go out on change beyond a dead band (1°, 2 cm),
 * like the real devices, plus the periodic status report.
 */

const TICK_MS = 60_000
const TILT_DEADBAND = 1
const LEVEL_DEADBAND = 2

export function manholeBehaviour(ctx: BehaviourContext<'manhole'>): Behaviour {
  const { clock, rng } = ctx
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)
  const limit = ctx.params.water_limit_cm ?? 80
  const baseline = rng.float(0.5, 3)
  const baseLevel = rng.float(2, Math.min(12, limit / 4))
  let tilt = baseline
  let reportedTilt = baseline
  /** A steady tilt imposed by a fault (cover lifted, loose); null when the cover sits normally. */
  let held: number | null = null
  let level = baseLevel
  let reportedLevel = baseLevel
  let riseCmPerMin = 0
  let rainTimer: Timer | undefined
  let battery = rng.float(45, 100)
  let tick: Timer | undefined
  let traffic: Timer | undefined
  let fault: Timer | undefined
  let random: Timer | undefined

  const reportTilt = (value: number, force = false) => {
    if (force || Math.abs(value - reportedTilt) >= TILT_DEADBAND) {
      reportedTilt = value
      ctx.set({ tilt_deg: value })
    }
  }

  const everyMinute = () => {
    if (held === null) {
      tilt = baseline + rng.normal(0, 0.2)
      reportTilt(Math.max(0, tilt))
    }
    // Water: rises at the rain rate, drains back towards the dry-weather level.
    if (riseCmPerMin > 0) level += riseCmPerMin * rng.float(0.8, 1.2)
    else if (level > baseLevel) level = Math.max(baseLevel, level - Math.max(1.5, (level - baseLevel) * 0.08))
    if (Math.abs(level - reportedLevel) >= LEVEL_DEADBAND || level > limit !== reportedLevel > limit) {
      reportedLevel = level
      ctx.set({ water_level_cm: level })
    }
    const before = Math.floor(battery)
    battery = Math.max(0, battery - 0.0002)
    if (Math.floor(battery) !== before) ctx.set({ battery_pct: Math.floor(battery) })
  }

  const nextVehicle = () => {
    const h = hourOfDay(clock.now())
    const mean = h >= 6 && h < 22 ? 45 * 60_000 : 180 * 60_000
    traffic = clock.after(rng.exp(mean), () => {
      if (held === null) rollOver()
      nextVehicle()
    })
  }
  /** A wheel over the cover: a short spike, back within two seconds. */
  const rollOver = (peak = rng.float(12, 35), ms = rng.float(400, 1500)) => {
    reportTilt(peak, true)
    clock.after(ms, () => {
      if (held === null) reportTilt(baseline, true)
    })
  }
  const hold = (angle: number, ms: number, coverOpen: boolean) => {
    fault?.cancel()
    held = angle
    ctx.set({ cover_open: coverOpen })
    reportTilt(angle, true)
    fault = clock.after(ms, () => {
      held = null
      ctx.set({ cover_open: false })
      reportTilt(baseline, true)
    })
  }

  const actions: Record<string, (args: ActionArgs) => void> = {
    /** 井盖开启: cover lifted off (tilt `tilt`, default 95° — over 90° alarms at once), put back after `for`. */
    lift_cover: (args) => hold(Number(args.tilt ?? 95), d('for', '10m', args), true),
    /** 井盖松动/移位: a steady tilt of `tilt` (default 7°) without the cover switch. */
    loosen: (args) => hold(Number(args.tilt ?? 7), d('for', '15m', args), false),
    /** Displaced: tilted `tilt` (default 25°) for `for` (default 2 min), the cover switch still closed. */
    displace: (args) => hold(Number(args.tilt ?? 25), d('for', '2m', args), false),
    /** Vehicles rolling over: `count` spikes (default 1), `every` apart (default 20 s). */
    roll_over: (args) => {
      const count = Number(args.count ?? 1)
      const every = d('every', '20s', args)
      for (let i = 0; i < count; i++) clock.after(i * every, () => held === null && rollOver())
    },
    /** Rain: the level rises `rise_cm_per_min` (default 5) for `for` (default 30 min), then drains. */
    rain: (args) => {
      riseCmPerMin = Number(args.rise_cm_per_min ?? 5)
      rainTimer?.cancel()
      rainTimer = clock.after(d('for', '30m', args), () => {
        riseCmPerMin = 0
      })
    },
    /** Battery at `pct` (default 8 %). */
    battery_low: (args) => {
      battery = Number(args.pct ?? 8)
      ctx.set({ battery_pct: Math.floor(battery) })
    },
  }

  const scheduleRandom = () => {
    if (ctx.faultRate <= 0) return
    random = clock.after(rng.exp(3_600_000 / ctx.faultRate), () => {
      if (held === null) {
        const r = rng.next()
        if (r < 0.4) actions.lift_cover!({ for: `${rng.int(5, 30)}m` })
        else if (r < 0.7) actions.loosen!({ for: '20m' })
        else actions.rain!({ for: `${rng.int(20, 60)}m`, rise_cm_per_min: rng.int(2, 6) })
      }
      scheduleRandom()
    })
  }

  return {
    info: { model: 'ZA-MH-TW05', vendor: 'zhian-sim', fw: '1.2.7' },
    start() {
      ctx.set({
        tilt_deg: baseline,
        cover_open: false,
        water_level_cm: baseLevel,
        battery_pct: Math.floor(battery),
      })
      tick = clock.every(TICK_MS, everyMinute, rng.float(0, TICK_MS))
      nextVehicle()
      scheduleRandom()
    },
    stop() {
      for (const t of [tick, traffic, fault, random, rainTimer]) t?.cancel()
    },
    actions,
  }
}
