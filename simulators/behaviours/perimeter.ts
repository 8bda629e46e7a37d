import type { Timer } from '../clock.ts'
import { parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

const BEAMS = ['B1', 'B2', 'B3']
const HEARTBEAT_MS = 300_000
/**
 * The panel's own arming hours: the hub's default arming schedule, 22:00–06:00 Asia/Shanghai (the
 * estate's clock, whatever zone the simulator runs in).
 */
const SHANGHAI_HOUR = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  hour: '2-digit',
  hourCycle: 'h23',
})
const armedAt = (at: number) => {
  const h = Number(SHANGHAI_HOUR.format(at))
  return h >= 22 || h < 6
}

/**
 * A perimeter zone behind its alarm panel: armed 22:00–06:00 (the panel's schedule), a pulse fence at
 * about 8.5 kV, and now and then — at night — a bird or a blown leaf crossing one beam once, which the
 * hub's confirm rule must not take for an intrusion. Scripted: `intrude {beams}` (someone climbs over:
 * two or more beams within seconds), `bird` (one beam once), `arm`, `disarm`, `tamper {for}`,
 * `fence_fault {for}`.
 */
export function perimeterBehaviour(ctx: BehaviourContext<'perimeter'>): Behaviour {
  const { clock, rng } = ctx
  let tick: Timer | undefined
  let wildlife: Timer | undefined
  let armedByHand: boolean | undefined
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)
  const heartbeat = () => {
    ctx.set({ armed: armedByHand ?? armedAt(clock.now()), fence_kv: rng.float(8.2, 8.8) })
  }
  const trigger = (beam: string) => ctx.event('trigger', { beam })
  // A bird every few hours of the night: one beam, once.
  const nextWildlife = () => {
    wildlife = clock.after(rng.exp(3 * 3_600_000), () => {
      if (armedAt(clock.now())) trigger(rng.pick(BEAMS))
      nextWildlife()
    })
  }
  const actions: Behaviour['actions'] = {
    intrude: (args) => {
      const n = Math.max(2, Math.min(BEAMS.length, Number(args.beams ?? 2)))
      BEAMS.slice(0, n).forEach((beam, i) => {
        clock.after(i * rng.float(2000, 6000), () => trigger(beam))
      })
    },
    bird: () => trigger(rng.pick(BEAMS)),
    arm: () => {
      armedByHand = true
      ctx.set({ armed: true })
    },
    disarm: () => {
      armedByHand = false
      ctx.set({ armed: false })
    },
    tamper: (args) => {
      ctx.set({ tamper: true })
      clock.after(d('for', '10m', args), () => ctx.set({ tamper: false }))
    },
    fence_fault: (args) => {
      ctx.set({ fence_fault: true, fence_kv: rng.float(0, 2) })
      clock.after(d('for', '30m', args), () => ctx.set({ fence_fault: false, fence_kv: rng.float(8.2, 8.8) }))
    },
  }
  return {
    info: { model: 'ZA-PER-IR3', vendor: 'zhian-sim', fw: '2.0.1' },
    start() {
      ctx.set({ tamper: false, fence_fault: false })
      heartbeat()
      tick = clock.every(HEARTBEAT_MS, heartbeat, rng.float(0, HEARTBEAT_MS))
      nextWildlife()
    },
    stop() {
      tick?.cancel()
      wildlife?.cancel()
    },
    actions,
  }
}
