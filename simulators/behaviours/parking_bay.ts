import type { Timer } from '../clock.ts'
import { hourOfDay, parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

/**
 * An in-ground geomagnetic parking sensor (domain-catalog §4): state on change plus the hourly
 * heartbeat. Occupancy follows a residential day curve — nearly empty mid-morning, about 72 % from
 * the evening to early morning (a 20-bay zone then sits near 14 cars and reaches the 95 % `zone_full`
 * mark on a rare night, not several times a night as at 88 %) — with a few zombie cars that never
 * leave and the occasional flapping sensor.
 */

const TICK_MS = 60_000
/** Hours → target occupancy, linearly interpolated. */
const DAY_CURVE: [number, number][] = [
  [0, 0.72],
  [6, 0.72],
  [7.5, 0.5],
  [9, 0.25],
  [10, 0.15],
  [15, 0.15],
  [17, 0.3],
  [19, 0.62],
  [21, 0.72],
  [24, 0.72],
]
/** Arrivals + departures per hour per bay: how quickly a bay follows the curve. */
const TURNOVER_PER_H = 0.8
const ZOMBIE_SHARE = 0.02

export function dayCurve(hour: number): number {
  for (let i = 1; i < DAY_CURVE.length; i++) {
    const [h1, p1] = DAY_CURVE[i]!
    const [h0, p0] = DAY_CURVE[i - 1]!
    if (hour <= h1) return p0 + ((p1 - p0) * (hour - h0)) / (h1 - h0)
  }
  return DAY_CURVE[DAY_CURVE.length - 1]![1]
}

export function parkingBayBehaviour(ctx: BehaviourContext<'parking_bay'>): Behaviour {
  const { clock, rng } = ctx
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)
  let zombie = rng.chance(ZOMBIE_SHARE)
  let occupied = zombie || rng.chance(dayCurve(hourOfDay(clock.now())))
  /** While forced (scripted occupancy, flapping), the day curve does not move this bay. */
  let forcedUntil = 0
  let battery = rng.float(40, 100)
  let tick: Timer | undefined
  let flapping: Timer | undefined
  let random: Timer | undefined

  const setOccupied = (value: boolean) => {
    occupied = value
    ctx.set({ occupied })
  }
  const everyMinute = () => {
    const before = Math.floor(battery)
    battery = Math.max(0, battery - 0.0001)
    if (Math.floor(battery) !== before) ctx.set({ battery_pct: Math.floor(battery) })
    if (zombie || clock.now() < forcedUntil) return
    const p = dayCurve(hourOfDay(clock.now()))
    const dtH = TICK_MS / 3_600_000
    const rate = occupied ? TURNOVER_PER_H * (1 - p) : TURNOVER_PER_H * p
    if (rng.chance(1 - Math.exp(-rate * dtH))) setOccupied(!occupied)
  }

  const actions: Record<string, (args: ActionArgs) => void> = {
    /** A car parks now and stays `for` (default 2 h). */
    occupy: (args) => {
      forcedUntil = clock.now() + d('for', '2h', args)
      setOccupied(true)
    },
    /** The bay empties now and stays empty `for` (default 30 min). */
    vacate: (args) => {
      zombie = false
      forcedUntil = clock.now() + d('for', '30m', args)
      setOccupied(false)
    },
    /** 僵尸车: a car that parks and does not leave (default 80 h, past the 72 h overstay mark). */
    zombie: (args) => {
      forcedUntil = clock.now() + d('for', '80h', args)
      setOccupied(true)
    },
    /** A flapping sensor: toggles every `every` (default 20 s, jittered) for `for` (default 12 min). */
    flap: (args) => {
      const until = clock.now() + d('for', '12m', args)
      const every = d('every', '20s', args)
      forcedUntil = until
      flapping?.cancel()
      const toggle = () => {
        setOccupied(!occupied)
        if (clock.now() + every < until) flapping = clock.after(every * rng.float(0.7, 1.3), toggle)
      }
      toggle()
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
      if (clock.now() >= forcedUntil) actions.flap!({ for: `${rng.int(11, 30)}m` })
      scheduleRandom()
    })
  }

  return {
    info: { model: 'ZA-PK-GM3', vendor: 'zhian-sim', fw: '5.0.3' },
    start() {
      ctx.set({ occupied, battery_pct: Math.floor(battery) })
      tick = clock.every(TICK_MS, everyMinute, rng.float(0, TICK_MS))
      scheduleRandom()
    },
    stop() {
      for (const t of [tick, flapping, random]) t?.cancel()
    },
    actions,
  }
}
