import type { HistoryConfig } from '../config/env.ts'
import type { Bus } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { ZhianError } from '../errors.ts'
import type { JournalLike } from '../journal/journal.ts'
import type { RuleSignal } from '../rules/engine.ts'
import type { Logger } from '../util/logger.ts'
import { InfluxV1Writer } from './influx-v1.ts'
import { InfluxV2Writer } from './influx-v2.ts'
import { PointMapper } from './schema.ts'
import { Shipper } from './shipper.ts'
import type { PointWriter } from './writer.ts'

/**
 * The history feature: ships the journal's point records to InfluxDB (the shipper; device messages
 * are journalled by the ingest gate, src/ingest/gate.ts), journals alert transitions from the hub
 * bus as points too, and warns while the unshipped backlog grows (`hub.history_backlog`).
 */

export interface HistoryContext {
  history: HistoryConfig | undefined
  /** The gate's journal (undefined with the journal off): the shipper reads it, alert points go in. */
  journal: JournalLike | undefined
  /** The hub bus: alert transitions come in from here. */
  bus: Bus
  metrics: Metrics
  log: Logger
  /**
   * The backlog crossed 80 % of its limit ('filling', once per episode), records were dropped at the
   * limit ('dropping'), or it fell back under 50 % after a warning ('cleared').
   */
  onBacklogWarning?: (info: BacklogWarning) => void
}

export interface BacklogWarning {
  level: 'filling' | 'dropping' | 'cleared'
  backlogBytes: number
  limitBytes: number
}

/** The hub's own `hub.history_backlog` warning alert, as a signal for the alert store. */
export function backlogAlert(w: BacklogWarning, at: number): RuleSignal {
  const mb = (n: number) => `${Math.round(n / 1024 ** 2)} MB`
  const dropping = w.level === 'dropping'
  return {
    op: w.level === 'cleared' ? 'clear' : 'raise',
    alert: 'hub.history_backlog',
    kind: 'hub',
    subject: 'hub',
    device: undefined,
    // The hub is above every estate: only a global scope sees this alert.
    site: { street: undefined, community: undefined, estate: null as unknown as string, building: undefined },
    severity: 'warning',
    latched: false,
    crew: 'property_duty',
    title: { zh: '历史数据积压', en: 'History backlog filling up' },
    message: {
      zh: `InfluxDB 未能及时写入,待写数据 ${mb(w.backlogBytes)} / 上限 ${mb(w.limitBytes)}${dropping ? ',最早的数据已被丢弃' : ''}`,
      en: `InfluxDB is not keeping up: ${mb(w.backlogBytes)} of ${mb(w.limitBytes)} waiting${dropping ? '; the oldest records were dropped' : ''}`,
    },
    values: { backlog_bytes: w.backlogBytes, limit_bytes: w.limitBytes, dropping },
    at,
    suppressed: null,
    retrigger: dropping,
  }
}

const WARN_AT = 0.8
const CLEAR_AT = 0.5

export class History {
  readonly writer: PointWriter | undefined
  private readonly shipper: Shipper | undefined
  /** Alert transitions' points (device messages are mapped by the gate, which owns their records). */
  private readonly mapper = new PointMapper()
  private readonly limit: number
  private readonly unsubscribe: (() => void)[] = []
  private warned = false
  private warnedDropping = false

  constructor(private readonly ctx: HistoryContext) {
    const h = ctx.history
    const journal = ctx.journal
    this.limit = journal?.backlogLimitBytes ?? 0
    if (h) {
      this.writer =
        h.api === 'v2'
          ? new InfluxV2Writer({
              url: h.url,
              org: h.org,
              bucket: h.bucket,
              token: h.token,
              timeoutMs: h.timeoutMs,
            })
          : new InfluxV1Writer({
              url: h.url,
              database: h.database,
              username: h.username,
              password: h.password,
              retention: h.retention,
              timeoutMs: h.timeoutMs,
            })
    }
    if (!journal) {
      // configFromEnv refuses this pairing; a hand-built config must not get a silent "history on".
      if (h) throw new ZhianError('ZHIAN_ERR_ENV_INVALID', 'history (InfluxDB) needs the journal on or auto')
      return
    }
    const metrics = ctx.metrics
    journal.observe({
      onBacklog: (bytes) => this.backlog(bytes),
      onDrop: (bytes) => this.dropped(bytes),
    })
    this.shipper = new Shipper({
      journal,
      writer: this.writer,
      batchSize: h?.batchSize ?? 5000,
      intervalMs: h?.batchIntervalMs ?? 1000,
      backoff: h?.backoff ?? { minMs: 200, maxMs: 30_000 },
      log: ctx.log,
      onWritten: (n) => metrics.historyPointsWritten.inc(n),
      onRejected: (n) => metrics.historyDropped.inc({ reason: 'rejected' }, n),
      onFailure: () => metrics.historyWriteFailures.inc(),
    })
  }

  /** After the journal started (the gate's start()). */
  start(): void {
    const { bus, log, metrics, journal } = this.ctx
    metrics.historyBacklogLimitBytes.set(journal ? this.limit : 0)
    if (!this.writer)
      log.info('history is off: set ZHIAN_INFLUX_URL to keep telemetry and alerts in InfluxDB')
    else log.info({ influx: this.writer.description }, 'history on')
    if (journal) this.backlog(journal.backlogBytes())
    this.unsubscribe.push(
      // Not awaited: the alert store has already committed the transition to SQLite and cannot wait
      // for the disk here. A crash before the next group commit (one commit, typically a few ms)
      // loses that alert_event point only; the alert and its audit trail are in SQLite.
      bus.on('alert', ({ alert, entry }) => {
        journal?.append(JSON.stringify(this.mapper.alert(alert, entry)))
      }),
    )
    this.shipper?.start()
  }

  /** Before the journal stops. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off()
    await this.shipper?.stop()
    await this.writer?.close()
  }

  private dropped(bytes: number): void {
    const { metrics, log } = this.ctx
    metrics.historyDropped.inc({ reason: 'backlog_full_bytes' }, bytes)
    // Log and alert once per episode: an outage must not flood the log or the alert's audit trail.
    if (this.warnedDropping) return
    this.warnedDropping = true
    log.error(
      { droppedBytes: bytes, limitBytes: this.limit },
      'history backlog full: the oldest unshipped readings are being dropped from the journal',
    )
    this.ctx.onBacklogWarning?.({
      level: 'dropping',
      backlogBytes: this.ctx.journal!.backlogBytes(),
      limitBytes: this.limit,
    })
  }

  private backlog(bytes: number): void {
    this.ctx.metrics.historyBacklogBytes.set(bytes)
    // No limit (a cluster's shared log, held in Redis until shipped): nothing to warn about.
    if (this.limit <= 0) return
    if (!this.warned && bytes >= this.limit * WARN_AT) {
      this.warned = true
      this.ctx.log.warn(
        { backlogBytes: bytes, limitBytes: this.limit },
        'history backlog is filling: InfluxDB is not keeping up or unreachable',
      )
      this.ctx.onBacklogWarning?.({ level: 'filling', backlogBytes: bytes, limitBytes: this.limit })
    } else if (this.warned && bytes < this.limit * CLEAR_AT) {
      this.warned = false
      this.warnedDropping = false
      this.ctx.log.info({ backlogBytes: bytes }, 'history backlog is draining normally again')
      this.ctx.onBacklogWarning?.({ level: 'cleared', backlogBytes: bytes, limitBytes: this.limit })
    }
  }
}
