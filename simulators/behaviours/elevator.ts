import type { Timer } from '../clock.ts'
import { hourOfDay, parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

/**
 * A passenger lift seen by an IoT terminal (domain-catalog §1.4): trips with acceleration and a
 * deceleration profile, door cycles, passengers boarding and leaving. Faults on demand or at a rate
 * (§1.3, §1.5): trapped at level / between floors, moving with the door open, overspeed, overtravel,
 * stopped outside the door zone, door faults, door cycling, power loss, service-mode changes and
 * GB/T 24476-2017 fault codes (1–8, 40–47, 90).
 *
 * Normal operation never holds a passenger behind closed doors, never stops outside the door zone and
 * never cycles the doors more than twice without running, so it raises no alert on its own.
 */

const FLOOR_HEIGHT_M = 3
const ACCEL_MS2 = 0.8
const TICK_MS = 1000
const DOOR_MOVE_MS = 2500

type Mode =
  | 'normal'
  | 'inspection'
  | 'fire_return'
  | 'firefighter'
  | 'emergency_power'
  | 'earthquake'
  | 'out_of_service'

/** GB/T 24476-2017 event codes announced when the service mode changes (40 = back to normal). */
const MODE_CODES: Record<Mode, number> = {
  normal: 40,
  out_of_service: 42,
  inspection: 43,
  fire_return: 44,
  firefighter: 45,
  emergency_power: 46,
  earthquake: 47,
}

/** Faults picked at random when the fault rate is above zero, with relative weights. */
const RANDOM_FAULTS: [string, number][] = [
  ['trapped', 3],
  ['stopped_outside_zone', 2],
  ['door_fault', 3],
  ['door_cycling', 2],
  ['alarm_button', 2],
  ['power_loss', 1],
  ['mode', 2],
  ['fault', 2],
  ['overspeed', 0.5],
  ['moving_door_open', 0.5],
  ['overtravel_top', 0.3],
  ['overtravel_bottom', 0.3],
]

export function elevatorBehaviour(ctx: BehaviourContext<'elevator'>): Behaviour {
  const { clock, rng } = ctx
  const bottom = ctx.params.bottom_floor ?? 1
  const top = Math.max(bottom + 1, ctx.params.top_floor ?? 18)
  const rated = ctx.params.rated_speed ?? 1.5
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)

  // Landings as the building labels them: basements are negative and there is no floor 0.
  const levels: number[] = []
  for (let l = bottom; l <= top; l++) if (!(bottom < 0 && l === 0)) levels.push(l)
  const indexOf = (label: number) => Math.max(0, levels.indexOf(label))
  const levelAt = (i: number) => levels[Math.max(0, Math.min(levels.length - 1, i))]!
  /** A landing between two labels (inclusive), uniformly. */
  const pickBetween = (lo: number, hi: number) => levelAt(rng.int(indexOf(lo), indexOf(hi)))
  const last = levels[levels.length - 1]!
  let floor = levelAt(rng.int(0, Math.min(levels.length - 1, 3)))
  let mode: Mode = 'normal'
  /** Bumped whenever a fault takes over, so the interrupted trip's timers fall silent. */
  let generation = 0
  let timers: Timer[] = []
  let faultTimer: Timer | undefined
  let faulted = false
  /** Until when a door cycle is under way (a new trip waits for the doors). */
  let doorsBusyUntil = 0

  const later = (ms: number, fn: () => void) => {
    const gen = generation
    timers.push(clock.after(ms, () => gen === generation && fn()))
  }
  const interrupt = () => {
    generation++
    for (const t of timers) t.cancel()
    timers = []
  }
  const atRest = () => ctx.set({ floor, moving: false, direction: 'none', speed: 0, in_door_zone: true })

  // ── normal operation ─────────────────────────────────────────────────────────────────────
  const idleMean = () => {
    const h = hourOfDay(clock.now())
    if ((h >= 7 && h < 9) || (h >= 17 && h < 20)) return 40_000
    if (h >= 23 || h < 6) return 600_000
    return 150_000
  }
  const idle = () => {
    if (mode !== 'normal' || faulted) return
    later(rng.exp(idleMean()), call)
  }
  const call = () => {
    if (clock.now() < doorsBusyUntil) {
      later(doorsBusyUntil - clock.now() + 1000, call)
      return
    }
    // Mornings people go down to the lobby; evenings they come home from it.
    const h = hourOfDay(clock.now())
    const lobby = levels.includes(1) ? 1 : levels[0]!
    const above = levelAt(indexOf(lobby) + 1)
    const from =
      h < 12 && rng.chance(0.7) ? pickBetween(above, last) : rng.chance(0.6) ? lobby : pickOther(-999)
    const to = from === lobby ? pickBetween(above, last) : rng.chance(0.8) ? lobby : pickOther(from)
    travel(from, false, () => board(to))
  }
  const pickOther = (f: number) => {
    let t = pickBetween(levels[0]!, last)
    while (t === f) t = pickBetween(levels[0]!, last)
    return t
  }
  const board = (to: number) => {
    doorCycle(
      () => ctx.set({ passenger: true }),
      () => travel(to === floor ? pickOther(floor) : to, true, alight),
    )
  }
  const alight = () => {
    doorCycle(() => ctx.set({ passenger: false }), idle)
  }
  /** opening → open (something happens) → closing → closed → next. */
  const doorCycle = (whileOpen: () => void, next: () => void, openMs = rng.float(4000, 9000)) => {
    doorsBusyUntil = clock.now() + 2 * DOOR_MOVE_MS + openMs + 1000
    ctx.set({ door: 'opening' })
    later(DOOR_MOVE_MS, () => {
      ctx.set({ door: 'open' })
      later(openMs / 2, () => {
        whileOpen()
        later(openMs / 2, () => {
          ctx.set({ door: 'closing' })
          later(DOOR_MOVE_MS, () => {
            ctx.set({ door: 'closed' })
            later(1000, next)
          })
        })
      })
    })
  }
  /** A trip: accelerate to rated speed, cruise, decelerate so the car stops level at `to`. */
  const travel = (to: number, passenger: boolean, then: () => void) => {
    if (to === floor) {
      then()
      return
    }
    const dir = to > floor ? 1 : -1
    let pos = indexOf(floor) * FLOOR_HEIGHT_M
    const target = indexOf(to) * FLOOR_HEIGHT_M
    let v = 0
    ctx.set({
      passenger,
      direction: dir > 0 ? 'up' : 'down',
      moving: true,
      in_door_zone: false,
      door: 'closed',
    })
    const step = () => {
      const remaining = Math.abs(target - pos)
      v = Math.min(v + ACCEL_MS2, rated, Math.sqrt(2 * ACCEL_MS2 * remaining))
      const move = Math.min(remaining, Math.max(v, 0.1))
      pos += dir * move
      floor = levelAt(Math.round(pos / FLOOR_HEIGHT_M))
      if (Math.abs(target - pos) < 0.01) {
        floor = to
        atRest()
        later(500, then)
        return
      }
      ctx.set({ floor, speed: v })
      later(TICK_MS, step)
    }
    later(TICK_MS, step)
  }

  // ── faults ───────────────────────────────────────────────────────────────────────────────
  /** Take over from normal operation for `ms`, then run `recover` and go back to normal. */
  const fault = (ms: number, begin: () => void, recover: () => void) => {
    interrupt()
    faultTimer?.cancel()
    faulted = true
    begin()
    faultTimer = clock.after(ms, () => {
      interrupt()
      faulted = false
      recover()
      if (mode === 'normal') later(5000, idle)
    })
  }
  const releaseAtLevel = () => {
    atRest()
    doorCycle(
      () => ctx.set({ passenger: false }),
      () => {},
    )
  }
  const codeEvent = (code: number, active: boolean) => ctx.event('fault', { code, active })

  const actions: Record<string, (args: ActionArgs) => void> = {
    /** 困人: a passenger inside, car stopped, doors closed (at level, or between floors with `between_floors`). */
    trapped: (args) =>
      fault(
        d('for', '5m', args),
        () =>
          ctx.set({
            passenger: true,
            moving: false,
            direction: 'none',
            speed: 0,
            door: 'closed',
            in_door_zone: !args.between_floors,
          }),
        releaseAtLevel,
      ),
    /** 开门走车 / UCM: the car moves outside the door zone with the door open. */
    moving_door_open: (args) =>
      fault(
        d('for', '8s', args),
        () =>
          ctx.set({
            moving: true,
            direction: 'up',
            speed: 0.4,
            door: 'open',
            in_door_zone: false,
            passenger: true,
          }),
        () => {
          floor = levelAt(indexOf(floor) + 1)
          releaseAtLevel()
        },
      ),
    /** 超速: above 1.4× rated speed (`factor`), while running down. */
    overspeed: (args) =>
      fault(
        d('for', '3s', args),
        () =>
          ctx.set({
            moving: true,
            direction: 'down',
            in_door_zone: false,
            door: 'closed',
            speed: rated * Number(args.factor ?? 1.45),
          }),
        () => {
          floor = levelAt(indexOf(floor) - 1)
          atRest()
        },
      ),
    /** 冲顶: at the top floor, still moving up, not level. */
    overtravel_top: (args) =>
      fault(
        d('for', '25s', args),
        () => {
          floor = last
          ctx.set({ floor, moving: true, direction: 'up', speed: 0.3, in_door_zone: false, door: 'closed' })
        },
        atRest,
      ),
    /** 蹲底: at the bottom floor, still moving down, not level. */
    overtravel_bottom: (args) =>
      fault(
        d('for', '25s', args),
        () => {
          floor = levels[0]!
          ctx.set({ floor, moving: true, direction: 'down', speed: 0.3, in_door_zone: false, door: 'closed' })
        },
        atRest,
      ),
    /** 门区外停梯: empty car stopped outside the door zone. */
    stopped_outside_zone: (args) =>
      fault(
        d('for', '2m', args),
        () =>
          ctx.set({
            passenger: false,
            moving: false,
            direction: 'none',
            speed: 0,
            door: 'closed',
            in_door_zone: false,
          }),
        atRest,
      ),
    /** 关门故障: the door stays open (or `stuck: closing`) while the empty car waits at a landing. */
    door_fault: (args) =>
      fault(
        d('for', '3m', args),
        () => {
          atRest()
          ctx.set({ passenger: false, door: args.stuck === 'closing' ? 'closing' : 'open' })
        },
        () => ctx.set({ door: 'closed' }),
      ),
    /** 反复开关门: the doors open and close `cycles` times (default 7) without the car running. */
    door_cycling: (args) => {
      const cycles = Number(args.cycles ?? 7)
      fault(
        cycles * 12_000,
        () => {
          atRest()
          ctx.set({ passenger: false })
          let n = 0
          const again = () => {
            if (++n <= cycles) doorCycle(() => {}, again, 3000)
          }
          again()
        },
        () => ctx.set({ door: 'closed' }),
      )
    },
    /** 停电 (code 41): backup battery, the car levels at the nearest landing and lets people out. */
    power_loss: (args) =>
      fault(
        d('for', '2m', args),
        () => {
          codeEvent(41, true)
          ctx.set({ power_source: 'battery' })
          releaseAtLevel()
        },
        () => {
          ctx.set({ power_source: 'mains' })
          codeEvent(41, false)
        },
      ),
    /** Service mode change (codes 42–47), back to normal (code 40) after `for`. */
    mode: (args) => {
      const next =
        (args.mode as Mode | undefined) ?? rng.pick(['inspection', 'fire_return', 'out_of_service'] as const)
      if (!(next in MODE_CODES)) throw new Error(`unknown service mode "${String(args.mode)}"`)
      fault(
        d('for', '10m', args),
        () => {
          mode = next
          atRest()
          ctx.set({ passenger: false, door: 'closed', service_mode: next })
          codeEvent(MODE_CODES[next], true)
        },
        () => {
          mode = 'normal'
          ctx.set({ service_mode: 'normal' })
          codeEvent(MODE_CODES.normal, true)
        },
      )
    },
    /** 报警按钮 (code 90): someone presses the in-car alarm button. */
    alarm_button: () => {
      ctx.event('alarm_button')
    },
    /** A controller fault code (GB/T 24476-2017 1–8, 91–93): begin and end events, car stopped meanwhile. */
    fault: (args) => {
      const code = Number(args.code ?? rng.pick([1, 2, 3, 6, 7, 8]))
      fault(
        d('for', '2m', args),
        () => {
          atRest()
          ctx.set({ passenger: false, fault_code: code })
          codeEvent(code, true)
        },
        () => {
          ctx.set({ fault_code: 0 })
          codeEvent(code, false)
        },
      )
    },
    /** Back to normal at once (ends whatever fault is running). */
    recover: () => {
      interrupt()
      faultTimer?.cancel()
      faulted = false
      mode = 'normal'
      ctx.set({
        service_mode: 'normal',
        fault_code: 0,
        power_source: 'mains',
        door: 'closed',
        passenger: false,
      })
      atRest()
      later(5000, idle)
    },
  }

  let randomTimer: Timer | undefined
  const scheduleRandomFault = () => {
    if (ctx.faultRate <= 0) return
    randomTimer = clock.after(rng.exp(3_600_000 / ctx.faultRate), () => {
      if (!faulted) {
        const total = RANDOM_FAULTS.reduce((s, [, w]) => s + w, 0)
        const r = rng.float(0, total)
        let acc = 0
        const name =
          RANDOM_FAULTS.find(([, w]) => {
            acc += w
            return r < acc
          })?.[0] ?? 'door_fault'
        actions[name]!({ between_floors: rng.chance(0.3) })
      }
      scheduleRandomFault()
    })
  }

  return {
    info: { model: 'ZA-LT200', vendor: 'zhian-sim', fw: '2.4.1' },
    start() {
      atRest()
      ctx.set({
        door: 'closed',
        passenger: false,
        service_mode: 'normal',
        fault_code: 0,
        power_source: 'mains',
      })
      idle()
      scheduleRandomFault()
    },
    stop() {
      interrupt()
      faultTimer?.cancel()
      randomTimer?.cancel()
    },
    actions,
  }
}
