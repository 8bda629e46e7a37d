import type { FastifyInstance } from 'fastify'
import { Gating } from './alerts/gating.ts'
import { AlertStore } from './alerts/store.ts'
import { ApiToken } from './auth/api-token.ts'
import { Auth } from './auth/auth.ts'
import { Broker } from './broker/broker.ts'
import type { HubConfig } from './config/env.ts'
import { type EstateFile, loadEstateFile } from './config/estate-file.ts'
import { Bus } from './core/bus.ts'
import { type Clock, RealClock } from './core/clock.ts'
import { Metrics } from './core/metrics.ts'
import type { DispatchConfig } from './dispatch/config.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import { backlogAlert, diskFullAlert, History } from './history/history.ts'
import { buildHttp } from './http/server.ts'
import { Ingest } from './ingest/ingest.ts'
import { LiveState } from './live/live-state.ts'
import { Topics } from './mqtt/topics.ts'
import { Realtime } from './realtime/realtime.ts'
import { Registry } from './registry/registry.ts'
import type { ReportsConfig } from './reports/config.ts'
import { ReportService } from './reports/service.ts'
import { RuleService } from './rules/service.ts'
import { type Db, openDb } from './store/db.ts'
import { createLogger, type Logger } from './util/logger.ts'

/**
 * The composition root: builds every collaborator (constructors do no I/O), then starts and stops
 * the features in order. main.ts is the process around it; tests build hubs with this directly.
 */
export class Hub {
  readonly log: Logger
  readonly bus = new Bus()
  readonly metrics = new Metrics()
  readonly topics: Topics
  readonly db: Db
  readonly registry: Registry
  readonly apiToken: ApiToken
  readonly auth: Auth
  readonly live: LiveState
  readonly realtime: Realtime
  readonly ingest: Ingest
  /** Durable journal before the PUBACK, and InfluxDB history. */
  readonly history: History
  readonly http: FastifyInstance
  readonly broker: Broker
  /** Alert lifecycle store, silences/maintenance gating and the rule engine (issue 4). */
  readonly alerts: AlertStore
  readonly gating: Gating
  readonly rules: RuleService
  /** Work orders, routing, notifications and escalation (issue 7). */
  readonly dispatch: Dispatcher
  dispatchConfig: DispatchConfig = { teams: [], roster: [], routing: [] }
  /** One-click reports and their schedule (issue 9). */
  readonly reports: ReportService
  reportsConfig: ReportsConfig | undefined
  /** Overrides from the estate file, for the rule engine. */
  overrides: EstateFile['overrides'] = {}
  /** A token generated at this start; main prints it once. */
  generatedApiToken: string | undefined
  /** Password of the `admin` user created at first start; main prints it once. */
  generatedAdminPassword: string | undefined
  /** `ZHIAN_ADMIN_PASSWORD`: the first admin's password instead of a random one (set by main before start). */
  adminPassword: string | undefined
  private readonly startedAt = Date.now()

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
    this.topics = new Topics(config.baseTopic)
    this.db = openDb(config.dataDir)
    this.registry = new Registry(this.db, this.bus)
    this.apiToken = new ApiToken(this.db)
    this.auth = new Auth(this.db, this.apiToken, this.log.child({ feature: 'auth' }))
    this.live = new LiveState(this.bus, this.registry, now, (estate) => this.rules.zones(estate))
    this.history = new History({
      history: config.history,
      journal: config.journal,
      dataDir: config.dataDir,
      bus: this.bus,
      metrics: this.metrics,
      log: this.log.child({ feature: 'history' }),
      // The hub's own warning alert while InfluxDB falls behind (`hub.history_backlog`).
      onBacklogWarning: (w) => this.alerts.apply(backlogAlert(w, now())),
      // `hub.disk_full` while the journal cannot write (the store may be on the same disk: best effort).
      onDiskFull: (full) => {
        try {
          this.alerts.apply(diskFullAlert(full, now()))
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'hub.disk_full could not be stored')
        }
      },
    })
    this.ingest = new Ingest({
      registry: this.registry,
      // Validated events reach the hub bus through the journal, once durable.
      bus: this.history.ingestBus,
      metrics: this.metrics,
      topics: this.topics,
      log: this.log.child({ feature: 'ingest' }),
      maxPayloadBytes: config.maxPayloadBytes,
      tsWindow: config.tsWindow,
      reply: (topic, payload) => void this.broker.publish(topic, payload, { qos: 0, retain: false }),
    })
    this.alerts = new AlertStore({
      db: this.db,
      bus: this.bus,
      log: this.log.child({ feature: 'alerts' }),
      now,
      publish: (alert, entry) => {
        this.broker
          .publish(this.topics.hub('alert'), JSON.stringify({ ...alert, event: entry }), {
            qos: 1,
            retain: false,
          })
          .catch((err: Error) => this.log.warn({ err: err.message }, 'alert publish failed'))
      },
    })
    this.gating = new Gating(this.db, now)
    this.rules = new RuleService({
      db: this.db,
      bus: this.bus,
      registry: this.registry,
      alerts: this.alerts,
      gates: this.gating,
      log: this.log.child({ feature: 'rules' }),
      clock,
    })
    this.dispatch = new Dispatcher({
      db: this.db,
      bus: this.bus,
      alerts: this.alerts,
      metrics: this.metrics,
      log: this.log.child({ feature: 'dispatch' }),
      clock,
      linkBase: () => this.linkBase(),
      retry: config.notifyTimeoutMs ? { timeoutMs: config.notifyTimeoutMs } : undefined,
    })
    this.reports = new ReportService({
      db: this.db,
      registry: this.registry,
      overrides: () => this.overrides,
      history: config.history,
      tz: config.reportTz,
      log: this.log.child({ feature: 'reports' }),
      outbox: this.dispatch.outbox,
      teams: () => this.dispatchConfig.teams,
      linkBase: () => this.linkBase(),
    })
    this.http = buildHttp({
      http: config.http,
      dispatch: this.dispatch,
      reports: this.reports,
      log: this.log,
      metrics: this.metrics,
      registry: this.registry,
      apiToken: this.apiToken,
      health: () => ({
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        devices: this.registry.list().length,
      }),
      connectionsOf: (id) => this.broker.connectionsOf(id),
      rules: {
        alerts: this.alerts,
        gating: this.gating,
        registry: this.registry,
        catalog: () => this.rules.rules?.catalog,
        zones: (estate) => this.rules.zones(estate),
        teams: () => this.dispatchConfig.teams.map((t) => t.id),
      },
      auth: this.auth,
      live: this.live,
    })
    this.realtime = new Realtime({
      httpServer: this.http.server,
      auth: this.auth,
      bus: this.bus,
      live: this.live,
      registry: this.registry,
      log: this.log.child({ feature: 'realtime' }),
      membersOf: (username) => this.dispatch.membersOf(username),
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
      unavailable: () => this.history.unavailable(),
      onPublish: (deviceId, msg) => {
        const ok = this.ingest.handle(deviceId, msg, clock.now())
        // QoS 1: PUBACK once durable. QoS 0 is journalled in the same commit and waits for it only
        // while the journal falls behind (backpressure: the broker reads that socket again after).
        const durable = ok && (msg.qos > 0 || this.history.behind()) ? this.history.durable() : undefined
        return durable ?? ok
      },
    })
  }

  async start(): Promise<void> {
    this.registry.start()
    // Users in the estate file may name a crew team: auth's column must exist before the file is applied.
    this.auth.open()
    if (this.config.estateFile) {
      const estate = loadEstateFile(this.config.estateFile)
      await this.registry.applyEstate(estate)
      this.overrides = estate.overrides
      this.dispatchConfig = { teams: estate.teams, roster: estate.roster, routing: estate.routing }
      this.reportsConfig = estate.reports
      this.log.info({ file: this.config.estateFile, devices: estate.devices.length }, 'estate file loaded')
    }
    this.alerts.start()
    this.gating.start()
    // Validates the estate overrides against the alert catalogue; the rule engine subscribes to the bus here.
    this.rules.start(this.overrides)
    this.dispatch.start(this.dispatchConfig)
    this.reports.start(this.reportsConfig)
    this.generatedApiToken = this.apiToken.ensure(this.config.apiToken)
    // The journal keeps what the rules have not persisted yet; they re-apply it before live traffic.
    await this.history.start(this.rules.keepFrom())
    await this.rules.catchUp(this.history)
    this.auth.start()
    this.generatedAdminPassword = await this.auth.users.ensureAdmin(this.adminPassword)
    this.live.seed(this.alerts.openAlerts())
    this.live.start()
    this.realtime.start()
    await this.http.listen({ port: this.config.http.port, host: this.config.http.host })
    await this.broker.start()
    this.log.info(
      { mqtt: this.broker.mqttPort, mqtts: this.broker.tlsPort, http: this.httpPort },
      'hub started',
    )
  }

  /** Graceful: stop accepting MQTT, announce offline, close clients, close HTTP, close the store. */
  async stop(): Promise<void> {
    await this.broker.stop()
    this.rules.stop()
    this.reports.stop()
    await this.dispatch.stop()
    await this.history.stop()
    await this.realtime.stop()
    await this.http.close()
    this.live.stop()
    this.auth.stop()
    this.registry.stop()
    this.db.close()
    this.log.info('hub stopped')
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
