import { KINDS } from '../../devices/index.ts'
import { genericBehaviour } from './generic.ts'
import type { ActionArgs, Behaviour, BehaviourContext } from './types.ts'

const PRESSES = new Set(['short', 'long', 'cancel'])

/**
 * A one-key alarm button: the generic life (a daily heartbeat with its battery; its random fault is a
 * low battery, never a call for help) plus the presses a scenario scripts: `press {press}` (short,
 * long or cancel; none: a plain press without data).
 */
export function sosButtonBehaviour(ctx: BehaviourContext<'sos_button'>): Behaviour {
  const base = genericBehaviour(ctx, KINDS.sos_button)
  return {
    ...base,
    info: { model: 'ZA-SOS-B1', vendor: 'zhian-sim', fw: '1.2.0' },
    actions: {
      ...base.actions,
      press: (args: ActionArgs) => {
        const press = typeof args.press === 'string' && PRESSES.has(args.press) ? args.press : undefined
        ctx.event('pressed', press ? { press } : {})
      },
    },
  }
}
