import type { Alert, AuditEntry } from '../alerts/types.ts'
import type { Principal } from '../auth/principal.ts'
import type { WorkOrder, WorkOrderEvent } from '../dispatch/types.ts'
import type { DeviceLive, ParkingZone, SiteRollup } from '../live/live-state.ts'

/**
 * socket.io event maps, shared by the hub (src/realtime) and the dashboard (src/web): one place, so a
 * renamed field breaks the build on both sides. Alerts and roll-ups are reliable (recovered after a
 * reconnect); per-device live values are volatile and throttled (the next batch supersedes a lost one).
 */
export interface ServerToClientEvents {
  /** Sent once per connection; `recovered: false` tells the client to re-sync open alerts over HTTP. */
  hello: (info: { user: Principal; recovered: boolean; server_time: number }) => void
  /** Every alert transition in the user's scope (raised, acked, assigned, commented, resolved…). */
  alert: (change: { alert: Alert; entry: AuditEntry }) => void
  /**
   * Every work-order change (dispatched, accepted, reminded, escalated, notified = a delivery settled,
   * resolved…) the user may see: managers and viewers by scope, a crew login only its own orders (the
   * ones its team member was dispatched or escalated to; its team's when no member is linked to it).
   * Reliable, like alerts.
   */
  work_order: (change: { work_order: WorkOrder; event: WorkOrderEvent }) => void
  /** Changed devices of the sites this socket watches, at most every LIVE_INTERVAL_MS. */
  'live:devices': (devices: DeviceLive[]) => void
  /** The roll-up of the user's scope, when it changed (at most every ROLLUP_INTERVAL_MS), and every 10 s. */
  'live:rollup': (snapshot: { at: number; sites: SiteRollup[]; parking: ParkingZone[] }) => void
}

export type WatchReply = { ok: true } | { ok: false; code: string; message: string }

export interface ClientToServerEvents {
  /** Start receiving `live:devices` for a site node in scope (`*`: all sites, unscoped users only). */
  watch: (site: string, reply: (r: WatchReply) => void) => void
  unwatch: (site: string) => void
}

export interface SocketData {
  principal: Principal
  /** The credential the socket authenticated with, re-checked while it stays connected; never in a stored session. */
  token: string
  /** A one-way stand-in for the token, kept in the recovery session (which may live in Redis). */
  session: string
  /** Dispatch team members (`<team>/<member>`) linked to the login: a crew socket's work-order rooms. */
  members: string[]
}

/** Error `data` on a refused handshake (`connect_error`). */
export interface ConnectErrorData {
  code: 'ZHIAN_ERR_UNAUTHORIZED' | 'ZHIAN_ERR_FORBIDDEN'
  message_zh: string
}

export const LIVE_INTERVAL_MS = 250
export const ROLLUP_INTERVAL_MS = 500
