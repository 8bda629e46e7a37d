import fs from 'node:fs'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Device } from '../core/bus.ts'
import { type Logger, LogLimit } from '../util/logger.ts'
import type { ChirpStackConfig, TtsConfig } from './config.ts'
import type { Pipeline } from './pipeline.ts'
import {
  chirpstackDownlink,
  chirpstackDownTopic,
  chirpstackTopics,
  parseChirpstack,
} from './platforms/chirpstack.ts'
import { parseTts, ttsTopic } from './platforms/tts.ts'

/**
 * A LoRaWAN network server's MQTT integration (ChirpStack v4, The Things Stack v3): zhian is an MQTT
 * client of the network server's broker. A fixed client id and a persistent session (clean: false)
 * at QoS 1 make the broker keep what it published while zhian was down and deliver it after the
 * restart ([MQTT-3.1.2-4], [MQTT-4.4.0-1]); each PUBACK waits until the uplink is in the journal, so
 * an uplink the hub did not keep is delivered again. Reconnects forever, backing off to a minute.
 */

const FIRST_RETRY_MS = 1000
const LAST_RETRY_MS = 60_000

export class LoraConnector {
  private client: MqttClient | undefined
  private retryMs = FIRST_RETRY_MS
  /** A network server that stays unreachable logs one line a minute, with a count. */
  private readonly failures = new LogLimit('network server connection failed', 60_000)

  constructor(
    readonly config: ChirpStackConfig | TtsConfig,
    private readonly pipeline: Pipeline,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false
  }

  /** Starts connecting; the network server may be unreachable now: the client keeps trying. */
  start(): void {
    const c = this.config
    const options: IClientOptions = {
      clientId: c.client_id ?? `zhian-${c.id}`,
      clean: false,
      protocolVersion: 4,
      keepalive: 30,
      reconnectPeriod: FIRST_RETRY_MS,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(c.username !== undefined ? { username: c.username } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
      ...(c.ca ? { ca: fs.readFileSync(c.ca) } : {}),
      ...(c.cert ? { cert: fs.readFileSync(c.cert) } : {}),
      ...(c.key ? { key: fs.readFileSync(c.key) } : {}),
      rejectUnauthorized: c.reject_unauthorized,
    }
    const client = mqtt.connect(c.url, options)
    this.client = client
    // PUBACK once the uplink is durable (or refused for good): mqtt.js sends it when `done` is called.
    client.handleMessage = (packet, done) => {
      void this.onMessage(packet.topic, packet.payload as Buffer).then((ack) => {
        if (ack) return done()
        // The journal cannot take it: no PUBACK; the broker redelivers on the next connection.
        client.stream.destroy()
      })
    }
    client.on('connect', (connack) => {
      this.retryMs = FIRST_RETRY_MS
      client.options.reconnectPeriod = FIRST_RETRY_MS
      this.log.info(
        { connector: c.id, url: withoutCredentials(c.url), resumed: connack.sessionPresent },
        'network server connected',
      )
      client.subscribe(this.topics(), { qos: 1 }, (err) => {
        if (err)
          this.log.warn({ connector: c.id, err: err.message }, 'network server refused the subscription')
      })
    })
    client.on('close', () => {
      client.options.reconnectPeriod = this.retryMs
      this.retryMs = Math.min(LAST_RETRY_MS, this.retryMs * 2)
    })
    client.on('error', (err) => {
      this.failures.note(this.log, { connector: c.id, url: withoutCredentials(c.url), err: err.message })
    })
  }

  async stop(): Promise<void> {
    const client = this.client
    this.client = undefined
    // Not a clean session: the broker keeps the subscription and queues uplinks until the next start.
    await client?.endAsync()
  }

  /** A downlink to a ChirpStack device (`…/command/down`); The Things Stack's is not supported. */
  async downlink(device: Device, bytes: Buffer, fPort: number): Promise<boolean> {
    const eui = device.identity?.dev_eui
    if (this.config.type !== 'chirpstack' || !eui || !this.client?.connected) return false
    await this.client.publishAsync(
      chirpstackDownTopic(this.config.application_id, eui),
      chirpstackDownlink(eui, bytes, fPort),
      { qos: 1 },
    )
    return true
  }

  private topics(): string[] {
    const c = this.config
    return c.type === 'chirpstack'
      ? chirpstackTopics(c.application_id)
      : [ttsTopic(c.application_id, c.tenant_id)]
  }

  /** True when the message may be acknowledged: taken in, a duplicate, or refused for good. */
  private async onMessage(topic: string, payload: Buffer): Promise<boolean> {
    const c = this.config
    const parsed = c.type === 'chirpstack' ? parseChirpstack(topic, payload) : parseTts(topic, payload)
    if ('error' in parsed) {
      this.pipeline.count(c.id, 'ZHIAN_ERR_PUSH_INVALID')
      this.log.info(
        { connector: c.id, topic: topic.slice(0, 200), err: parsed.error },
        'network server message refused',
      )
      return true
    }
    for (const up of parsed.uplinks) {
      const outcome = await this.pipeline.take(c, up)
      if (outcome.status === 'refused' && outcome.error.status >= 500) return false
    }
    return true
  }
}

/** A broker URL for the log: credentials written into it (`mqtt://user:pass@host`) are never logged. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}
