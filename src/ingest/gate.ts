import fsp from 'node:fs/promises'
import path from 'node:path'
import { KINDS } from '../../devices/index.ts'
import { JOURNAL_DEFAULTS, type JournalConfig } from '../config/env.ts'
import type { Bus, BusEvents, Device, DeviceMessage } from '../core/bus.ts'
import type { Metrics } from '../core/metrics.ts'
import { PointMapper, type PointRecord } from '../history/schema.ts'
import { Journal, type JournalLike, type Position } from '../journal/journal.ts'
import type { RuleSignal } from '../rules/engine.ts'
import { type Logger, LogLimit } from '../util/logger.ts'

/**
 * The durability gate, the second half of ingest: every validated device message becomes a record in
 * the journal, and only once that record is committed is the message emitted on the hub bus (rules,
 * live state, dashboard) and its QoS 1 PUBACK released (durable()). The records are InfluxDB point
 * records (history/schema.ts) — the history shipper reads them from the same journal — plus what the
 * rules need to re-apply them after a crash (replay()). With the journal off, messages pass straight
 * through.
 */

export interface GateContext {
  journal: Partial<JournalConfig> | undefined
  dataDir: string
  /** The hub bus: device messages go out here, once durable. */
  bus: Bus
  metrics: Metrics
  log: Logger
  /** The journal's disk is full (true: a write failed with ENOSPC / EDQUOT) or takes writes again (false). */
  onDiskFull?: (full: boolean) => void
  /**
   * Cluster mode: the shared log on Redis instead of the local journal. Messages then reach this
   * node's bus from the log (every node tails it: src/cluster/tail.ts), not from the append.
   */
  shared?: JournalLike | undefined
}

/** The device messages ingest hands over (a Bus satisfies it too: then nothing is journalled). */
export interface GateInput {
  emit<K extends DeviceMessage['event']>(event: K, payload: BusEvents[K]): void
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

/** How much of the previous run's journal tail is scanned for resend detection (~10k records). */
const RESTORE_BYTES = 4 * 1024 ** 2
/** The resend memory restored at start, kept for the next start (see PointMapper.remembered()). */
const RESEND_FILE = 'resend.json'
/** See behind(): a few group commits' worth at full speed (~0.35 ms per O_DSYNC write). */
const BACKPRESSURE_RECORDS = 4000
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT'])
/** How often a failing journal tries a write again. */
const PROBE_MS = 2000

export class Gate implements GateInput {
  readonly journal: JournalLike | undefined
  private readonly mapper = new PointMapper()
  private diskFull = false
  private probe: NodeJS.Timeout | undefined
  private readonly writeFailures = new LogLimit(
    'journal write failed: nothing is acknowledged until it succeeds',
  )

  constructor(private readonly ctx: GateContext) {
    if (ctx.shared) {
      this.journal = ctx.shared
      return
    }
    const j = { ...JOURNAL_DEFAULTS, ...ctx.journal }
    // `auto` is on: the journal makes a PUBACK durable for the rules (replayed after a crash), not only
    // for InfluxDB.
    if (j.mode === 'off') return
    const { metrics, log } = ctx
    this.journal = new Journal({
      dir: path.join(ctx.dataDir, 'journal'),
      maxDelayMs: j.commitDelayMs,
      segmentBytes: j.segmentBytes,
      maxBacklogBytes: j.maxBacklogBytes,
      onCommit: (records) => {
        metrics.journalCommits.inc()
        metrics.journalRecords.inc(records)
      },
      onError: (err) => this.failed(err as NodeJS.ErrnoException),
      onRecovered: () => this.recovered(),
      onCallbackError: (err) => log.error({ err }, 'a listener of a journalled event threw'),
    })
  }

  /**
   * `keepFrom`: keep the previous runs' records from there on for replay(), shipped or not (the
   * rules' persisted position).
   */
  async start(keepFrom?: Position): Promise<void> {
    if (!this.journal) return
    if (keepFrom) this.journal.hold(keepFrom)
    await this.journal.start()
    // The shared log's resends land on any node: InfluxDB keeps one point per device and time anyway.
    if (!this.ctx.shared) await this.restoreResendMemory()
  }

  async stop(): Promise<void> {
    clearInterval(this.probe)
    await this.journal?.stop()
  }

  /** A validated device message: journalled, then on the hub bus once durable. */
  emit<K extends DeviceMessage['event']>(event: K, payload: BusEvents[K]): void {
    const journal = this.journal
    if (!journal) {
      this.ctx.bus.emit(event, payload)
      return
    }
    if (this.ctx.shared) {
      journal.append(this.line(event, payload))
      return
    }
    journal.append(this.line(event, payload), (end) => {
      payload.pos = end
      this.ctx.bus.emit(event, payload)
    })
  }

  /** Resolves when everything ingested so far is durable (for the QoS 1 PUBACK). */
  durable(): Promise<void> | undefined {
    return this.journal?.commit()
  }

  /**
   * The journal is falling behind ingest: more records wait for the next commit than one commit
   * normally takes. QoS 0 then waits for durability too, so the broker stops reading those sockets
   * (TCP pushes back on the devices) instead of the waiting records growing without bound.
   */
  behind(): boolean {
    return (this.journal?.waiting ?? 0) >= BACKPRESSURE_RECORDS
  }

  /** Why devices cannot be taken in now: the journal cannot write (a full disk), so nothing is acknowledged. */
  unavailable(): string | undefined {
    return this.journal?.isFailing ? 'journal_not_writable' : undefined
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

  private line<K extends DeviceMessage['event']>(event: K, payload: BusEvents[K]): string {
    // Readings first: this runs for every message the hub takes in.
    if (event === 'reading') return this.mapper.readingLine(payload as BusEvents['reading'])
    if (event === 'device_event')
      return JSON.stringify(this.mapper.deviceEvent(payload as BusEvents['device_event']))
    if (event === 'availability') {
      const a = payload as BusEvents['availability']
      return JSON.stringify(this.mapper.availability(a.device, a.online, a.at))
    }
    // Device info is not history (the shipper skips a record without `m`), but is journalled to keep
    // the order of a device's messages and to be replayed into the rules.
    const i = payload as BusEvents['device_info']
    return JSON.stringify({ i: i.info, d: i.device.id, a: i.at })
  }

  /** One log line per interval with a count (a full disk fails every commit), `hub.disk_full`, a probe. */
  private failed(err: NodeJS.ErrnoException): void {
    this.ctx.metrics.journalCommitErrors.inc()
    this.writeFailures.note(this.ctx.log, { err: err.message, code: err.code })
    this.probeUntilWritable()
    if (!this.diskFull && DISK_FULL_CODES.has(err.code ?? '')) {
      this.diskFull = true
      this.ctx.onDiskFull?.(true)
    }
  }

  private recovered(): void {
    clearInterval(this.probe)
    this.probe = undefined
    this.ctx.log.info('journal writes succeed again')
    if (!this.diskFull) return
    this.diskFull = false
    this.ctx.onDiskFull?.(false)
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
}

/** A journal record back into its bus event; undefined for alert records and unknown devices. */
export function decodeRecord(
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
