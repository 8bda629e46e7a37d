/** The rule below, held in one process (ClientIdClaims) or for a whole cluster (cluster.ts). */
export interface ClientIdOwners {
  claim(clientId: string, owner: string, clean: boolean): boolean | Promise<boolean>
  release(clientId: string): void
}

/**
 * Who may use an MQTT client id. Client ids are free-form (a gateway holds several connections of
 * one device), but a new connection with a client id in use takes the old one's place: the broker
 * closes the old connection and publishes its will [MQTT-3.1.4-2], and a persistent session
 * (clean: false) is handed to whoever presents its id. So a client id belongs to the identity that
 * holds it (a device id, or `user:<name>`) while a connection with it is open, and for as long as its
 * persistent session lives; another identity presenting it is refused (CONNACK 2).
 */
export class ClientIdClaims implements ClientIdOwners {
  private readonly claims = new Map<string, { owner: string; open: number; persistent: boolean }>()

  /**
   * Claim `clientId` for one more connection of `owner`; false when another identity holds it.
   * `clean` is the connection's Clean Session flag: a clean connection ends the session
   * [MQTT-3.1.2-6], a persistent one keeps the claim after the connection closes.
   */
  claim(clientId: string, owner: string, clean: boolean): boolean {
    let claim = this.claims.get(clientId)
    if (claim && claim.owner !== owner) return false
    if (!claim) {
      claim = { owner, open: 0, persistent: false }
      this.claims.set(clientId, claim)
    }
    claim.open++
    claim.persistent = !clean
    return true
  }

  /** A connection that claimed `clientId` closed. */
  release(clientId: string): void {
    const claim = this.claims.get(clientId)
    if (!claim) return
    claim.open = Math.max(0, claim.open - 1)
    if (claim.open === 0 && !claim.persistent) this.claims.delete(clientId)
  }

  ownerOf(clientId: string): string | undefined {
    return this.claims.get(clientId)?.owner
  }
}
