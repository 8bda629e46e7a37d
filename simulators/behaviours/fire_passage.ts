import type { Timer } from '../clock.ts'
import { hourOfDay, parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

/**
 * A fire-passage segment (domain-catalog §2): a camera (object class, confidence, plate) at entrances
 * and turning areas, a geomagnetic sensor (occupied, battery) elsewhere. Vehicles, e-bikes and people
 * stop for seconds and leave — always under 45 s, below the shortest `occupied` hold (60 s at
 * entrances) — and now and then someone parks for good (`block`).
 */

type ObjectClass = 'car' | 'ebike' | 'goods' | 'person' | 'unknown'
const MAX_NORMAL_DWELL_MS = 45_000
const PROVINCE = ['浙A', '浙B', '浙C', '沪A', '苏E']

export function firePassageBehaviour(ctx: BehaviourContext<'fire_passage'>): Behaviour {
  const { clock, rng } = ctx
  const camera = ctx.params.entrance ?? rng.chance(0.5)
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)
  let battery = rng.float(55, 100)
  let pass: Timer | undefined
  let blocked: Timer | undefined
  let drain: Timer | undefined
  let random: Timer | undefined
  let busy = false

  const plate = () => `${rng.pick(PROVINCE)}${rng.int(10000, 99999)}`
  const occupy = (object: ObjectClass) => {
    if (camera) {
      ctx.set({ occupied: true, object_class: object, confidence: rng.float(0.72, 0.99) })
      if (object === 'car') ctx.set({ plate: plate() })
      else ctx.unset('plate')
    } else {
      ctx.set({ occupied: true })
    }
  }
  const vacate = () => {
    ctx.set({ occupied: false })
    ctx.unset('object_class', 'plate', 'confidence')
  }

  const nextPass = () => {
    const h = hourOfDay(clock.now())
    const mean = h >= 7 && h < 21 ? 15 * 60_000 : 60 * 60_000
    pass = clock.after(rng.exp(mean), () => {
      if (!busy) {
        const object = rng.pick<ObjectClass>(['car', 'car', 'car', 'ebike', 'ebike', 'person', 'goods'])
        occupy(object)
        const dwell = object === 'person' ? rng.float(2000, 6000) : rng.float(5000, MAX_NORMAL_DWELL_MS)
        busy = true
        pass = clock.after(dwell, () => {
          busy = false
          vacate()
          nextPass()
        })
      } else nextPass()
    })
  }

  const actions: Record<string, (args: ActionArgs) => void> = {
    /** Something stands on the segment for `for` (default 12 min), then leaves. */
    block: (args) => {
      pass?.cancel()
      blocked?.cancel()
      busy = true
      occupy((args.object as ObjectClass | undefined) ?? 'car')
      blocked = clock.after(d('for', '12m', args), () => {
        busy = false
        vacate()
        nextPass()
      })
    },
    /** The segment is clear again now. */
    clear: () => {
      blocked?.cancel()
      busy = false
      vacate()
      pass?.cancel()
      nextPass()
    },
    /** Battery at `pct` (default 8 %), for geomagnetic segments. */
    battery_low: (args) => {
      battery = Number(args.pct ?? 8)
      if (!camera) ctx.set({ battery_pct: battery })
    },
  }

  const scheduleRandom = () => {
    if (ctx.faultRate <= 0) return
    random = clock.after(rng.exp(3_600_000 / ctx.faultRate), () => {
      if (!busy) actions.block!({ for: `${rng.int(11, 40)}m` })
      scheduleRandom()
    })
  }

  return {
    info: camera
      ? { model: 'ZA-FP-CAM4', vendor: 'zhian-sim', fw: '1.8.0' }
      : { model: 'ZA-FP-MAG2', vendor: 'zhian-sim', fw: '3.1.2' },
    start() {
      ctx.set({ occupied: false })
      if (!camera) {
        ctx.set({ battery_pct: battery })
        // Li-SOCl₂ pack: a few years of life, reported in whole percent.
        drain = clock.every(3_600_000, () => {
          const before = Math.floor(battery)
          battery = Math.max(0, battery - 0.004)
          if (Math.floor(battery) !== before) ctx.set({ battery_pct: Math.floor(battery) })
        })
      }
      nextPass()
      scheduleRandom()
    },
    stop() {
      for (const t of [pass, blocked, drain, random]) t?.cancel()
    },
    actions,
  }
}
