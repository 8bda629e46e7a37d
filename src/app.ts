import type { FastifyInstance } from 'fastify'
import { Broker } from './broker/broker.ts'
import type { HubConfig } from './config/env.ts'
import { type EstateFile, loadEstateFile } from './config/estate-file.ts'
import { Bus } from './core/bus.ts'
import { Metrics } from './core/metrics.ts'
import { ApiToken } from './http/api-token.ts'
import { buildHttp } from './http/server.ts'
import { Ingest } from './ingest/ingest.ts'
import { Topics } from './mqtt/topics.ts'
import { Registry } from './registry/registry.ts'
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
  readonly ingest: Ingest
  readonly http: FastifyInstance
  readonly broker: Broker
  /** Overrides from the estate file, for the rule engine. */
  overrides: EstateFile['overrides'] = {}
  /** A token generated at this start; main prints it once. */
  generatedApiToken: string | undefined
  private readonly startedAt = Date.now()

  constructor(readonly config: HubConfig) {
    this.log = createLogger(config.logLevel)
    this.topics = new Topics(config.baseTopic)
    this.db = openDb(config.dataDir)
    this.registry = new Registry(this.db, this.bus)
    this.apiToken = new ApiToken(this.db)
    this.ingest = new Ingest({
      registry: this.registry,
      bus: this.bus,
      metrics: this.metrics,
      topics: this.topics,
      log: this.log.child({ feature: 'ingest' }),
      maxPayloadBytes: config.maxPayloadBytes,
      reply: (topic, payload) => void this.broker.publish(topic, payload, { qos: 0, retain: false }),
    })
    this.http = buildHttp({
      log: this.log,
      metrics: this.metrics,
      registry: this.registry,
      apiToken: this.apiToken,
      health: () => ({
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        devices: this.registry.list().length,
      }),
      connectionsOf: (id) => this.broker.connectionsOf(id),
    })
    this.broker = new Broker({
      config,
      topics: this.topics,
      registry: this.registry,
      bus: this.bus,
      metrics: this.metrics,
      log: this.log.child({ feature: 'broker' }),
      httpServer: this.http.server,
      onPublish: (deviceId, msg) => this.ingest.handle(deviceId, msg),
    })
  }

  async start(): Promise<void> {
    this.registry.start()
    if (this.config.estateFile) {
      const estate = loadEstateFile(this.config.estateFile)
      await this.registry.applyEstate(estate)
      this.overrides = estate.overrides
      this.log.info({ file: this.config.estateFile, devices: estate.devices.length }, 'estate file loaded')
    }
    this.generatedApiToken = this.apiToken.ensure(this.config.apiToken)
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
    await this.http.close()
    this.registry.stop()
    this.db.close()
    this.log.info('hub stopped')
  }

  get httpPort(): number {
    const addr = this.http.server.address()
    return typeof addr === 'object' && addr ? addr.port : 0
  }
}
