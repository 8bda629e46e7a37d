import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Gating } from './alerts/gating.ts'
import { AlertStore } from './alerts/store.ts'
import { ApiToken } from './auth/api-token.ts'
import { Auth } from './auth/auth.ts'
import { Broker } from './broker/broker.ts'
import { ClusterNode } from './cluster/cluster.ts'
import { SharedLog } from './cluster/log.ts'
import { Tailer } from './cluster/tail.ts'
import { CockpitService } from './cockpit/cockpit.ts'
import type { HubConfig } from './config/env.ts'
import { type EstateFile, loadEstateFile, zoneNames } from './config/estate-file.ts'
import { Connectors } from './connectors/connectors.ts'
import { Bus } from './core/bus.ts'
import { type Clock, RealClock } from './core/clock.ts'
import { Metrics } from './core/metrics.ts'
import type { DispatchConfig } from './dispatch/config.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import { backlogAlert, History } from './history/history.ts'
import { buildHttp } from './http/server.ts'
import { decodeRecord, diskFullAlert, Gate } from './ingest/gate.ts'
import { Ingest } from './ingest/ingest.ts'
import { LiveState } from './live/live-state.ts'
import { Topics } from './mqtt/topics.ts'
import { SitePlans } from './plans/plans.ts'
import { Realtime } from './realtime/realtime.ts'
import { Registry } from './registry/registry.ts'
import type { ReportsConfig } from './reports/config.ts'
import { ReportService } from './reports/service.ts'
import { RuleService } from './rules/service.ts'
import { type Db, openDb } from './store/db.ts'
import { createLogger, type Logger } from './util/logger.ts'

/**
 * The composition root: loads the estate file into a frozen context, builds every collaborator
 * (their constructors do no I/O), then starts the features in the order of `features()` and stops
 * them in reverse. main.ts is the process around it; tests build hubs with this directly.
 *
 * The path of a reading: broker (src/broker: auth, ACL, PUBACK order) → ingest (src/ingest/ingest.ts:
 * topic, registry, the kind's schema) → gate (src/ingest/gate.ts: journal, then the hub bus once
 * durable; the PUBACK waits for it) → bus listeners: rules (src/rules) → alert store (src/alerts) →
 * bus `alert` → broker (MQTT `<base>/hub/alert`), realtime (socket.io), dispatch; live state
 * (src/live) → realtime; history (src/history) ships the journal to InfluxDB.
 */
export class Hub {
  readonly log: Logger
  readonly bus = new Bus()
  readonly metrics = new Metrics()
  readonly topics: Topics
  readonly db: Db
  /** What the estate file says, loaded once before anything is built. */
  readonly estate: EstateContext
  readonly registry: Registry
  readonly apiToken: ApiToken
  readonly auth: Auth
  readonly live: LiveState
  readonly realtime: Realtime
  readonly ingest: Ingest
  /** The journal between ingest and the hub bus: durable before the PUBACK. */
  readonly gate: Gate
  /** InfluxDB history, shipped from the journal. */
  readonly history: History
  readonly http: FastifyInstance
  readonly broker: Broker
  /** Alert lifecycle store, silences/maintenance gating and the rule engine. */
  readonly alerts: AlertStore
  readonly gating: Gating
  readonly rules: RuleService
  /** Work orders, routing, notifications and escalation. */
  readonly dispatch: Dispatcher
  /** One-click reports and their schedule. */
  readonly reports: ReportService
  /** Site plans (uploaded or from the estate file) and the street cockpit's figures. */
  readonly plans: SitePlans
  readonly cockpit: CockpitService
  /** Uplinks from platforms and LoRaWAN network servers (the estate file's `connectors:`). */
  readonly connectors: Connectors
  /**
   * Cluster mode (src/cluster): the shared log on Redis the gate appends to, the tailer that feeds this
   * node's bus from it, and this node's membership and leadership. Undefined on a single node.
   */
  readonly sharedLog: SharedLog | undefined
  readonly tailer: Tailer | undefined
  readonly cluster: ClusterNode | undefined
  /** A follower's shadow of the rules (signals and writes nothing), replaced by the real ones on lead(). */
  readonly shadowRules: RuleService | undefined
  /** The store session ended under a leader (cluster mode): main exits so that a supervisor restarts it. */
  onLost: (err: Error) => void = () => void this.stop()
  private leaderStarted = false
  private trimTimer: NodeJS.Timeout | undefined
  /** A token generated at this start; main writes it once to the data directory. */
  generatedApiToken: string | undefined
  /** Password of the `admin` user created at first start; main writes it once to the data directory. */
  generatedAdminPassword: string | undefined
  /** `ZHIAN_ADMIN_PASSWORD`: the first admin's password instead of a random one (set by main before start). */
  adminPassword: string | undefined
  private readonly startedAt = Date.now()
  private started: Feature[] = []

  /**
   * `clock`: the time of rules, alerts, gating and work orders — the real clock, except for the demo's
   * recorded week (src/cli/demo-history.ts), which replays simulated days on a clock it moves itself.
   */
  constructor(
    readonly config: HubConfig,
    readonly clock: Clock = new RealClock(),
  ) {
    const now = () => clock.now()
    this.log = createLogger(config.logLevel)
    this.estate = loadEstate(config, this.log)
    this.topics = new Topics(config.baseTopic)
    this.db = openDb(config.dataDir, config.databaseUrl)
    this.registry = new Registry(this.db, this.bus)
    this.apiToken = new ApiToken(this.db)
    this.auth = new Auth(this.db, this.apiToken, this.log.child({ feature: 'auth' }))
    this.live = new LiveState(
      this.bus,
      this.registry,
      now,
      (estate) => (this.shadowRules && !this.leaderStarted ? this.shadowRules : this.rules).zones(estate),
      (estate) => zoneNames(this.estate.file ?? { sites: [] }, estate),
    )
    this.alerts = new AlertStore({
      db: this.db,
      bus: this.bus,
      log: this.log.child({ feature: 'alerts' }),
      now,
    })
    this.sharedLog = config.cluster
      ? new SharedLog({
          redisUrl: config.cluster.redisUrl,
          log: this.log.child({ feature: 'shared log' }),
          onCommit: (records) => {
            this.metrics.journalCommits.inc()
            this.metrics.journalRecords.inc(records)
          },
        })
      : undefined
    this.gate = new Gate({
      shared: this.sharedLog,
      journal: config.journal,
      dataDir: config.dataDir,
      bus: this.bus,
      metrics: this.metrics,
      log: this.log.child({ feature: 'journal' }),
      // `hub.disk_full` while the journal cannot write (the store may be on the same disk: best effort).
      onDiskFull: (full) => {
        try {
          this.alerts.apply(diskFullAlert(full, now()))
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'hub.disk_full could not be stored')
        }
      },
    })
    this.history = new History({
      history: config.history,
      journal: this.gate.journal,
      bus: this.bus,
      metrics: this.metrics,
      log: this.log.child({ feature: 'history' }),
      // The hub's own warning alert while InfluxDB falls behind (`hub.history_backlog`).
      onBacklogWarning: (w) => this.alerts.apply(backlogAlert(w, now())),
    })
    this.ingest = new Ingest({
      registry: this.registry,
      // Validated messages reach the hub bus through the gate: journalled, then emitted once durable.
      gate: this.gate,
      metrics: this.metrics,
      topics: this.topics,
      log: this.log.child({ feature: 'ingest' }),
      maxPayloadBytes: config.maxPayloadBytes,
      tsWindow: config.tsWindow,
      reply: (topic, payload) => void this.broker.publish(topic, payload, { qos: 0, retain: false }),
      bus: this.bus,
    })
    this.gating = new Gating(this.db, now)
    const ruleOptions = {
      db: this.db,
      bus: this.bus,
      registry: this.registry,
      alerts: this.alerts,
      gates: this.gating,
      log: this.log.child({ feature: 'rules' }),
      clock,
      zoneName: (estate: string, zone: string) => zoneNames(this.estate.file ?? { sites: [] }, estate)[zone],
      timeZone: config.reportTz,
    }
    this.rules = new RuleService(ruleOptions)
    // A follower's copy of the rules for what its dashboards read of them (parking occupancy).
    this.shadowRules = config.cluster
      ? new RuleService({
          ...ruleOptions,
          log: this.log.child({ feature: 'rules (follower copy)' }),
          shadow: true,
        })
      : undefined
    this.dispatch = new Dispatcher({
      db: this.db,
      bus: this.bus,
      alerts: this.alerts,
      metrics: this.metrics,
      log: this.log.child({ feature: 'dispatch' }),
      clock,
      linkBase: () => this.linkBase(),
      retry: config.notifyTimeoutMs ? { timeoutMs: config.notifyTimeoutMs } : undefined,
      worker: config.cluster?.nodeId,
      names: { site: (id) => this.registry.site(id)?.name, device: (id) => this.registry.get(id)?.name },
    })
    this.reports = new ReportService({
      db: this.db,
      registry: this.registry,
      overrides: () => this.estate.overrides,
      history: config.history,
      tz: config.reportTz,
      log: this.log.child({ feature: 'reports' }),
      outbox: this.dispatch.outbox,
      teams: () => this.estate.dispatch.teams,
      zoneNames: (estate) => zoneNames(this.estate.file ?? { sites: [] }, estate),
      linkBase: () => this.linkBase(),
    })
    this.connectors = new Connectors({
      connectors: this.estate.connectors,
      db: this.db,
      registry: this.registry,
      // The same checks as a device's MQTT message, then the gate; a push is answered once durable.
      ingest: this.ingest,
      durable: () => this.gate.durable(),
      unavailable: () => this.gate.unavailable(),
      metrics: this.metrics,
      log: this.log.child({ feature: 'connectors' }),
    })
    this.plans = new SitePlans({
      db: this.db,
      registry: this.registry,
      file: () => this.estate.file,
      baseDir: config.estateFile ? path.dirname(config.estateFile) : undefined,
      now,
    })
    this.cockpit = new CockpitService({
      db: this.db,
      registry: this.registry,
      live: this.live,
      overrides: () => this.estate.overrides,
      teams: () => this.estate.dispatch.teams,
      tz: config.reportTz,
      now,
    })
    this.http = buildHttp({
      http: config.http,
      plans: this.plans,
      cockpit: this.cockpit,
      dispatch: this.dispatch,
      reports: this.reports,
      log: this.log,
      metrics: this.metrics,
      registry: this.registry,
      apiToken: this.apiToken,
      health: () => ({
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        devices: this.registry.list().length,
        ...(this.cluster ? { cluster: { node: this.cluster.id, leader: this.cluster.isLeader } } : {}),
      }),
      connectionsOf: (id) => this.broker.connectionsOf(id),
      rules: {
        alerts: this.alerts,
        gating: this.gating,
        registry: this.registry,
        catalog: () => this.rules.rules?.catalog,
        zones: (estate) => this.rules.zones(estate),
        teams: () => this.estate.dispatch.teams.map((t) => t.id),
      },
      auth: this.auth,
      live: this.live,
      connectors: this.connectors,
      forwardTo: config.cluster
        ? () => (this.cluster?.isLeader ? undefined : (this.cluster?.leaderUrl() ?? null))
        : undefined,
    })
    this.tailer = this.sharedLog
      ? new Tailer({
          log: this.sharedLog,
          bus: this.bus,
          deviceOf: (id) => this.registry.get(id),
          logger: this.log.child({ feature: 'shared log' }),
        })
      : undefined
    this.cluster =
      config.cluster && this.sharedLog
        ? new ClusterNode({
            config: config.cluster,
            db: this.db,
            bus: this.bus,
            log: this.log.child({ feature: 'cluster' }),
            shared: this.sharedLog,
            httpUrl: () => this.nodeUrl(),
            metrics: this.metrics,
            position: () => this.tailer?.position ?? { segment: 0, offset: 0 },
            onLeader: () => this.lead(),
            onLost: (err) => this.onLost(err),
          })
        : undefined
    this.realtime = new Realtime({
      httpServer: this.http.server,
      auth: this.auth,
      bus: this.bus,
      live: this.live,
      registry: this.registry,
      log: this.log.child({ feature: 'realtime' }),
      membersOf: (username) => this.dispatch.membersOf(username),
      cluster: config.cluster && { ...config.cluster, baseTopic: config.baseTopic },
    })
    this.broker = new Broker({
      config,
      topics: this.topics,
      registry: this.registry,
      bus: this.bus,
      metrics: this.metrics,
      log: this.log.child({ feature: 'broker' }),
      httpServer: this.http.server,
      auth: this.auth,
      unavailable: () => this.gate.unavailable(),
      onPublish: (deviceId, msg) => {
        const ok = this.ingest.handle(deviceId, msg, clock.now())
        // QoS 1: PUBACK once durable. QoS 0 is journalled in the same commit and waits for it only
        // while the journal falls behind (backpressure: the broker reads that socket again after).
        const durable = ok && (msg.qos > 0 || this.gate.behind()) ? this.gate.durable() : undefined
        return durable ?? ok
      },
    })
  }

  /** Teams, roster and routing of the estate file. */
  get dispatchConfig(): DispatchConfig {
    return this.estate.dispatch
  }

  get reportsConfig(): ReportsConfig | undefined {
    return this.estate.reports
  }

  /**
   * The features in start order; they stop in reverse. Each names itself, so one failing to start or
   * stop is logged here with its name.
   */
  private features(): Feature[] {
    const { config, estate } = this
    const single = !this.cluster
    return [
      // Nodes of a cluster starting together: one at a time through the store's first writes (the
      // estate file, the first admin), so the second finds them done.
      ...(single ? [] : [{ name: 'cluster start lock', start: () => this.startLock(true) }]),
      { name: 'registry', start: () => this.registry.start(), stop: () => this.registry.stop() },
      // Users in the estate file may name a crew team: auth's tables must exist before it is applied.
      { name: 'auth tables', start: () => this.auth.open() },
      { name: 'estate', start: () => this.applyEstate() },
      {
        name: 'alerts',
        start: () => {
          this.alerts.start()
          this.gating.start()
        },
      },
      // Validates the estate overrides against the alert catalogue; the rules subscribe to the bus here.
      // In a cluster the leader alone runs these (lead()).
      ...(single
        ? [
            { name: 'rules', start: () => this.rules.start(estate.overrides), stop: () => this.rules.stop() },
            {
              name: 'dispatch',
              start: () => this.dispatch.start(estate.dispatch),
              stop: () => this.dispatch.stop(),
            },
            {
              name: 'reports',
              start: () => this.reports.start(estate.reports),
              stop: () => this.reports.stop(),
            },
          ]
        : [
            {
              name: 'rules (follower copy)',
              start: () => this.shadowRules?.start(estate.overrides),
              stop: () => this.shadowRules?.stop(),
            },
            {
              name: 'dispatch teams',
              start: () => {
                this.dispatch.configure(estate.dispatch)
                // Every node works the outbox; the leader's worker alone announces what followers
                // settled and knows scheduled reports' recipients (lead() switches this one over).
                this.dispatch.outbox.open()
                this.dispatch.outbox.start({ follower: true })
              },
              stop: () => this.dispatch.outbox.stop(),
            },
          ]),
      { name: 'site plans', start: () => this.plans.start() },
      {
        name: 'api token',
        start: () => {
          this.generatedApiToken = this.apiToken.ensure(config.apiToken)
        },
      },
      // The journal keeps what the rules have not persisted yet; they re-apply it before live traffic.
      { name: 'journal', start: () => this.gate.start(this.rules.keepFrom()), stop: () => this.gate.stop() },
      ...(single
        ? [
            { name: 'history', start: () => this.history.start(), stop: () => this.history.stop() },
            { name: 'rules catch-up', start: () => this.rules.catchUp(this.gate) },
          ]
        : []),
      {
        name: 'logins',
        start: async () => {
          this.auth.start()
          this.generatedAdminPassword = await this.auth.users.ensureAdmin(this.adminPassword)
        },
        stop: () => this.auth.stop(),
      },
      ...(single ? [] : [{ name: 'cluster start unlock', start: () => this.startLock(false) }]),
      {
        name: 'live state',
        start: () => {
          this.live.seed(this.alerts.openAlerts())
          this.live.start()
        },
        stop: () => this.live.stop(),
      },
      // After the journal and the rules' catch-up (what a network server queued arrives into a ready hub),
      // before HTTP (pushes find their store of seen uplinks open).
      { name: 'connectors', start: () => this.connectors.start(single), stop: () => this.connectors.stop() },
      {
        name: 'http',
        start: async () => {
          await this.http.listen({ port: config.http.port, host: config.http.host })
        },
        stop: () => this.http.close(),
      },
      // socket.io on the listening server; it closes its sockets first, or HTTP's close would wait on them.
      { name: 'realtime', start: () => this.realtime.start(), stop: () => this.realtime.stop() },
      { name: 'broker', start: () => this.broker.start(), stop: () => this.broker.stop() },
      // Last: this node reads the shared log into its bus, joins, and leads when it gets the lock.
      ...(single
        ? []
        : [
            {
              name: 'cluster',
              start: async () => {
                this.tailer!.start(this.sharedLog!.previousEnd())
                await this.cluster!.start()
              },
              stop: () => this.leave(),
            },
          ]),
    ]
  }

  /**
   * This node got the cluster's lock: pause the shared log's reader, bring the rules up from their
   * persisted state and replay the log from their position up to where the reader stopped (the dead
   * leader's last second; timers due meanwhile fire at their time), start dispatch, reports, history
   * and the LoRaWAN connectors, then let the reader go on.
   */
  private async lead(): Promise<void> {
    const { estate } = this
    const log = this.sharedLog!
    const upTo = await this.tailer!.pause()
    this.shadowRules?.stop()
    this.rules.start(estate.overrides)
    await this.rules.catchUp({
      previousEnd: () => upTo,
      hold: () => {},
      replay: (from, deviceOf, onEvent) =>
        log.replay(
          from,
          (line, end) => {
            const e = decodeRecord(line, end, deviceOf)
            if (e) onEvent(e)
          },
          upTo,
        ),
    })
    this.dispatch.start(estate.dispatch)
    this.reports.start(estate.reports)
    this.history.start()
    this.connectors.startLora()
    this.leaderStarted = true
    this.tailer!.start(upTo)
    // What the rules persisted and history shipped is no longer needed in Redis.
    this.trimTimer = setInterval(() => {
      const kept = this.rules.keepFrom()
      if (kept) void log.trim(kept).catch(() => {})
    }, 60_000)
    this.trimTimer.unref()
  }

  /**
   * Leave the cluster: stop reading the log, stop what the leader ran (the rules' last flush happens
   * here, under the lock), then hand the lock over — in that order, or a successor could load the
   * rule state before this node's last write of it.
   */
  private async leave(): Promise<void> {
    clearInterval(this.trimTimer)
    await this.tailer?.stop()
    if (this.leaderStarted) {
      this.leaderStarted = false
      await this.history.stop()
      this.reports.stop()
      await this.dispatch.stop()
      this.rules.stop()
    }
    await this.cluster?.stop()
  }

  /** A session lock serialising the nodes' start-up writes (cluster mode, PostgreSQL). */
  private startLock(take: boolean): void {
    this.db.prepare(take ? 'SELECT pg_advisory_lock(?)' : 'SELECT pg_advisory_unlock(?)').get(STARTUP_LOCK)
  }

  /** Where the other nodes reach this node's HTTP (ZHIAN_NODE_URL, else this host and port). */
  nodeUrl(): string {
    const given = this.config.cluster?.nodeUrl
    if (given) return given
    const host = this.config.http.host
    const name = ['0.0.0.0', '::'].includes(host) ? os.hostname() : host.includes(':') ? `[${host}]` : host
    return `${this.config.http.tls ? 'https' : 'http'}://${name}:${this.httpPort}`
  }

  async start(): Promise<void> {
    for (const feature of this.features()) {
      try {
        await feature.start()
      } catch (err) {
        this.log.error({ err, feature: feature.name }, 'a feature failed to start: stopping the others')
        await this.stop()
        throw err
      }
      this.started.push(feature)
    }
    this.log.info(
      { mqtt: this.broker.mqttPort, mqtts: this.broker.tlsPort, http: this.httpPort },
      'hub started',
    )
  }

  /** Graceful, in reverse order: MQTT closes first (devices hear `offline`), the store last. */
  async stop(): Promise<void> {
    for (const feature of this.started.splice(0).reverse()) {
      try {
        await feature.stop?.()
      } catch (err) {
        this.log.error({ err, feature: feature.name }, 'a feature failed to stop')
      }
    }
    if (this.db.open) {
      this.db.close()
      this.log.info('hub stopped')
    }
  }

  private async applyEstate(): Promise<void> {
    if (!this.estate.file) return
    await this.registry.applyEstate(this.estate.file)
  }

  /** Links in notifications and reports: ZHIAN_PUBLIC_URL, else this host (localhost for a wildcard bind). */
  linkBase(): string {
    if (this.config.publicUrl) return this.config.publicUrl
    const host = this.config.http.host
    return `${this.config.http.tls ? 'https' : 'http'}://${['0.0.0.0', '::'].includes(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${this.httpPort}`
  }

  get httpPort(): number {
    const addr = this.http.server.address()
    return typeof addr === 'object' && addr ? addr.port : 0
  }
}

/** Advisory lock key of the nodes' start-up (src/cluster/cluster.ts has the leader's). */
const STARTUP_LOCK = 0x7a68690002

/** One feature of the hub, as the composition root starts and stops it. */
interface Feature {
  name: string
  start: () => unknown
  stop?: () => unknown
}

/** The estate file's content, frozen: every feature reads its part from here. */
export interface EstateContext {
  file: EstateFile | undefined
  overrides: EstateFile['overrides']
  dispatch: DispatchConfig
  reports: ReportsConfig | undefined
  connectors: NonNullable<EstateFile['connectors']>
}

function loadEstate(config: HubConfig, log: Logger): EstateContext {
  if (!config.estateFile)
    return Object.freeze({
      file: undefined,
      overrides: {},
      dispatch: NO_DISPATCH,
      reports: undefined,
      connectors: [],
    })
  const file = loadEstateFile(config.estateFile)
  log.info({ file: config.estateFile, devices: file.devices.length }, 'estate file loaded')
  return Object.freeze({
    file,
    overrides: file.overrides,
    dispatch: { teams: file.teams, roster: file.roster, routing: file.routing },
    reports: file.reports,
    connectors: file.connectors,
  })
}

const NO_DISPATCH: DispatchConfig = { teams: [], roster: [], routing: [] }
