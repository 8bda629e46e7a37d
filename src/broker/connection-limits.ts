import type { MqttLimits } from '../config/env.ts'

/**
 * Per source address: open MQTT connections, and those that have not completed CONNECT yet (a
 * connection costs a file descriptor and buffers from the moment it is accepted, before any
 * credentials). Over either cap a new connection is closed at once. Exempt addresses (default: the
 * loopback, where the simulators, the benchmark and a local reverse proxy connect from) are not
 * counted. 0 = no cap.
 */

export type LimitRefusal = 'address_connection_limit' | 'address_pending_limit'

export interface Slot {
  /** CONNECT accepted: no longer pending. */
  connected(): void
  /** The connection closed (either state). */
  closed(): void
}

const NO_SLOT: Slot = { connected: () => {}, closed: () => {} }

export class ConnectionLimits {
  private readonly byAddress = new Map<string, { open: number; pending: number }>()
  private readonly exemptLoopback: boolean
  private readonly exempt: Set<string>

  constructor(
    private readonly limits: Pick<MqttLimits, 'maxConnectionsPerAddress' | 'maxPendingPerAddress' | 'exempt'>,
  ) {
    this.exemptLoopback = limits.exempt.includes('loopback')
    this.exempt = new Set(limits.exempt.filter((a) => a !== 'loopback').map(normalise))
  }

  /** Count a new connection from `address`, or say why it is refused. */
  open(address: string): Slot | LimitRefusal {
    const a = normalise(address)
    if (this.exempt.has(a) || (this.exemptLoopback && isLoopback(a))) return NO_SLOT
    const count = this.byAddress.get(a) ?? { open: 0, pending: 0 }
    const { maxConnectionsPerAddress: maxOpen, maxPendingPerAddress: maxPending } = this.limits
    if (maxOpen > 0 && count.open >= maxOpen) return 'address_connection_limit'
    if (maxPending > 0 && count.pending >= maxPending) return 'address_pending_limit'
    count.open++
    count.pending++
    this.byAddress.set(a, count)
    let pending = true
    let open = true
    return {
      connected: () => {
        if (!pending) return
        pending = false
        count.pending--
      },
      closed: () => {
        if (!open) return
        open = false
        if (pending) count.pending--
        pending = false
        count.open--
        if (count.open === 0) this.byAddress.delete(a)
      },
    }
  }
}

/** IPv4 peers of a dual-stack socket arrive as `::ffff:a.b.c.d`. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}
