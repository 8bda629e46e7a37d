import type { KindId } from '../../devices/index.ts'
import { type KindDefinition, simulatorOf } from '../../devices/types.ts'
import type { Timer } from '../clock.ts'
import { parseDuration } from '../time.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

/**
 * The behaviour of a kind that names none: it reports the kind's `healthy` readings (a new one every
 * heartbeat interval) and, as its fault — scripted (`fault {for}`) or at random with the fault rate —
 * the kind's `faulty` reading, until `recover` or the fault's end; `set` sends a scripted reading.
 */
export function genericBehaviour(ctx: BehaviourContext<KindId>, def: KindDefinition): Behaviour {
  const { clock, rng } = ctx
  const spec = simulatorOf(def)
  const intervalMs = def.interval_s * 1000
  let n = 0
  let faulty = false
  let tick: Timer | undefined
  let fault: Timer | undefined
  let random: Timer | undefined
  const set = (values: Record<string, unknown>) => ctx.set(values as Parameters<typeof ctx.set>[0])

  const healthy = () => {
    if (!faulty) set(spec.healthy(n++))
  }
  const actions: Behaviour['actions'] = {
    recover: () => {
      fault?.cancel()
      fault = undefined
      faulty = false
      set(spec.healthy(n++))
    },
  }
  /**
   * A scripted reading (`do: set`, `with: { alarm: true }`): sent and held — no healthy reading
   * replaces it — until `recover`, or for `for` when given. A field the kind lacks is a script error.
   */
  actions.set = (args: ActionArgs) => {
    const { for: hold, ...values } = args
    for (const k of Object.keys(values))
      if (!Object.hasOwn(def.state, k)) throw new Error(`${def.id} has no state field "${k}"`)
    fault?.cancel()
    fault = undefined
    faulty = true
    set(values)
    if (hold !== undefined)
      fault = clock.after(parseDuration(hold as string | number), () => actions.recover!({}))
  }
  const bad = spec.faulty
  if (bad) {
    actions.fault = (args: ActionArgs) => {
      fault?.cancel()
      faulty = true
      set(bad.state)
      fault = clock.after(durationArg(args, 'for', parseDuration('10m'), parseDuration), () =>
        actions.recover!({}),
      )
    }
  }
  const scheduleRandom = () => {
    if (!(ctx.faultRate > 0) || !actions.fault) return
    random = clock.after(rng.exp(3_600_000 / ctx.faultRate), () => {
      if (!faulty) actions.fault!({ for: `${rng.int(5, 30)}m` })
      scheduleRandom()
    })
  }
  return {
    info: { model: `ZA-${spec.mix.abbr.toUpperCase()}-GEN`, vendor: 'zhian-sim', fw: '1.0.0' },
    start() {
      healthy()
      tick = clock.every(intervalMs, healthy, rng.float(0, intervalMs))
      scheduleRandom()
    },
    stop() {
      tick?.cancel()
      fault?.cancel()
      random?.cancel()
    },
    actions,
  }
}
