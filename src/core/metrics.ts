import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/** Prometheus metrics of one hub (its own registry, so several hubs can live in one test process). */
export class Metrics {
  readonly registry = new Registry()
  readonly connections = new Gauge({
    name: 'zhian_mqtt_connections',
    help: 'Open MQTT connections',
    registers: [this.registry],
  })
  readonly connectRefused = new Counter({
    name: 'zhian_mqtt_connect_refused_total',
    help: 'CONNECTs refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly messagesIn = new Counter({
    name: 'zhian_mqtt_messages_in_total',
    help: 'Device messages accepted, by kind and topic suffix',
    labelNames: ['kind', 'suffix'] as const,
    registers: [this.registry],
  })
  readonly messagesRejected = new Counter({
    name: 'zhian_mqtt_messages_rejected_total',
    help: 'Device messages rejected, by reason (error code) and kind',
    labelNames: ['reason', 'kind'] as const,
    registers: [this.registry],
  })
  readonly subscribeRefused = new Counter({
    name: 'zhian_mqtt_subscribe_refused_total',
    help: 'SUBSCRIBE requests refused by the ACL',
    registers: [this.registry],
  })
  readonly rateLimited = new Counter({
    name: 'zhian_mqtt_rate_limited_total',
    help: 'Messages held back because their device exceeded its rate cap',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'zhian_' })
  }
}
