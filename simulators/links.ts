import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { KindId } from '../devices/index.ts'
import type { Topics, UplinkSuffix } from '../src/mqtt/topics.ts'
import type { Link, PublishOptions } from './device.ts'
import type { Rng } from './rng.ts'

/** What a fleet counts across all its links, for the progress line and the final report. */
export class LinkStats {
  connected = 0
  connects = 0
  published = 0
  /** Replies on the devices' `error` topics: the hub refused a message. */
  rejected = 0
  /** Connection errors (refused CONNACK, socket errors, timeouts). */
  errors = 0
  lastError: string | undefined
  /** Connection errors by message (e.g. "Connection refused: Not authorized"). */
  readonly errorsByMessage = new Map<string, number>()
  readonly rejectedByCode = new Map<string, number>()
}

export interface MqttLinkOptions {
  url: string
  kind: KindId
  id: string
  secret: string
  topics: Topics
  rng: Rng
  stats: LinkStats
  /** Reconnect backoff: full jitter over min(max, base · 2^attempt) ms of wall time. */
  backoff?: { baseMs: number; maxMs: number }
  mqtt?: IClientOptions
  onConnect: () => void
  /** Called once, when the first connection attempt succeeded or failed (for connect pacing). */
  onSettled?: () => void
  onCommand: (values: Record<string, unknown>) => void
  onRejected?: (error: { code: string; message: string; topic: string }) => void
}

/**
 * A device's MQTT 3.1.1 connection (mqtt.js): `offline` as a retained QoS 1 will, its own `set` and
 * `error` subscribed, and reconnects with jittered exponential backoff — mqtt.js only has a fixed
 * `reconnectPeriod` (https://github.com/mqttjs/MQTT.js/issues/561), and a fleet reconnecting in step
 * after a broker restart is exactly the thundering herd the jitter avoids.
 */
export class MqttLink implements Link {
  private client: MqttClient | undefined
  private attempt = 0
  private retry: NodeJS.Timeout | undefined
  private up = false
  private silenced = false
  private stopped = false
  private settled = false

  constructor(private readonly o: MqttLinkOptions) {}

  private settle(): void {
    if (this.settled) return
    this.settled = true
    this.o.onSettled?.()
  }

  get connected(): boolean {
    return this.up
  }

  private topic(suffix: 'state' | 'event' | 'availability' | 'info' | 'set' | 'error'): string {
    return this.o.topics.device(this.o.kind, this.o.id, suffix)
  }

  start(): void {
    if (this.client) return
    const client = mqtt.connect(this.o.url, {
      protocolVersion: 4,
      clientId: `zhian-sim-${this.o.id}`,
      username: this.o.id,
      password: this.o.secret,
      clean: true,
      keepalive: 60,
      connectTimeout: 30_000,
      reconnectPeriod: 0, // our own backoff, below
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.topic('availability'), payload: Buffer.from('offline'), qos: 1, retain: true },
      ...this.o.mqtt,
    })
    this.client = client
    client.on('connect', () => {
      this.settle()
      this.attempt = 0
      this.up = true
      this.o.stats.connected++
      this.o.stats.connects++
      client.subscribe([this.topic('set'), this.topic('error')], { qos: 1 })
      this.o.onConnect()
    })
    client.on('message', (topic, payload) => this.message(topic, payload))
    client.on('error', (err) => {
      this.o.stats.errors++
      this.o.stats.lastError = `${this.o.id}: ${err.message}`
      this.o.stats.errorsByMessage.set(err.message, (this.o.stats.errorsByMessage.get(err.message) ?? 0) + 1)
    })
    client.on('close', () => {
      this.settle()
      if (this.up) this.o.stats.connected--
      this.up = false
      if (!this.stopped && !this.silenced) this.scheduleReconnect()
    })
  }

  publish(suffix: UplinkSuffix, payload: string, options: PublishOptions): void {
    if (!this.client || !this.up) return
    this.o.stats.published++
    this.client.publish(this.topic(suffix), payload, options)
  }

  /** Publish raw bytes on any topic (the malformed mode). */
  publishRaw(topic: string, payload: string | Buffer, options: PublishOptions): void {
    if (!this.client || !this.up) return
    this.o.stats.published++
    this.client.publish(topic, payload, options)
  }

  /** Lose the connection without DISCONNECT (the broker sends the will), then reconnect with backoff. */
  drop(): void {
    this.client?.stream?.destroy()
  }

  /** Lose the connection and stay silent (a dead gateway) until `resume()`. */
  silence(): void {
    this.silenced = true
    clearTimeout(this.retry)
    this.client?.stream?.destroy()
  }

  resume(): void {
    if (!this.silenced) return
    this.silenced = false
    this.attempt = 0
    this.scheduleReconnect()
  }

  /** Graceful: say `offline` (retained), then DISCONNECT. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retry)
    const client = this.client
    if (!client) return
    if (this.up) {
      await Promise.race([
        client.publishAsync(this.topic('availability'), 'offline', { qos: 1, retain: true }).catch(() => {}),
        new Promise((r) => setTimeout(r, 2000)),
      ])
    }
    await Promise.race([client.endAsync(false).catch(() => {}), new Promise((r) => setTimeout(r, 2000))])
    client.end(true)
  }

  private scheduleReconnect(): void {
    const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 1000, maxMs: 60_000 }
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 30)
    clearTimeout(this.retry)
    this.retry = setTimeout(
      () => {
        if (!this.stopped && !this.silenced && !this.up) this.client?.reconnect()
      },
      this.o.rng.float(0, ceiling),
    )
  }

  private message(topic: string, payload: Buffer): void {
    let body: unknown
    try {
      body = JSON.parse(payload.toString('utf8'))
    } catch {
      return
    }
    if (typeof body !== 'object' || body === null) return
    if (topic === this.topic('set')) this.o.onCommand(body as Record<string, unknown>)
    else if (topic === this.topic('error')) {
      const e = body as { code: string; message: string; topic: string }
      this.o.stats.rejected++
      this.o.stats.rejectedByCode.set(e.code, (this.o.stats.rejectedByCode.get(e.code) ?? 0) + 1)
      this.o.onRejected?.(e)
    }
  }
}

export interface RecordedMessage {
  /** Simulated epoch ms. */
  t: number
  topic: string
  payload: string
  qos: 0 | 1
  retain: boolean
}

/** A link that is always up and writes down what it would have sent: dry runs and timeline checks. */
export class RecordingLink implements Link {
  connected = true

  constructor(
    private readonly o: {
      kind: KindId
      id: string
      topics: Topics
      now: () => number
      sink: (m: RecordedMessage) => void
    },
  ) {}

  publish(suffix: UplinkSuffix, payload: string, options: PublishOptions): void {
    this.o.sink({
      t: this.o.now(),
      topic: this.o.topics.device(this.o.kind, this.o.id, suffix),
      payload,
      qos: options.qos,
      retain: options.retain,
    })
  }
}
