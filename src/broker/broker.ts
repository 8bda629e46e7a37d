import type { EventEmitter } from 'node:events'
import fs from 'node:fs'
import type http from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type PublishPacket,
} from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { type Auth, principalOfUser } from '../auth/auth.ts'
import { CheckGate } from '../auth/login-limiter.ts'
import type { Principal } from '../auth/principal.ts'
import { crewSees, inScope } from '../auth/scope.ts'
import { type HubConfig, MQTT_LIMIT_DEFAULTS, type MqttLimits } from '../config/env.ts'
import type { Bus } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { SEVERITY_NAMES } from '../core/vocabulary.ts'
import { clientAddress, type TrustFn, trustFunction } from '../http/client-address.ts'
import type { Topics } from '../mqtt/topics.ts'
import type { AuthResult, Registry } from '../registry/registry.ts'
import { type Logger, LogLimit } from '../util/logger.ts'
import { DeviceAuthThrottle } from './auth-throttle.ts'
import { ClientIdClaims, type ClientIdOwners } from './client-ids.ts'
import { type ClusterParts, clusterParts } from './cluster.ts'
import { ConnectionLimits, type Slot } from './connection-limits.ts'
import { guardConnection, PACKET_HEADROOM } from './packet-guard.ts'
import { RateLimiter } from './rate-limit.ts'

/**
 * The embedded Aedes 1.x broker (MQTT 3.1.1 only): TCP, optional TLS, and WebSocket on /mqtt of the
 * hub's HTTP server. The only module that touches Aedes. Devices authenticate with id + secret and
 * may only use their own topics; every accepted PUBLISH goes through `onPublish` before its PUBACK.
 */

export interface BrokerContext {
  config: Pick<HubConfig, 'mqtt' | 'tls' | 'deviceRate' | 'maxPayloadBytes'> & {
    /** Cluster mode: sessions, queues, retained messages and client ids in Redis, shared by every node. */
    cluster?: HubConfig['cluster']
    /** Its trustProxy: whose X-Forwarded-For to believe on the /mqtt WebSocket upgrade. */
    http?: Pick<HubConfig['http'], 'trustProxy'>
  }
  topics: Topics
  registry: Registry
  bus: Bus
  metrics: Metrics
  log: Logger
  httpServer: http.Server
  /** Dashboard users may log in as `user:<username>` with their password: read-only, hub topics only. */
  auth: Pick<Auth, 'login'>
  /**
   * Return false to refuse the message: it is acknowledged per QoS but neither forwarded nor retained.
   * Called synchronously in arrival order per client; a returned promise means "accepted once it
   * resolves" and holds back only this message's PUBACK (the next message is processed meanwhile, so
   * a journal can group-commit them; return the commit's own promise, shared by its messages).
   */
  onPublish: (
    deviceId: string,
    msg: { topic: string; payload: Buffer; qos: 0 | 1 | 2 },
  ) => boolean | Promise<unknown>
  /**
   * Why devices cannot be taken in now (e.g. the journal cannot write: nothing could be acknowledged),
   * or undefined. A device connecting meanwhile gets CONNACK 3, server unavailable [MQTT-3.2.2-5 table].
   */
  unavailable?: () => string | undefined
}

/** Where refused messages go: `$`-topics never match `#` [MQTT-4.7.2-1] and no device may subscribe here. */
const DEAD_LETTER = '$zhian/refused'
const RETURN_CODE = {
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const
/** MQTT usernames of people: a colon never occurs in a device id (ID_PATTERN), so the two cannot clash. */
export const USER_PREFIX = 'user:'
const USER_REFUSAL = {
  bad_password: RETURN_CODE.BAD_USERNAME_OR_PASSWORD,
  throttled: RETURN_CODE.NOT_AUTHORIZED,
  busy: RETURN_CODE.SERVER_UNAVAILABLE,
} as const
const DEVICE_REFUSAL = {
  throttled: RETURN_CODE.NOT_AUTHORIZED,
  busy: RETURN_CODE.SERVER_UNAVAILABLE,
} as const
const LOG_ONCE_LIMIT = 10_000

/** QoS 0 messages held at once before the broker sheds new ones (about 10 MB of readings). */
export const SHED_QOS0_AT = 20_000

export class Broker {
  private aedes: Aedes | undefined
  private tcp: net.Server | undefined
  private secure: tls.Server | undefined
  private wss: WebSocketServer | undefined
  private readonly deviceOf = new WeakMap<Client, string>()
  /** Dashboard users connected over MQTT (read-only subscribers of the hub topics). */
  private readonly userOf = new WeakMap<Client, Principal>()
  private readonly clientsOf = new Map<string, Set<Client>>()
  private clientIds: ClientIdOwners = new ClientIdClaims()
  private cluster: ClusterParts | undefined
  private readonly authThrottle = new DeviceAuthThrottle()
  /**
   * Device scrypt checks at once, one per low-priority device hashing thread (src/util/secrets.ts).
   * A storm of new devices queues (1,000 deep, then CONNACK 3 and the device retries); hub-generated
   * secrets and secrets verified since start never queue (authenticateDevice).
   */
  private readonly secretChecks = new CheckGate(2, 1000)
  private readonly limits: MqttLimits
  private readonly connectionLimits: ConnectionLimits
  /** Each accepted connection's place in the per-address counts. */
  private readonly slots = new WeakMap<object, Slot>()
  /** Each accepted connection's client address (behind a trusted proxy, the forwarded one). */
  private readonly addresses = new WeakMap<object, string>()
  private readonly trustProxy: TrustFn
  /**
   * Per-client FIFOs (AckQueue): onPublish runs in arrival order, and the PUBACKs leave in the order
   * PUBLISHes arrived [MQTT-4.6.0-2] even when a durable write holds them back.
   */
  private readonly queues = new WeakMap<Client, AckQueue>()
  private readonly limiter: RateLimiter
  /** QoS 0 PUBLISHes received and not yet processed, all clients together (see SHED_QOS0_AT). */
  private qos0InFlight = 0
  /** Largest Remaining Length accepted; see packet-guard.ts. */
  private readonly maxPacket: number
  private readonly loggedRefusals = new Set<string>()
  private readonly unsubscribe: (() => void)[] = []
  private readonly onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
    this.upgrade(req, socket, head)

  private readonly brokerErrors = new LogLimit('MQTT broker error')
  /** A full disk refuses every publish: one log line per interval, with a count. */
  private readonly publishFailures = new LogLimit('publish not stored: connection closed without PUBACK')

  constructor(private readonly ctx: BrokerContext) {
    this.limiter = new RateLimiter(ctx.config.deviceRate.perSecond, ctx.config.deviceRate.burst)
    this.maxPacket = ctx.config.maxPayloadBytes + PACKET_HEADROOM
    this.limits = { ...MQTT_LIMIT_DEFAULTS, ...ctx.config.mqtt.limits }
    this.connectionLimits = new ConnectionLimits(this.limits)
    this.trustProxy = trustFunction(ctx.config.http?.trustProxy)
  }

  get mqttPort(): number {
    return (this.tcp?.address() as net.AddressInfo | null)?.port ?? 0
  }

  get tlsPort(): number | undefined {
    return (this.secure?.address() as net.AddressInfo | null)?.port
  }

  async start(): Promise<void> {
    const cluster = this.ctx.config.cluster
    if (cluster) {
      const prefix = redisPrefix(this.ctx.topics.base)
      this.cluster = clusterParts(cluster, prefix, this.ctx.log)
      this.clientIds = this.cluster.clientIds
      await this.cluster.clientIds.forgetConnectionsOf()
      await this.cluster.roster.join()
    }
    const aedes = await Aedes.createBroker({
      ...this.cluster?.options,
      // Device ids are the identity; client ids are free-form (a gateway may hold several connections)
      // but owned by the identity using them (see ClientIdClaims).
      maxClientsIdLength: 256,
      drainTimeout: 30_000,
      // The first packet must be CONNECT [MQTT-3.1.0-1]; how long to wait for it is the server's choice.
      connectTimeout: this.limits.connectTimeoutMs,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) =>
        done(null, this.authorizeSubscribe(client, sub.topic) ? sub : null),
      authorizeForward: (client, packet) => this.forward(client, packet),
    })
    this.aedes = aedes
    this.storeOnlyAllowedSubscriptions(aedes)
    aedes.on('client', (client) => {
      this.ctx.metrics.connections.inc()
      this.slots.get(client.conn)?.connected()
    })
    aedes.on('clientDisconnect', (client) => this.forgetClient(client))
    aedes.on('clientError', (client, err) =>
      this.ctx.log.debug({ client: client?.id, err: err.message }, 'client error'),
    )
    aedes.on('connectionError', (_c, err) => this.ctx.log.debug({ err: err.message }, 'connection error'))
    // Aedes emits 'error' for what fails outside any client: in a cluster, Redis unreachable while it
    // sweeps dead nodes' wills or queues a message for an offline session. Unheard, it would end the process.
    ;(aedes as EventEmitter).on('error', (err: Error) =>
      this.brokerErrors.note(this.ctx.log, { err: err.message }),
    )
    this.unsubscribe.push(
      this.ctx.bus.on('device_removed', ({ id }) => {
        this.limiter.forget(id)
        this.authThrottle.forget(id)
        for (const client of this.clientsOf.get(id) ?? []) client.close()
      }),
    )

    this.tcp = net.createServer((socket) => this.handle(socket))
    await listen(this.tcp, this.ctx.config.mqtt.port, this.ctx.config.mqtt.host)
    const tlsConfig = this.ctx.config.tls
    if (tlsConfig) {
      this.secure = tls.createServer(
        { cert: fs.readFileSync(tlsConfig.cert), key: fs.readFileSync(tlsConfig.key) },
        (socket) => this.handle(socket),
      )
      await listen(this.secure, tlsConfig.port, this.ctx.config.mqtt.host)
    }
    // ws buffers a whole frame before handing it on (default limit 100 MiB), so frames are capped too;
    // with room for several packets, as one frame may carry several or partial packets [MQTT-6.0.0-2].
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4 * this.maxPacket })
    this.ctx.httpServer.on('upgrade', this.onUpgrade)
    // Every alert transition goes out to people on `<base>/hub/alert` (each receives only the alerts
    // in their scope, see forward()); suppressed alerts are stored, not announced.
    this.unsubscribe.push(
      this.ctx.bus.on('alert', ({ alert, entry, replica }) => {
        // A replica is the leader's transition repeated here; the leader published it, to every node.
        if (alert.suppressed || replica) return
        // With its severity in the words every screen uses (a subscriber shows them as they are).
        const text = { ...alert, severity_name: SEVERITY_NAMES[alert.severity], event: entry }
        this.publish(this.ctx.topics.hub('alert'), JSON.stringify(text), {
          qos: 1,
          retain: false,
        }).catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'alert publish failed'))
      }),
    )
    await this.publish(this.ctx.topics.hub('availability'), 'online', { qos: 1, retain: true })
  }

  /** Stop accepting, say goodbye on the hub availability topic, close every client. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off()
    this.ctx.httpServer.off('upgrade', this.onUpgrade)
    const closing = [this.tcp, this.secure].filter(Boolean).map((s) => new Promise((r) => s!.close(r)))
    if (this.aedes && !this.aedes.closed) {
      await this.sayOffline(this.aedes)
      await new Promise<void>((resolve) => this.aedes!.close(() => resolve()))
    }
    await this.cluster?.close()
    for (const ws of this.wss?.clients ?? []) ws.terminate()
    this.wss?.close()
    await Promise.all(closing)
  }

  /**
   * The retained hub `offline`, seen by this node's own subscribers before their connections close.
   * In a cluster only the last node leaving says it (NodeRoster), and the message comes back to this
   * node through Redis, so it waits for that — at most 2 s: a Redis gone away must not hold the stop.
   */
  private async sayOffline(aedes: Aedes): Promise<void> {
    const topic = this.ctx.topics.hub('availability')
    if (!this.cluster) return this.publish(topic, 'offline', { qos: 1, retain: true })
    const last = await this.cluster.roster.leave().catch(() => true)
    if (!last) return
    let seen = () => {}
    const back = new Promise<void>((resolve) => {
      seen = resolve
    })
    const onPacket = (packet: AedesPublishPacket, done: () => void) => {
      if (String(packet.payload) === 'offline') seen()
      done()
    }
    const said = (async () => {
      await new Promise<void>((resolve) => aedes.subscribe(topic, onPacket, () => resolve()))
      await this.publish(topic, 'offline', { qos: 1, retain: true })
      await back
    })()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      said.catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'hub offline not published')),
      new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
    ])
    clearTimeout(timer)
    aedes.unsubscribe(topic, onPacket, () => {})
  }

  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const aedes = this.aedes
    if (!aedes || aedes.closed) return Promise.resolve()
    return new Promise((resolve, reject) => {
      aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: opts.qos,
          retain: opts.retain,
          dup: false,
        } as PublishPacket,
        (err) => (err ? reject(err) : resolve()),
      )
    })
  }

  /** Number of open connections of one device (for the dashboard and tests). */
  connectionsOf(deviceId: string): number {
    return this.clientsOf.get(deviceId)?.size ?? 0
  }

  /**
   * Taking over a connection or session (same client id) is allowed only to the identity that holds
   * it; the victim stays connected and its will is not published. Released when the connection
   * closes, unless its session persists (see ClientIdClaims).
   */
  private async claimClientId(client: Client, owner: string): Promise<boolean> {
    // Gone while authenticating: Aedes drops it, and its 'close' has passed, so nothing to claim.
    const gone = () => client.closed || (client.conn as Duplex).destroyed
    if (gone()) return true
    if (!(await this.clientIds.claim(client.id, owner, client.clean))) return false
    // In cluster mode the claim is a Redis round trip: the connection may have gone meanwhile.
    if (gone()) this.clientIds.release(client.id)
    else client.conn.once('close', () => this.clientIds.release(client.id))
    return true
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    /** `counted` is what /metrics shows (public), `reason` what the log shows. */
    const refuse = (reason: string, code: 2 | 3 | 4 | 5, counted = reason) => {
      this.ctx.metrics.connectRefused.inc({ reason: counted })
      this.logOnce(
        `${reason}:${username}:${client.id}`,
        { device: username, client: client.id, reason },
        'MQTT connection refused',
      )
      const err = new Error(reason) as AuthenticateError
      err.returnCode = code
      done(err, false)
    }
    /** Credentials are good: the client id must be free or this identity's own. */
    const admit = async (owner: string): Promise<boolean> => {
      let claimed: boolean
      try {
        claimed = await this.claimClientId(client, owner)
      } catch (err) {
        // Cluster mode: Redis, where client ids are held, did not answer. Not the client's fault:
        // "server unavailable" makes it retry, where 5 (not authorized) may make it give up.
        this.ctx.log.warn({ err: (err as Error).message }, 'client id not claimed')
        refuse('cluster_unavailable', RETURN_CODE.SERVER_UNAVAILABLE)
        return false
      }
      if (claimed) return true
      refuse('client_id_taken', RETURN_CODE.IDENTIFIER_REJECTED)
      return false
    }
    if (!username || !password) {
      refuse('missing_credentials', RETURN_CODE.BAD_USERNAME_OR_PASSWORD)
      return
    }
    const unavailable = username.startsWith(USER_PREFIX) ? undefined : this.ctx.unavailable?.()
    if (unavailable) {
      refuse(unavailable, RETURN_CODE.SERVER_UNAVAILABLE)
      return
    }
    if (username.startsWith(USER_PREFIX)) {
      this.authenticateUser(client, username.slice(USER_PREFIX.length), password.toString('utf8'))
        .then(async (result) => {
          if (typeof result !== 'object') return refuse(result, USER_REFUSAL[result])
          if (!(await admit(username))) return
          this.userOf.set(client, result)
          done(null, true)
        })
        .catch((err: Error) => {
          this.ctx.log.error({ err }, 'user authentication failed')
          refuse('internal_error', RETURN_CODE.NOT_AUTHORIZED)
        })
      return
    }
    this.authenticateDevice(client, username, password.toString('utf8'))
      .then(async (result) => {
        if (result !== 'ok') {
          if (result === 'throttled' || result === 'busy') refuse(result, DEVICE_REFUSAL[result])
          // An unknown id and a wrong secret look alike outside the log (the CONNACK and the decoy hash
          // make them alike on the wire): /metrics is public and must not tell which ids exist.
          else refuse(result, RETURN_CODE.BAD_USERNAME_OR_PASSWORD, 'bad_credentials')
          return
        }
        if (!(await admit(username))) return
        this.deviceOf.set(client, username)
        const set = this.clientsOf.get(username) ?? new Set<Client>()
        this.clientsOf.set(username, set)
        set.add(client)
        done(null, true)
      })
      .catch((err: Error) => {
        this.ctx.log.error({ err }, 'authentication failed')
        refuse('internal_error', RETURN_CODE.NOT_AUTHORIZED)
      })
  }

  /**
   * Device id + secret, behind the failure throttle and the check gate: a throttled attempt is
   * refused without hashing, and so is one that reached the head of the queue after the limit was.
   * What needs no KDF (a secret verified since start, a hub-generated one) is answered at once, so
   * a reconnecting device never waits behind a storm of scrypt checks.
   */
  private async authenticateDevice(
    client: Client,
    id: string,
    secret: string,
  ): Promise<AuthResult | 'throttled' | 'busy'> {
    const address = this.addressOf(client)
    const throttle = this.authThrottle
    if (throttle.throttled(id, address, secret)) return 'throttled'
    const atOnce = this.ctx.registry.authenticateAtOnce(id, secret)
    const checked =
      atOnce !== undefined
        ? { value: atOnce }
        : await this.secretChecks.run(async () =>
            throttle.throttled(id, address, secret)
              ? ('throttled' as const)
              : this.ctx.registry.authenticate(id, secret),
          )
    if (!checked) return 'busy'
    if (checked.value === 'ok') throttle.succeeded(id, secret)
    else if (checked.value !== 'throttled') throttle.failed(id, address)
    return checked.value
  }

  /** The dashboard login's own path (Auth.login): the same throttle, password check and audit. */
  private async authenticateUser(
    client: Client,
    username: string,
    password: string,
  ): Promise<Principal | 'bad_password' | 'throttled' | 'busy'> {
    const result = await this.ctx.auth.login('mqtt', this.addressOf(client), username, password)
    return 'user' in result ? principalOfUser(result.user) : result.refused
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
  ): void {
    if (client && this.userOf.has(client)) {
      // People are read-only subscribers: acknowledged (MQTT 3.1.1 has no refusal) but never forwarded.
      this.ctx.metrics.messagesRejected.inc({ reason: 'ZHIAN_ERR_TOPIC_FORBIDDEN', kind: 'user' })
      refuseInPlace(packet)
      done(null)
      return
    }
    const deviceId = client ? this.deviceOf.get(client) : undefined
    if (!client || !deviceId || this.isOtherNodesWill(packet)) {
      // A will restored without its client, or a client that never authenticated: never forwarded.
      refuseInPlace(packet)
      done(null)
      return
    }
    if (packet.qos === 0) {
      // Load shedding: QoS 0 is "at most once" [MQTT-4.3.1]. Aedes hands over a whole socket read at a
      // time, so a thousand flooding publishers can put millions of packets in memory faster than the
      // journal commits them; past SHED_QOS0_AT they are dropped and counted rather than held. QoS 1
      // is never shed: its PUBACK waits, and the publisher's in-flight window is the bound.
      if (this.qos0InFlight >= SHED_QOS0_AT) {
        const kind = this.ctx.registry.get(deviceId)?.kind ?? 'unknown'
        this.ctx.metrics.messagesRejected.inc({ reason: 'ZHIAN_ERR_OVERLOADED', kind })
        refuseInPlace(packet)
        done(null)
        return
      }
      this.qos0InFlight++
      const release = done
      done = (err) => {
        this.qos0InFlight--
        release(err)
      }
    }
    let queue = this.queues.get(client)
    if (!queue) {
      queue = new AckQueue(this.publishFailures, this.ctx.log, deviceId)
      this.queues.set(client, queue)
    }
    const entry: Pending = { packet, done, result: undefined, settled: false, started: false }
    queue.push(entry)
    if (queue.waiting) return // a rate-limit wait holds this client's later messages too
    this.startQueued(queue, deviceId)
  }

  /**
   * Cluster mode: a will stored by another node, found by Aedes' sweep once that node is dead. Aedes
   * hands it over with whichever client holds its client id on this node — the device reconnected
   * here, alive — so taking it would mark a device offline that is online. Never forwarded, as a will
   * without its client is on one hub. (A live client's own will carries this node's id: putWill.)
   */
  private isOtherNodesWill(packet: PublishPacket): boolean {
    const brokerId = (packet as PublishPacket & { brokerId?: string }).brokerId
    return this.cluster !== undefined && brokerId !== undefined && brokerId !== this.aedes?.id
  }

  /**
   * Run onPublish for the queued messages in arrival order, until one has to wait for the device's
   * rate limit (a timer resumes from there).
   */
  private startQueued(queue: AckQueue, deviceId: string): void {
    for (let entry = queue.nextUnstarted(); entry; entry = queue.nextUnstarted()) {
      const wait = entry.limited ? 0 : this.limiter.take(deviceId)
      if (wait > 0) {
        entry.limited = true
        this.ctx.metrics.rateLimited.inc({ kind: this.ctx.registry.get(deviceId)?.kind ?? 'unknown' })
        queue.waiting = setTimeout(() => {
          queue.waiting = undefined
          this.startQueued(queue, deviceId)
        }, wait)
        return
      }
      entry.started = true
      const packet = entry.packet
      try {
        queue.settle(
          entry,
          this.ctx.onPublish(deviceId, {
            topic: packet.topic,
            payload: packet.payload as Buffer,
            qos: packet.qos,
          }),
        )
      } catch (err) {
        queue.settle(entry, Promise.reject(err))
      }
    }
  }

  /** SUBSCRIBE, per topic filter: refused ones get 0x80 in the SUBACK [MQTT-3.9.3-2] and are counted. */
  private authorizeSubscribe(client: Client, filter: string): boolean {
    const ok = this.maySubscribe(client, filter)
    if (!ok) this.ctx.metrics.subscribeRefused.inc()
    return ok
  }

  /**
   * Devices may subscribe to their own `set` and `error` only; users to the hub topics only
   * (`<base>/hub/alert`, `<base>/hub/availability`, or `<base>/hub/#` / `+` for both).
   */
  private maySubscribe(client: Client, filter: string): boolean {
    if (this.userOf.has(client)) {
      const hub = `${this.ctx.topics.base}/hub/`
      return filter.startsWith(hub) && ['alert', 'availability', '#', '+'].includes(filter.slice(hub.length))
    }
    return this.isOwnDownlink(client, filter)
  }

  private isOwnDownlink(client: Client, topic: string): boolean {
    const deviceId = this.deviceOf.get(client)
    const device = deviceId ? this.ctx.registry.get(deviceId) : undefined
    return (
      device !== undefined &&
      (topic === this.ctx.topics.device(device.kind, device.id, 'set') ||
        topic === this.ctx.topics.device(device.kind, device.id, 'error'))
    )
  }

  /**
   * Aedes 1.2.0 stores a SUBSCRIBE's whole topic list in a persistent session (clean: false) as soon
   * as one of its filters is granted, refused ones included; the session then queues what they match
   * while the client is away and replays it on reconnect. Only granted filters may be stored.
   */
  private storeOnlyAllowedSubscriptions(aedes: Aedes): void {
    const persistence = (aedes as unknown as { persistence: unknown }).persistence as {
      addSubscriptions(client: Client, subs: { topic: string }[]): Promise<unknown>
    }
    const add = persistence.addSubscriptions.bind(persistence)
    persistence.addSubscriptions = (client, subs) => {
      const allowed = subs.filter((sub) => this.maySubscribe(client, sub.topic))
      // Redis refuses an HMSET without fields; nothing to store is nothing to do, on any persistence.
      return allowed.length > 0 ? add(client, allowed) : Promise.resolve(client)
    }
  }

  /**
   * Every delivery — live, a persistent session's queue replayed on reconnect, retained, a will —
   * passes here, so the SUBSCRIBE rule holds whatever a session holds. Alerts reach a user only inside
   * their scope (a crew: their team's), as on the dashboard.
   */
  private forward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const user = this.userOf.get(client)
    if (!user) return this.isOwnDownlink(client, packet.topic) ? packet : null
    if (packet.topic === this.ctx.topics.hub('availability')) return packet
    if (packet.topic !== this.ctx.topics.hub('alert')) return null
    let alert: Parameters<typeof crewSees>[1]
    try {
      alert = JSON.parse((packet.payload as Buffer).toString('utf8'))
    } catch {
      return null
    }
    const sees = user.role === 'crew' ? crewSees(user, alert) : inScope(user, alert)
    return sees ? packet : null
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const url = req.url ?? ''
    if (url === '/mqtt' || url.startsWith('/mqtt?')) {
      // Handled synchronously: engine.io ends foreign upgrade sockets that stay silent for 1 s.
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws)
        ws.on('error', (err: Error & { code?: string }) => {
          if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.packetTooLarge(stream, undefined)
        })
        this.handle(stream, req)
      })
    } else if (!url.startsWith('/socket.io/')) {
      socket.destroy()
    }
  }

  /**
   * Hand a connection to Aedes behind the per-address caps and the packet-size guard. Over WebSocket
   * the address is the upgrade request's client, as the HTTP side computes it (ZHIAN_TRUST_PROXY):
   * behind a reverse proxy the socket's peer is the proxy, for every client alike.
   */
  private handle(conn: Duplex, req?: http.IncomingMessage): void {
    const address = req
      ? clientAddress(req, this.trustProxy)
      : ((conn as net.Socket).remoteAddress ?? 'unknown')
    this.addresses.set(conn, address)
    const slot = this.connectionLimits.open(address)
    if (typeof slot === 'string') {
      this.ctx.metrics.connectRefused.inc({ reason: slot })
      this.logOnce(`${slot}:${address}`, { address, reason: slot }, 'MQTT connection refused')
      conn.destroy()
      return
    }
    this.slots.set(conn, slot)
    conn.once('close', () => slot.closed())
    guardConnection(conn, this.maxPacket, (announced) => this.packetTooLarge(conn, announced))
    this.aedes?.handle(conn, req)
  }

  /** A packet over the hard cap: counted, logged once per device, and the connection closed [MQTT-3.3.5-2]. */
  private packetTooLarge(conn: Duplex, announced: number | undefined): void {
    const client = (conn as Duplex & { client?: Client }).client
    const deviceId = client ? this.deviceOf.get(client) : undefined
    const kind = (deviceId && this.ctx.registry.get(deviceId)?.kind) || 'unknown'
    this.ctx.metrics.messagesRejected.inc({ reason: 'ZHIAN_ERR_PACKET_TOO_LARGE', kind })
    this.logOnce(
      `packet_too_large:${deviceId ?? '?'}`,
      { device: deviceId, bytes: announced, limit: this.maxPacket },
      'MQTT packet over the size limit, connection closed',
    )
    conn.destroy()
  }

  private forgetClient(client: Client): void {
    this.ctx.metrics.connections.dec()
    const deviceId = this.deviceOf.get(client)
    if (!deviceId) return
    const set = this.clientsOf.get(deviceId)
    set?.delete(client)
    if (set?.size === 0) this.clientsOf.delete(deviceId)
  }

  /** The client's address as handle() found it: the throttles and the login audit key on it. */
  private addressOf(client: Client): string {
    return this.addresses.get(client.conn) ?? 'unknown'
  }

  private logOnce(key: string, fields: object, msg: string): void {
    if (this.loggedRefusals.has(key)) return
    if (this.loggedRefusals.size >= LOG_ONCE_LIMIT) this.loggedRefusals.clear()
    this.loggedRefusals.add(key)
    this.ctx.log.warn(fields, msg)
  }
}

interface Pending {
  packet: PublishPacket
  done: (err?: Error | null) => void
  /** onPublish's answer; a promise until it settles. */
  result: boolean | Promise<unknown> | undefined
  settled: boolean
  started: boolean
  /** Its rate-limit token is taken (it waited for it). */
  limited?: boolean
  error?: Error
}

/**
 * One client's messages between PUBLISH and PUBACK, in arrival order. Aedes sends the PUBACK when
 * `done` is called, so `done` is called strictly in order [MQTT-4.6.0-2]: a message refused at once
 * waits behind an earlier one still waiting for the journal. Messages of one group commit share one
 * promise, so one `then` releases all of them (no promise chain per message: this is the hot path).
 */
class AckQueue {
  private readonly items: Pending[] = []
  private head = 0
  /** Entries start in arrival order, so the started ones are a prefix: the first unstarted one is at or after this. */
  private next = 0
  private lastPromise: Promise<unknown> | undefined
  waiting: NodeJS.Timeout | undefined

  constructor(
    private readonly failures: LogLimit,
    private readonly log: Logger,
    private readonly deviceId: string,
  ) {}

  push(entry: Pending): void {
    this.items.push(entry)
  }

  nextUnstarted(): Pending | undefined {
    const items = this.items
    if (this.next < this.head) this.next = this.head
    while (this.next < items.length && items[this.next]!.started) this.next++
    return items[this.next]
  }

  settle(entry: Pending, result: boolean | Promise<unknown>): void {
    entry.result = result
    if (typeof result === 'boolean') {
      entry.settled = true
      this.release()
      return
    }
    if (result === this.lastPromise) return // already watched: settles with the others of its commit
    this.lastPromise = result
    result.then(
      () => this.settleAll(result, true, undefined),
      (err: Error) => this.settleAll(result, false, err),
    )
  }

  private settleAll(promise: Promise<unknown>, ok: boolean, err: Error | undefined): void {
    if (this.lastPromise === promise) this.lastPromise = undefined
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i]!
      if (e.result !== promise) continue
      e.result = ok
      e.error = err
      e.settled = true
    }
    this.release()
  }

  /** Call `done` for the settled messages at the head, in order. */
  private release(): void {
    const items = this.items
    while (this.head < items.length && items[this.head]!.settled) {
      const e = items[this.head]!
      items[this.head++] = undefined as unknown as Pending
      if (e.error) {
        // The message was not stored: close the connection without PUBACK, the device will resend [MQTT-3.3.5-2].
        // One line per interval, with a count: a full disk refuses every publish.
        this.failures.note(this.log, { err: e.error.message, device: this.deviceId })
        e.done(e.error)
        continue
      }
      if (e.result === false) refuseInPlace(e.packet)
      e.done(null)
    }
    if (this.head === items.length) {
      items.length = 0
      this.head = 0
      this.next = 0
    } else if (this.head > 1024) {
      items.splice(0, this.head)
      this.next = Math.max(0, this.next - this.head)
      this.head = 0
    }
  }
}

/** Aedes cannot drop a PUBLISH without closing the connection, so a refused one is emptied and parked. */
function refuseInPlace(packet: PublishPacket): void {
  packet.topic = DEAD_LETTER
  packet.payload = Buffer.alloc(0)
  packet.retain = false
}

/** Redis keys and channels of this hub's broker; the base topic tells clusters sharing one Redis apart. */
export function redisPrefix(base: string): string {
  return `zhian:${base}:mqtt:`
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
