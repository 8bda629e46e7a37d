import fsp from 'node:fs/promises'
import path from 'node:path'
import { KINDS } from '../../devices/index.ts'
import { type HistoryConfig, JOURNAL_DEFAULTS, type JournalConfig } from '../config/env.ts'
import { Bus, type Device, type DeviceMessage } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { ZhianError } from '../errors.ts'
import { Journal, type Position } from '../journal/journal.ts'
import type { RuleSignal } from '../rules/engine.ts'
import { type Logger, LogLimit } from '../util/logger.ts'
import { InfluxV1Writer } from './influx-v1.ts'
import { InfluxV2Writer } from './influx-v2.ts'
import { PointMapper, type PointRecord } from './schema.ts'
import { Shipper } from './shipper.ts'
import type { PointWriter } from './writer.ts'

/**
 * The history feature: ingest emits its validated events on `ingestBus`; each becomes a point
 * record in the durable journal, and only once that record is committed is the event passed on to
 * the hub bus (rules, live state, dashboard) and the QoS 1 PUBACK released (durable()). Alert
 * transitions from the hub bus are journalled too. The shipper moves committed records to InfluxDB.
 * With the journal off, events pass straight through.
 */

export interface HistoryContext {
  history: HistoryConfig | undefined
  journal: Partial<JournalConfig> | undefined
  dataDir: string
  /** The hub bus: events go out here (after commit); alert transitions come in from here. */
  bus: Bus
  metrics: Metrics
  log: Logger
  /**
   * The backlog crossed 80 % of its limit ('filling', once per episode), records were dropped at the
   * limit ('dropping'), or it fell back under 50 % after a warning ('cleared').
   */
  onBacklogWarning?: (info: BacklogWarning) => void
  /** The journal's disk is full (true: a write failed with ENOSPC / EDQUOT) or takes writes again (false). */
  onDiskFull?: (full: boolean) => void
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

/** The hub's own `hub.disk_full` alert: the journal cannot write, so no device message is acknowledged. */
export function diskFullAlert(full: boolean, at: number): RuleSignal {
  return {
    op: full ? 'raise' : 'clear',
    alert: 'hub.disk_full',
    kind: 'hub',
    subject: 'hub',
    device: undefined,
    // The hub is above every estate: only a global scope sees this alert.
    site: { street: undefined, community: undefined, estate: null as unknown as string, building: undefined },
    severity: 'critical',
    latched: false,
    crew: 'property_duty',
    title: { zh: '数据盘已满', en: 'Data disk full' },
    message: {
      zh: '日志无法写入磁盘:设备数据不再被接收,新的设备连接被拒绝。请立即清理数据盘空间',
      en: 'The journal cannot write: device messages are refused and new device connections too. Free disk space now',
    },
    values: {},
    at,
    suppressed: null,
    retrigger: false,
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT'])
/** How often a failing journal tries a write again. */
const PROBE_MS = 2000

/** How much of the previous run's journal tail is scanned for resend detection (~10k records). */
const RESTORE_BYTES = 4 * 1024 ** 2
/** The resend memory restored at start, kept for the next start (see PointMapper.remembered()). */
const RESEND_FILE = 'resend.json'

const WARN_AT = 0.8
const CLEAR_AT = 0.5

/** See behind(): a few group commits' worth at full speed (~0.35 ms per O_DSYNC write). */
const BACKPRESSURE_RECORDS = 4000

export class History {
  /** Ingest's output; forwarded to the hub bus once durable. */
  readonly ingestBus = new Bus()
  readonly journal: Journal | undefined
  readonly writer: PointWriter | undefined
  private readonly shipper: Shipper | undefined
  private readonly mapper: PointMapper
  private readonly limit: number
  private readonly unsubscribe: (() => void)[] = []
  private warned = false
  private warnedDropping = false
  private diskFull = false
  private probe: NodeJS.Timeout | undefined
  private readonly writeFailures = new LogLimit(
    'journal write failed: nothing is acknowledged until it succeeds',
  )

  constructor(private readonly ctx: HistoryContext) {
    const h = ctx.history
    const j = { ...JOURNAL_DEFAULTS, ...ctx.journal }
    this.limit = j.maxBacklogBytes
    this.mapper = new PointMapper()
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
    // `auto` is on: the journal makes a PUBACK durable for the rules (replayed after a crash), not only
    // for InfluxDB.
    const journalOn = j.mode !== 'off'
    if (!journalOn) {
      // configFromEnv refuses this pairing; a hand-built config must not get a silent "history on".
      if (h) throw new ZhianError('ZHIAN_ERR_ENV_INVALID', 'history (InfluxDB) needs the journal on or auto')
      return
    }
    const metrics = ctx.metrics
    this.journal = new Journal({
      dir: path.join(ctx.dataDir, 'journal'),
      maxDelayMs: j.commitDelayMs,
      segmentBytes: j.segmentBytes,
      maxBacklogBytes: j.maxBacklogBytes,
      onBacklog: (bytes) => this.backlog(bytes),
      onCommit: (records) => {
        metrics.journalCommits.inc()
        metrics.journalRecords.inc(records)
      },
      onDrop: (bytes) => {
        metrics.historyDropped.inc({ reason: 'backlog_full_bytes' }, bytes)
        // Log and alert once per episode: an outage must not flood the log or the alert's audit trail.
        if (this.warnedDropping) return
        this.warnedDropping = true
        ctx.log.error(
          { droppedBytes: bytes, limitBytes: this.limit },
          'history backlog full: the oldest unshipped readings are being dropped from the journal',
        )
        ctx.onBacklogWarning?.({
          level: 'dropping',
          backlogBytes: this.journal!.backlogBytes(),
          limitBytes: this.limit,
        })
      },
      onError: (err) => {
        metrics.journalCommitErrors.inc()
        // One line per interval with a count: a full disk fails every commit.
        this.writeFailures.note(ctx.log, { err: err.message, code: (err as NodeJS.ErrnoException).code })
        this.probeUntilWritable()
        if (!this.diskFull && DISK_FULL_CODES.has((err as NodeJS.ErrnoException).code ?? '')) {
          this.diskFull = true
          ctx.onDiskFull?.(true)
        }
      },
      onRecovered: () => {
        clearInterval(this.probe)
        this.probe = undefined
        ctx.log.info('journal writes succeed again')
        if (!this.diskFull) return
        this.diskFull = false
        ctx.onDiskFull?.(false)
      },
      onCallbackError: (err) => ctx.log.error({ err }, 'a listener of a journalled event threw'),
    })
    this.shipper = new Shipper({
      journal: this.journal,
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

  /**
   * `keepFrom`: the journal keeps the previous runs' records from there on for replay(), shipped or
   * not (the rules' persisted position).
   */
  async start(keepFrom?: Position): Promise<void> {
    const { bus, log, metrics } = this.ctx
    metrics.historyBacklogLimitBytes.set(this.journal ? this.limit : 0)
    if (!this.writer)
      log.info('history is off: set ZHIAN_INFLUX_URL to keep telemetry and alerts in InfluxDB')
    else log.info({ influx: this.writer.description }, 'history on')
    if (keepFrom) this.journal?.hold(keepFrom)
    await this.journal?.start()
    if (this.journal) await this.restoreResendMemory()

    const record =
      <T extends { pos?: Position | undefined }>(
        toLine: (payload: T) => string,
        forward: (payload: T) => void,
      ) =>
      (payload: T) => {
        const journal = this.journal
        if (!journal) return forward(payload)
        journal.append(toLine(payload), (end) => {
          payload.pos = end
          forward(payload)
        })
      }
    const ib = this.ingestBus
    const mapper = this.mapper
    this.unsubscribe.push(
      ib.on(
        'reading',
        record(
          (r) => mapper.readingLine(r),
          (p) => bus.emit('reading', p),
        ),
      ),
      ib.on(
        'device_event',
        record(
          (e) => JSON.stringify(mapper.deviceEvent(e)),
          (p) => bus.emit('device_event', p),
        ),
      ),
      ib.on(
        'availability',
        record(
          (a) => JSON.stringify(mapper.availability(a.device, a.online, a.at)),
          (p) => bus.emit('availability', p),
        ),
      ),
      // Device info is not history (the shipper skips a record without `m`), but goes through the
      // journal to keep the order of a device's events and to be replayed into the rules.
      ib.on(
        'device_info',
        record(
          (i) => JSON.stringify({ i: i.info, d: i.device.id, a: i.at }),
          (p) => bus.emit('device_info', p),
        ),
      ),
      // Not awaited: the alert store has already committed the transition to SQLite and cannot wait
      // for the disk here. A crash before the next group commit (one commit, typically a few ms)
      // loses that alert_event point only; the alert and its audit trail are in SQLite.
      bus.on('alert', ({ alert, entry }) => {
        if (!this.journal) return
        this.journal.append(JSON.stringify(this.mapper.alert(alert, entry)))
      }),
    )
    this.shipper?.start()
  }

  /**
   * The previous runs' device messages from `from` on, decoded back into the bus events they were
   * (records of devices no longer registered, and alert records, are skipped). Call after start().
   */
  async replay(
    from: Position,
    deviceOf: (id: string) => Device | undefined,
    onEvent: (e: DeviceMessage) => void,
  ): Promise<number> {
    if (!this.journal) return 0
    let count = 0
    await this.journal.replay(from, (line, end) => {
      const e = decodeRecord(line, end, deviceOf)
      if (!e) return
      count++
      onEvent(e)
    })
    return count
  }

  /** Where the previous runs' journal ends (nothing to replay after it); undefined with the journal off. */
  previousEnd(): Position | undefined {
    return this.journal?.previousEnd()
  }

  /** The rules have persisted their state up to `pos`: earlier segments may go once shipped. */
  hold(pos: Position): void {
    this.journal?.hold(pos)
  }

  /**
   * The previous run's last records (and what the run before it had restored): a device resending
   * one of them after a crash (no PUBACK reached it) maps to the point already journalled, not a
   * second one — however many crashes come between the original and the resend.
   */
  private async restoreResendMemory(): Promise<void> {
    const file = path.join(this.journal!.dir, RESEND_FILE)
    let restored = 0
    try {
      restored += this.mapper.restoreRemembered(JSON.parse(await fsp.readFile(file, 'utf8')))
    } catch {
      // none yet, or torn: the journal tail still has the last run's readings
    }
    restored += this.mapper.restore(await this.journal!.tail(RESTORE_BYTES))
    if (restored > 0) this.ctx.log.debug({ restored }, 'recent device seqs restored from the journal')
    try {
      const fh = await fsp.open(`${file}.tmp`, 'w', 0o600)
      try {
        await fh.writeFile(JSON.stringify(this.mapper.remembered()))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await fsp.rename(`${file}.tmp`, file)
    } catch (err) {
      this.ctx.log.warn({ err }, 'could not keep the resend memory for the next start')
    }
  }

  /**
   * The journal is falling behind ingest: more records wait for the next commit than one commit
   * normally takes. QoS 0 then waits for durability too, so the broker stops reading those sockets
   * (TCP pushes back on the devices) instead of the waiting records growing without bound.
   */
  behind(): boolean {
    return (this.journal?.waiting ?? 0) >= BACKPRESSURE_RECORDS
  }

  /**
   * While the journal cannot write, new device connections are refused, so no publish would find out
   * that the disk has room again: an empty record (skipped by the shipper and the replay) tries.
   */
  private probeUntilWritable(): void {
    this.probe ??= setInterval(() => {
      if (this.journal?.isFailing) this.journal.append('{}')
    }, PROBE_MS)
    this.probe.unref()
  }

  /** Why devices cannot be taken in now: the journal cannot write (a full disk), so nothing is acknowledged. */
  unavailable(): string | undefined {
    return this.journal?.isFailing ? 'journal_not_writable' : undefined
  }

  /** Resolves when everything ingested so far is durable (for the QoS 1 PUBACK). */
  durable(): Promise<void> | undefined {
    if (!this.journal) return undefined
    return this.journal.commit()
  }

  async stop(): Promise<void> {
    clearInterval(this.probe)
    for (const off of this.unsubscribe.splice(0)) off()
    await this.shipper?.stop()
    await this.journal?.stop()
    await this.writer?.close()
  }

  private backlog(bytes: number): void {
    this.ctx.metrics.historyBacklogBytes.set(bytes)
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

/** A journal record back into its bus event; undefined for alert records and unknown devices. */
function decodeRecord(
  line: string,
  pos: Position,
  deviceOf: (id: string) => Device | undefined,
): DeviceMessage | undefined {
  let p: PointRecord & { i?: Record<string, unknown>; d?: string }
  try {
    p = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof p.a !== 'number') return undefined
  if (p.i && typeof p.d === 'string') {
    const device = deviceOf(p.d)
    return device && { event: 'device_info', payload: { device, info: p.i, at: p.a, pos } }
  }
  const device = typeof p.t?.device_id === 'string' ? deviceOf(p.t.device_id) : undefined
  if (!device || typeof p.ts !== 'string') return undefined
  const ts = Number(p.ts.slice(0, -6))
  const seq = typeof p.f?.seq === 'number' ? p.f.seq : undefined
  if (p.m === 'availability') {
    return { event: 'availability', payload: { device, online: p.f.online === true, at: p.a, pos } }
  }
  if (p.x && typeof p.t.type === 'string') {
    const payload = { device, type: p.t.type, data: p.x, ts, receivedAt: p.a, seq, pos }
    return { event: 'device_event', payload }
  }
  if (p.m !== device.kind || !(p.m in KINDS)) return undefined
  const { seq: _seq, ...values } = p.f
  return { event: 'reading', payload: { device, values, ts, receivedAt: p.a, seq, pos } }
}
