import { createHash, randomBytes } from 'node:crypto'
import type http from 'node:http'
import { Server, type Socket } from 'socket.io'
import type { Alert, AuditEntry } from '../alerts/types.ts'
import type { Auth } from '../auth/auth.ts'
import type { Principal } from '../auth/principal.ts'
import { siteIds } from '../auth/scope.ts'
import type { Bus } from '../core/bus.ts'
import type { WorkOrder, WorkOrderEvent } from '../dispatch/types.ts'
import { ERRORS } from '../errors.ts'
import { crossSite } from '../http/origin.ts'
import type { DeviceLive, LiveState } from '../live/live-state.ts'
import type { Registry } from '../registry/registry.ts'
import type { Logger } from '../util/logger.ts'
import { ClusterLink, type MissedPacket } from './cluster.ts'
import {
  type ClientToServerEvents,
  type ConnectErrorData,
  LIVE_INTERVAL_MS,
  ROLLUP_INTERVAL_MS,
  type ServerToClientEvents,
  type SocketData,
} from './events.ts'

type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>
type Client = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

export interface RealtimeContext {
  httpServer: http.Server
  auth: Auth
  bus: Bus
  live: LiveState
  registry: Registry
  log: Logger
  /** Dispatch team members linked to a login (`<team>/<member>`): where a crew user's work orders go. */
  membersOf?: (username: string) => string[]
  /** Cluster mode: socket.io through Redis (cluster.ts); `baseTopic` names its keys, `nodeId` its connections. */
  cluster?: { redisUrl: string; nodeId: string; baseTopic: string } | undefined
}

/** A session socket.io persisted when a socket dropped (both adapters). */
interface StoredSession {
  sid: string
  pid: string
  rooms: string[]
  data: Partial<SocketData>
}

/** What recovery needs of an adapter: socket.io-adapter's SessionAwareAdapter, or the Redis Streams adapter. */
interface RecoveryAdapter {
  restoreSession(pid: string, offset: string): Promise<(StoredSession & { missedPackets: unknown[] }) | null>
  persistSession(session: StoredSession): void
}

/** The in-memory SessionAwareAdapter (4.8) also exposes the stored sessions and the packets kept for replay. */
interface MemoryAdapter extends RecoveryAdapter {
  sessions: Map<string, StoredSession>
  packets: { id: string; opts: { rooms: Set<string>; except: Set<string> }; data: unknown[] }[]
}

/** A socket whose outgoing buffer holds this many packets is not reading: drop it (it recovers or re-syncs). */
const STALLED_PACKETS = 2000
/** Sessions ended by the CLI (passwd, remove) or by expiry close their sockets within this time. */
const RECHECK_MS = 30_000
/** How long a dropped dashboard can come back and get what it missed (connection-state recovery). */
const RECOVERY_MS = 2 * 60_000
/**
 * Cluster mode: how often each node stores the sessions of its connected sockets. socket.io stores a
 * session when its socket drops, which a node that crashes never does; stored ahead (and kept for
 * RECOVERY_MS), the tabs of a dead node resume on another one.
 */
const KEEP_SESSIONS_MS = RECOVERY_MS / 4
/** socket.io 4.8's disconnect reasons after which it keeps the session (socket.js RECOVERABLE_DISCONNECT_REASONS). */
const RECOVERABLE = new Set([
  'transport error',
  'transport close',
  'forced close',
  'ping timeout',
  'server shutting down',
  'forced server close',
])

/**
 * socket.io on the hub's own HTTP server (attached by hand: fastify-socket.io does not support fastify 5).
 * Rooms: `scope:<node>` (or `scope:*`) per user scope for alerts and roll-ups, `crew:<team>@<node>` for
 * crews (an alert goes to the union of its levels, which is the intersection of team and scope),
 * `watch:<node>` for per-device live values. Everything leaves through bus listeners that only enqueue
 * or emit, so a slow browser costs memory in its own buffer, never time in ingest.
 */
export class Realtime {
  io: Io | undefined
  private readonly off: (() => void)[] = []
  private timers: NodeJS.Timeout[] = []
  private rollupVersion = -1
  private rollupAt = 0
  /** The team each open alert was routed to when last sent: a reassignment also tells the old team. */
  private readonly teams = new Map<string, string>()
  /** Restored sessions waiting for their handshake to re-authenticate: socket id → the session and what it missed. */
  private readonly restoring = new Map<string, { session: StoredSession; missed: MissedPacket[] }>()
  /** Authenticated recovered sockets → the broadcasts to replay (in onConnection). */
  private readonly replayFrom = new WeakMap<Client, MissedPacket[]>()
  /** Cluster mode: Redis for socket.io (undefined on a single node: the in-memory adapter). */
  private link: ClusterLink | undefined

  constructor(private readonly ctx: RealtimeContext) {}

  /** Before the HTTP server listens (engine.io re-orders the request listeners). */
  async start(): Promise<void> {
    const cluster = this.ctx.cluster
    this.link = cluster
      ? new ClusterLink(
          cluster.redisUrl,
          `zhian:${cluster.baseTopic}:socket.io`,
          cluster.nodeId,
          this.ctx.log,
        )
      : undefined
    const io: Io = new Server(this.ctx.httpServer, {
      serveClient: false,
      // The broker owns /mqtt upgrades and destroys foreign ones itself.
      destroyUpgrade: false,
      connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_MS, skipMiddlewares: false },
      maxHttpBufferSize: 64 * 1024,
      ...(this.link ? { adapter: this.link.adapter() } : {}),
    })
    this.io = io
    const adapter = this.guardRecovery(io)
    io.use((socket, next) => {
      const restored = this.restoring.get(socket.id)
      this.restoring.delete(socket.id)
      const auth = this.authenticate(socket)
      if (!auth) {
        if (restored) this.keep(restored.session)
        return next(refusal('ZHIAN_ERR_UNAUTHORIZED', 'unauthorized'))
      }
      const session = sessionOf(auth.token)
      if (restored && restored.session.data.session === session) {
        this.replayFrom.set(socket, restored.missed)
        // Resumed once by its owner: the stored copy is spent (a new one is kept at the next drop).
        this.spend(restored.session.pid)
      } else if (socket.recovered) {
        // Only the login that made the session resumes it: another user, or the same user after a
        // logout, starts fresh (new private id) and re-syncs over HTTP; the session stays for its owner.
        unrecover(socket)
        if (restored) this.keep(restored.session)
      }
      socket.data.principal = auth.principal
      socket.data.session = session
      socket.data.token = auth.token
      socket.data.members = this.membersOf(auth.principal)
      next()
    })
    io.on('connection', (socket) => this.onConnection(socket))
    for (const a of this.ctx.live.openAlerts({ scope: null })) this.teams.set(a.id, a.assigned_team ?? a.crew)
    this.off.push(
      this.ctx.bus.on('alert', (change) => {
        // The bus is synchronous: a failure here must not travel back into the alert store.
        try {
          this.onAlert(change)
        } catch (err) {
          this.ctx.log.error({ err, alert: change.alert.id }, 'alert push failed')
        }
      }),
      // Logout closes the sockets of that session at once, on every node (the adapter carries it).
      this.ctx.auth.onRevoke((token) => {
        const session = sessionOf(token)
        io.in(sessionRoom(session)).disconnectSockets(true)
        // A tab away right now could not resume it anyway (another token is not its owner); drop the copy.
        if (!this.link)
          for (const [pid, stored] of (adapter as MemoryAdapter).sessions)
            if (stored.data.session === session) (adapter as MemoryAdapter).sessions.delete(pid)
      }),
      this.ctx.bus.on('work_order', (change) => {
        try {
          this.onWorkOrder(change)
        } catch (err) {
          this.ctx.log.error({ err, work_order: change.work_order.id }, 'work-order push failed')
        }
      }),
    )
    this.timers = [
      setInterval(() => this.flushDevices(), LIVE_INTERVAL_MS),
      setInterval(() => this.flushRollups(), ROLLUP_INTERVAL_MS),
      setInterval(() => this.dropStalled(), 5000),
      setInterval(() => this.recheck(), RECHECK_MS),
      ...(this.link ? [setInterval(() => this.keepSessions(), KEEP_SESSIONS_MS)] : []),
    ]
    for (const t of this.timers) t.unref()
    if (this.link && !(await this.link.ready(io.of('/').adapter)))
      this.ctx.log.error(
        'socket.io: Redis did not answer; dashboards on other nodes miss what this node sends until it does',
      )
  }

  /** Before the HTTP server closes: open WebSockets would keep close() waiting. */
  async stop(): Promise<void> {
    for (const off of this.off.splice(0)) off()
    for (const t of this.timers.splice(0)) clearInterval(t)
    const io = this.io
    if (!io) return
    if (this.link) {
      // A cluster node going away (rolling restart, scale-in) closes the connections without a
      // socket.io DISCONNECT: each session is kept in Redis and the browser resumes it on another node.
      io.engine.close()
      for (let i = 0; i < 100 && io.of('/').sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10))
      await io.of('/').adapter.close()
      await this.link.close()
      return
    }
    io.local.disconnectSockets(true)
    await io.of('/').adapter.close()
    io.engine.close()
  }

  /** A failed attempt to resume leaves the session for its owner (the Redis adapter read it with GETDEL). */
  private keep(session: StoredSession): void {
    if (this.link) (this.io!.of('/').adapter as unknown as RecoveryAdapter).persistSession(session)
  }

  /** Cluster mode: store the sessions of this node's sockets now (see KEEP_SESSIONS_MS). */
  private keepSessions(socket?: Client): void {
    const adapter = this.io?.of('/').adapter as unknown as RecoveryAdapter | undefined
    if (!adapter) return
    for (const s of socket ? [socket] : (this.io?.of('/').sockets.values() ?? []))
      adapter.persistSession({ sid: s.id, pid: pidOf(s), rooms: [...s.rooms], data: s.data })
  }

  /** A session resumed by its owner is spent (the Redis adapter already deleted it). */
  private spend(pid: string): void {
    if (!this.link) (this.io!.of('/').adapter as unknown as MemoryAdapter).sessions.delete(pid)
  }

  /**
   * socket.io 4.8 writes a restored session's missed packets in the Socket constructor, before any
   * middleware runs: a client holding an old pid/offset would get them even when its session ended or
   * its scope narrowed since. So restoring only brings back the socket's id and rooms; the missed
   * packets are replayed in onConnection, after the handshake re-authenticated, and only those
   * addressed to a room the user is entitled to now. A session resumed by its owner is spent; a failed
   * attempt (no credentials, or not the login that made it) leaves it for the owner. In a cluster the
   * session and the broadcasts come from Redis, so a tab cut from one node resumes on another.
   */
  private guardRecovery(io: Io): RecoveryAdapter {
    const adapter = io.of('/').adapter as unknown as RecoveryAdapter
    const restore = adapter.restoreSession.bind(adapter)
    const persist = adapter.persistSession.bind(adapter)
    // The token stays in memory: a stored session (a Redis key in a cluster) holds its stand-in only.
    adapter.persistSession = (session) => persist({ ...session, data: { ...session.data, token: undefined } })
    adapter.restoreSession = async (pid, offset) => {
      const session = await restore(pid, offset)
      if (!session) return null
      const missed = await this.missed(adapter, offset)
      if (!missed) return null
      const { missedPackets: _, ...stored } = session
      this.restoring.set(session.sid, { session: stored, missed })
      return { ...session, missedPackets: [] }
    }
    return adapter
  }

  /** The broadcasts after `offset` with their addressing: from the Redis stream, or the in-memory buffer. */
  private async missed(adapter: RecoveryAdapter, offset: string): Promise<MissedPacket[] | undefined> {
    if (this.link) return this.link.missed(offset)
    const packets = (adapter as MemoryAdapter).packets
    const from = packets.findIndex((p) => p.id === offset)
    if (from < 0) return undefined
    return packets
      .slice(from + 1)
      .map((p) => ({ rooms: [...p.opts.rooms], except: [...p.opts.except], data: p.data }))
  }

  /** Send what a recovered socket missed, cut to its current rooms; false when that is no longer possible. */
  private replay(socket: Client): boolean {
    const packets = this.replayFrom.get(socket)
    this.replayFrom.delete(socket)
    if (packets === undefined) return false
    const rooms = [...socket.rooms]
    for (const packet of packets) {
      const to = packet.rooms
      if (to.length > 0 && !rooms.some((r) => to.includes(r))) continue
      if (rooms.some((r) => packet.except.includes(r))) continue
      // The same frame the constructor would have sent: event, args and the offset last.
      ;(socket.emit as (...args: unknown[]) => boolean)(...packet.data)
    }
    return true
  }

  private membersOf(p: Principal): string[] {
    return p.role === 'crew' ? (this.ctx.membersOf?.(p.username) ?? []) : []
  }

  private authenticate(socket: Client): { principal: Principal; token: string } | undefined {
    const given = (socket.handshake.auth as { token?: unknown } | undefined)?.token
    let token: string | undefined
    if (typeof given === 'string' && given) token = given
    else {
      const credentials = this.ctx.auth.credentialsOf(socket.request.headers)
      // A cookie rides along with any page's WebSocket: only our own origin may use it.
      if (credentials?.via === 'cookie' && crossSite(socket.request.headers)) return undefined
      token = credentials?.token
    }
    const principal = this.ctx.auth.principalOfToken(token)
    return principal && token ? { principal, token } : undefined
  }

  /** Drop sockets whose session ended, or whose user's role or scope changed (they reconnect with the new one). */
  private recheck(): void {
    for (const s of this.io?.of('/').sockets.values() ?? []) {
      const now = this.ctx.auth.principalOfToken(s.data.token)
      const was = s.data.principal
      if (
        !now ||
        now.role !== was.role ||
        now.scope !== was.scope ||
        now.team !== was.team ||
        this.membersOf(now).join() !== s.data.members.join()
      )
        s.disconnect(true)
    }
  }

  private onConnection(socket: Client): void {
    const p = socket.data.principal
    // Recovered sockets get their rooms back; the user's scope may have changed since, so rebuild the
    // scope rooms and keep only watches still in scope.
    for (const room of socket.rooms) {
      if (room === socket.id) continue
      if (room.startsWith('watch:') && this.mayWatch(p, room.slice(6))) continue
      socket.leave(room)
    }
    socket.join([
      ...roomsOf(p, socket.data.members),
      `rollup:${p.scope ?? '*'}`,
      sessionRoom(socket.data.session),
    ])
    const recovered = socket.recovered && this.replay(socket)
    const link = this.link
    if (link) {
      this.keepSessions(socket)
      // An end for good (logout, a login dropped by recheck, the tab's goodbye) leaves nothing to resume.
      socket.on('disconnect', (reason) => {
        if (!RECOVERABLE.has(reason)) link.forget(pidOf(socket))
      })
    }
    socket.emit('hello', { user: p, recovered, server_time: Date.now() })
    socket.on('watch', (site, reply) => {
      const ack = typeof reply === 'function' ? reply : () => {}
      if (typeof site !== 'string' || !this.mayWatch(p, site)) {
        ack({ ok: false, code: 'ZHIAN_ERR_FORBIDDEN', message: `site ${String(site)} is outside your scope` })
        return
      }
      socket.join(`watch:${site}`)
      ack({ ok: true })
    })
    socket.on('unwatch', (site) => {
      if (typeof site === 'string') socket.leave(`watch:${site}`)
    })
    // A first roll-up right away, so a fresh screen does not wait for the next change.
    socket.emit('live:rollup', {
      at: Date.now(),
      sites: this.ctx.live.rollup(p),
      parking: this.ctx.live.parking(p),
    })
  }

  private mayWatch(p: Principal, site: string): boolean {
    // `*` is every site: for unscoped users only.
    if (site === '*') return p.scope === null
    if (!this.ctx.registry.site(site)) return false
    if (p.scope === null) return true
    return this.ctx.registry.subtree(p.scope).has(site)
  }

  /**
   * In a cluster every node's bus sees every alert change: the node that made it, and the others as a
   * replica. Only the first emits; the adapter takes it to every node's sockets, once. The others
   * still note the team, for the day they lead.
   */
  private onAlert({ alert, entry, replica }: { alert: Alert; entry: AuditEntry; replica?: boolean }): void {
    const io = this.io
    if (!io) return
    const levels = siteIds(alert)
    const rooms = ['scope:*', ...levels.map((id) => `scope:${id}`)]
    const team = alert.assigned_team ?? alert.crew
    const teams = new Set([team, this.teams.get(alert.id)])
    if (alert.status === 'resolved') this.teams.delete(alert.id)
    else this.teams.set(alert.id, team)
    for (const team of teams) {
      if (!team) continue
      rooms.push(`crew:${team}@*`, ...levels.map((id) => `crew:${team}@${id}`))
    }
    if (!replica) io.to(rooms).emit('alert', { alert, entry })
  }

  /**
   * Work orders go where GET /api/work-orders/:id would show them: scope rooms (managers, viewers,
   * admins), the rooms of every member dispatched or escalated to, and the team's room for crew
   * logins without a linked member. Never volatile: a missed accept or escalation is replayed. A
   * cluster's replica of a change made on another node is not sent again (see onAlert).
   */
  private onWorkOrder({
    work_order: wo,
    event,
    replica,
  }: {
    work_order: WorkOrder
    event: WorkOrderEvent
    replica?: boolean
  }): void {
    const io = this.io
    if (!io || replica) return
    const levels = ['*', ...siteIds(wo)]
    const rooms = levels.map((id) => `scope:${id}`)
    const members = new Set(wo.participants)
    if (wo.assignee) members.add(wo.assignee)
    for (const m of members) rooms.push(...levels.map((id) => `wo:${m}@${id}`))
    rooms.push(...levels.map((id) => `wo-team:${wo.team}@${id}`))
    io.to(rooms).emit('work_order', { work_order: wo, event })
  }

  /**
   * Each socket gets one packet per interval holding exactly the changed devices below the sites it
   * watches. Not one packet per room: a batch addressed by its first device's rooms leaked other
   * buildings' values, a socket in two rooms would get a device twice, and a volatile packet is
   * dropped when the socket's transport is still writing the previous one, so a second packet in
   * the same tick would be lost.
   */
  private flushDevices(): void {
    const io = this.io
    if (!io) return
    // socket.io encodes a broadcast before it looks for members: with no watcher in a room, neither
    // the device views nor their JSON are built (at 1,000 busy devices that was ~15 % of the hub).
    const watched = new Set(this.openRooms('watch:'))
    if (watched.size === 0) {
      this.ctx.live.discardDirty()
      return
    }
    const changed = this.ctx.live.drainDirty()
    if (changed.length === 0) return
    // To this node's sockets only (io.local): in a cluster every node's live state follows every
    // reading (the shared log feeds each node's bus), so each node serves its own watchers, and a
    // change reaches each of them once without crossing Redis.
    for (const { sockets, devices } of this.audiences(devicesByRoom(changed, watched)))
      io.local.to(sockets).volatile.emit('live:devices', devices)
  }

  /**
   * Watching sockets grouped by the exact set of rooms (among those with changes) they hold, each
   * group with the union of those rooms' devices: one encode per distinct set, one packet per socket.
   */
  private audiences(byRoom: Map<string, DeviceLive[]>): { sockets: string[]; devices: DeviceLive[] }[] {
    const adapter = this.io!.of('/').adapter
    const groups = new Map<string, { rooms: string[]; sockets: string[] }>()
    const done = new Set<string>()
    for (const room of byRoom.keys()) {
      for (const sid of adapter.rooms.get(room) ?? []) {
        if (done.has(sid)) continue
        done.add(sid)
        const rooms = [...(adapter.sids.get(sid) ?? [])].filter((r) => byRoom.has(r)).sort()
        const key = rooms.join(' ')
        const group = groups.get(key) ?? { rooms, sockets: [] }
        group.sockets.push(sid)
        groups.set(key, group)
      }
    }
    return [...groups.values()].map(({ rooms, sockets }) => ({ sockets, devices: union(rooms, byRoom) }))
  }

  private flushRollups(): void {
    const io = this.io
    if (!io) return
    // Also every 10 s without a change: devices go offline by silence, which no event announces.
    const stale = Date.now() - this.rollupAt > 10_000
    if (this.ctx.live.version === this.rollupVersion && !stale) return
    this.rollupVersion = this.ctx.live.version
    this.rollupAt = Date.now()
    const rooms = this.openRooms('rollup:')
    if (rooms.length === 0) return
    // One pass over every device and alert, then cut per scope: a street wall screen and sixty
    // estate managers cost one roll-up, not sixty-one.
    const sites = this.ctx.live.rollup({ scope: null })
    const parking = this.ctx.live.parking({ scope: null })
    const at = Date.now()
    for (const room of rooms) {
      const node = room.slice(7)
      if (node === '*') {
        io.local.to(room).emit('live:rollup', { at, sites, parking })
        continue
      }
      const below = this.ctx.registry.subtree(node)
      // Every node sends its own sockets their roll-up from its own live state (io.local): through the
      // adapter, each node's timer would reach every node's sockets.
      io.local.to(room).emit('live:rollup', {
        at,
        sites: sites.filter((s) => below.has(s.id)),
        parking: parking.filter((z) => below.has(z.estate)),
      })
    }
  }

  /** The rooms with at least one member whose name starts with `prefix`. */
  private openRooms(prefix: string): string[] {
    return [...(this.io?.of('/').adapter.rooms.keys() ?? [])].filter((r) => r.startsWith(prefix))
  }

  private dropStalled(): void {
    for (const socket of this.io?.of('/').sockets.values() ?? []) {
      const buffered = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0
      if (buffered > STALLED_PACKETS) {
        this.ctx.log.warn({ user: socket.data.principal.username, buffered }, 'dropping a stalled dashboard')
        socket.disconnect(true)
      }
    }
  }
}

/**
 * Alert and work-order rooms of a user. A crew login gets its team's alerts (`crew:`), and the work
 * orders of its linked dispatch members (`wo:`), or of its team when none is linked (`wo-team:`).
 */
function roomsOf(p: Principal, members: string[]): string[] {
  const at = p.scope ?? '*'
  if (p.role !== 'crew') return [`scope:${at}`]
  const rooms = p.team ? [`crew:${p.team}@${at}`] : []
  if (members.length > 0) rooms.push(...members.map((m) => `wo:${m}@${at}`))
  else if (p.team) rooms.push(`wo-team:${p.team}@${at}`)
  return rooms
}

/** The changed devices per open watch room: `watch:*` and the room of each site level above a device. */
function devicesByRoom(changed: DeviceLive[], open: Set<string>): Map<string, DeviceLive[]> {
  const byRoom = new Map<string, DeviceLive[]>()
  for (const d of changed) {
    for (const node of ['*', ...siteIds(d.site)]) {
      const room = `watch:${node}`
      if (!open.has(room)) continue
      const list = byRoom.get(room)
      if (list) list.push(d)
      else byRoom.set(room, [d])
    }
  }
  return byRoom
}

/** The devices of several rooms, each once (a device below two watched nodes is in both). */
function union(rooms: string[], byRoom: Map<string, DeviceLive[]>): DeviceLive[] {
  if (rooms.length === 1) return byRoom.get(rooms[0]!)!
  const byId = new Map<string, DeviceLive>()
  for (const room of rooms) for (const d of byRoom.get(room)!) byId.set(d.id, d)
  return [...byId.values()]
}

/**
 * A stand-in for the session's token in socket data and room names (both are stored in Redis in a
 * cluster): the same login gives the same value, the value gives nothing to log in with.
 */
function sessionOf(token: string): string {
  return createHash('sha256').update('zhian socket.io session\0').update(token).digest('base64url')
}

/** Every socket of one login session: a logout closes them on every node. */
function sessionRoom(session: string): string {
  return `session:${session}`
}

/** The socket's private session id (socket.io keeps it private: it is what a resume presents). */
function pidOf(socket: Client): string {
  return (socket as unknown as { pid: string }).pid
}

/** Treat a restored socket as a new one (new private session id; the client sees `recovered: false`). */
function unrecover(socket: Client): void {
  Object.assign(socket, { recovered: false, pid: randomBytes(15).toString('base64url') })
}

function refusal(code: ConnectErrorData['code'], message: string): Error & { data: ConnectErrorData } {
  const err = new Error(message) as Error & { data: ConnectErrorData }
  err.data = { code, message_zh: ERRORS[code].zh }
  return err
}
