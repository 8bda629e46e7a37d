import { KINDS } from '../../devices/index.ts'
import { parseDuration } from '../time.ts'
import { genericBehaviour } from './generic.ts'
import { type ActionArgs, type Behaviour, type BehaviourContext, durationArg } from './types.ts'

const PROVINCE = ['浙A', '浙B', '沪A', '苏E']
const OBJECTS = new Set(['car', 'ebike', 'goods', 'person', 'unknown'])

/**
 * A camera with an edge AI box: the generic life (status every 5 min; its random fault is lost video)
 * plus the detections a scenario scripts, each with a snapshot on the estate's video recorder:
 * `throw {floor}`, `ebike` (in the lift car it watches), `park {for, plate}` (a vehicle in its no-parking
 * zone, leaving after `for`), `occupy_passage {for, object}` (the fire-passage segment it watches),
 * `smoke {what}`.
 */
export function aiCameraBehaviour(ctx: BehaviourContext<'ai_camera'>): Behaviour {
  const base = genericBehaviour(ctx, KINDS.ai_camera)
  const { clock, rng } = ctx
  let shots = 0
  const d = (key: string, fallback: string, args: ActionArgs) =>
    durationArg(args, key, parseDuration(fallback), parseDuration)
  // RFC 2606 example domain: the address shape of a recorder's snapshot, never a real host.
  const snapshot = () => `https://nvr.example/snapshots/${ctx.id}/${clock.now()}-${++shots}.jpg`
  const plate = (args: ActionArgs) =>
    typeof args.plate === 'string' ? args.plate : `${rng.pick(PROVINCE)}${rng.int(10000, 99999)}`
  return {
    ...base,
    info: { model: 'ZA-CAM-AI8', vendor: 'zhian-sim', fw: '4.3.0' },
    actions: {
      ...base.actions,
      throw: (args) =>
        ctx.event('high_altitude_throw', {
          floor: Number(args.floor ?? rng.int(3, 18)),
          snapshot_url: snapshot(),
          confidence: rng.float(0.8, 0.98),
        }),
      ebike: () =>
        ctx.event('ebike_in_lift', { snapshot_url: snapshot(), confidence: rng.float(0.85, 0.99) }),
      park: (args) => {
        ctx.event('illegal_parking', { active: true, plate: plate(args), snapshot_url: snapshot() })
        clock.after(d('for', '20m', args), () => ctx.event('illegal_parking', { active: false }))
      },
      occupy_passage: (args) => {
        const object = typeof args.object === 'string' && OBJECTS.has(args.object) ? args.object : 'car'
        ctx.event('passage_occupied', {
          occupied: true,
          object_class: object,
          ...(object === 'car' ? { plate: plate(args) } : {}),
          confidence: rng.float(0.8, 0.98),
          snapshot_url: snapshot(),
        })
        clock.after(d('for', '15m', args), () => ctx.event('passage_occupied', { occupied: false }))
      },
      smoke: (args) =>
        ctx.event('smoke_fire', {
          what: args.what === 'fire' ? 'fire' : 'smoke',
          snapshot_url: snapshot(),
          confidence: rng.float(0.7, 0.95),
        }),
    },
  }
}
