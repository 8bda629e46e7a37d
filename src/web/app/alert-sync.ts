import type { Alert } from '../../alerts/types.ts'

/**
 * Open alerts over HTTP and over the socket at once: a re-sync's snapshot must not undo an `alert` event
 * that arrived while the request was in flight (a new alert would vanish until the next change, a resolved
 * one would come back). Changes seen during the request are laid over the snapshot by id, the newer
 * winning; on a tie the socket's copy wins, since socket.io delivers in order and anything newer
 * follows it.
 */
export class AlertSync {
  /** One map per re-sync in flight: the socket's latest copy of each alert it touched meanwhile. */
  private readonly inFlight = new Set<Map<string, Alert>>()

  /** A re-sync starts: remember socket changes until `finish`. */
  begin(): Map<string, Alert> {
    const seen = new Map<string, Alert>()
    this.inFlight.add(seen)
    return seen
  }

  /** Every `alert` event passes here. */
  record(alert: Alert): void {
    for (const seen of this.inFlight) seen.set(alert.id, alert)
  }

  /** The snapshot arrived: open alerts by id, with what the socket said meanwhile. */
  finish(seen: Map<string, Alert>, snapshot: Alert[]): Map<string, Alert> {
    this.inFlight.delete(seen)
    return mergeOpen(snapshot, seen.values())
  }

  /** The request failed: stop recording for it. */
  abandon(seen: Map<string, Alert>): void {
    this.inFlight.delete(seen)
  }
}

/** Open alerts by id from a snapshot and later socket changes, the newer copy of each winning. */
export function mergeOpen(snapshot: Iterable<Alert>, changes: Iterable<Alert>): Map<string, Alert> {
  const out = new Map<string, Alert>()
  for (const a of snapshot) out.set(a.id, a)
  for (const a of changes) {
    const had = out.get(a.id)
    if (had && changedAt(had) > changedAt(a)) continue
    if (a.status === 'resolved') out.delete(a.id)
    else out.set(a.id, a)
  }
  return out
}

/**
 * When an alert last changed, from its own timestamps. Assign and comment move none of them: equal
 * stamps go to the socket's copy (see AlertSync).
 */
export function changedAt(a: Alert): number {
  return Math.max(a.last_at, a.cleared_at ?? 0, a.acknowledged_at ?? 0, a.resolved_at ?? 0)
}
