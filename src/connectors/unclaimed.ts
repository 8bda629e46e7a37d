import type { Identity } from './uplink.ts'

/**
 * Platform devices no zhian device claims: counted and listed per connector for an installer
 * (`GET /api/connectors/:id/unclaimed`), who then adds the identity to a device in the estate file.
 * In memory (the next uplink after a restart lists a device again), at most MAX_PER_CONNECTOR each.
 */

const MAX_PER_CONNECTOR = 1000

export interface UnclaimedDevice {
  identities: Identity[]
  /** Uplinks seen from it (retries included). */
  count: number
  first_at: number
  last_at: number
  /** What the platform said about it (product, device name), for the installer. */
  hint: string | undefined
}

export class Unclaimed {
  private readonly byConnector = new Map<string, Map<string, UnclaimedDevice>>()
  private readonly dropped = new Map<string, number>()

  note(connector: string, identities: Identity[], hint: string | undefined, at: number): void {
    let devices = this.byConnector.get(connector)
    if (!devices) {
      devices = new Map()
      this.byConnector.set(connector, devices)
    }
    const key = identities.map((i) => `${i.kind}=${i.value}`).join(',')
    const known = devices.get(key)
    if (known) {
      known.count++
      known.last_at = at
      return
    }
    if (devices.size >= MAX_PER_CONNECTOR) {
      this.dropped.set(connector, (this.dropped.get(connector) ?? 0) + 1)
      return
    }
    devices.set(key, { identities, count: 1, first_at: at, last_at: at, hint: hint || undefined })
  }

  /**
   * Newest first, without the ones a device claims by now (`claimed`: the installer added the identity
   * to a device since; they leave the list for good).
   */
  list(
    connector: string,
    claimed: (identity: Identity) => boolean,
  ): { devices: UnclaimedDevice[]; not_listed: number } {
    const devices = this.byConnector.get(connector)
    for (const [key, d] of devices ?? []) if (d.identities.some(claimed)) devices?.delete(key)
    const sorted = [...(devices?.values() ?? [])].sort((a, b) => b.last_at - a.last_at)
    return { devices: sorted, not_listed: this.dropped.get(connector) ?? 0 }
  }
}
