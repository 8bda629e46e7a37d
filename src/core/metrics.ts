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
    // Public endpoint: an unknown device id and a wrong secret are both `bad_credentials` (the log tells them apart).
    help: 'MQTT connections and CONNECTs refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  /** See countIn(): plain numbers, added to messagesIn when it is read. */
  private readonly accepted = new Map<string, Map<string, { n: number }>>()
  readonly messagesIn: Counter<'kind' | 'suffix'> = new Counter({
    name: 'zhian_mqtt_messages_in_total',
    help: 'Device messages accepted, by kind and topic suffix',
    labelNames: ['kind', 'suffix'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [kind, bySuffix] of this.accepted)
        for (const [suffix, c] of bySuffix) {
          if (c.n === 0) continue
          this.messagesIn.inc({ kind, suffix }, c.n)
          c.n = 0
        }
    },
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

  readonly journalCommits = new Counter({
    name: 'zhian_journal_commits_total',
    help: 'Group commits (write + fdatasync) of the ingest journal',
    registers: [this.registry],
  })
  readonly journalRecords = new Counter({
    name: 'zhian_journal_records_total',
    help: 'Records committed to the ingest journal',
    registers: [this.registry],
  })
  readonly journalCommitErrors = new Counter({
    name: 'zhian_journal_commit_errors_total',
    help: 'Journal commits that failed (their QoS 1 messages got no PUBACK)',
    registers: [this.registry],
  })
  readonly historyBacklogBytes = new Gauge({
    name: 'zhian_history_backlog_bytes',
    help: 'Journal bytes not yet confirmed by InfluxDB',
    registers: [this.registry],
  })
  readonly historyBacklogLimitBytes = new Gauge({
    name: 'zhian_history_backlog_limit_bytes',
    help: 'Backlog limit; past it the oldest unshipped records are dropped',
    registers: [this.registry],
  })
  readonly historyPointsWritten = new Counter({
    name: 'zhian_history_points_written_total',
    help: 'Points confirmed by InfluxDB',
    registers: [this.registry],
  })
  readonly historyWriteFailures = new Counter({
    name: 'zhian_history_write_failures_total',
    help: 'Failed InfluxDB write attempts (retried)',
    registers: [this.registry],
  })
  readonly historyDropped = new Counter({
    name: 'zhian_history_dropped_total',
    help: 'History lost: points InfluxDB refused (reason=rejected), journal bytes dropped at the backlog limit (reason=backlog_full_bytes)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })

  // Dispatch: work orders, SLA breaches, escalations, the notification outbox.
  readonly workOrdersOpened = new Counter({
    name: 'zhian_work_orders_opened_total',
    help: 'Work orders opened, by alert type and how (auto, manual)',
    labelNames: ['type', 'via'] as const,
    registers: [this.registry],
  })
  readonly slaBreaches = new Counter({
    name: 'zhian_work_order_sla_breaches_total',
    help: 'Work-order SLA breaches, by alert type and stage (accept, arrive, resolve)',
    labelNames: ['type', 'stage'] as const,
    registers: [this.registry],
  })
  readonly escalations = new Counter({
    name: 'zhian_work_order_escalations_total',
    help: 'Escalation steps taken on work orders not accepted in time, by team',
    labelNames: ['team'] as const,
    registers: [this.registry],
  })
  readonly notifications = new Counter({
    name: 'zhian_notifications_total',
    help: 'Notification attempts, by channel and result (delivered, error = will retry or fall back, failed = gave up)',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry],
  })
  readonly outboxPending = new Gauge({
    name: 'zhian_outbox_pending',
    help: 'Notifications in the outbox not yet delivered',
    registers: [this.registry],
  })

  /** Cluster mode: this node's view (set by src/cluster/cluster.ts at every heartbeat). */
  readonly clusterLeader = new Gauge({
    name: 'zhian_cluster_leader',
    help: 'Cluster mode: 1 while this node leads (runs the rules, dispatch, reports, history)',
    registers: [this.registry],
  })
  readonly clusterNodesAlive = new Gauge({
    name: 'zhian_cluster_nodes_alive',
    help: 'Cluster mode: nodes seen in the last 5 s, this one included',
    registers: [this.registry],
  })
  readonly clusterLogEntries = new Gauge({
    name: 'zhian_cluster_log_entries',
    help: 'Cluster mode: entries in the shared log (kept until the rules persisted and history shipped them)',
    registers: [this.registry],
  })
  readonly clusterLogLag = new Gauge({
    name: 'zhian_cluster_log_lag_ms',
    help: 'Cluster mode: how far (ms) this node reading the shared log into its bus is behind its newest entry',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'zhian_' })
  }

  /**
   * One accepted device message. Runs for every message, so it bumps a plain number; prom-client
   * (which hashes the label set on every inc) gets the sum when the counter is read.
   */
  countIn(kind: string, suffix: string): void {
    let bySuffix = this.accepted.get(kind)
    if (!bySuffix) {
      bySuffix = new Map()
      this.accepted.set(kind, bySuffix)
    }
    let c = bySuffix.get(suffix)
    if (!c) {
      c = { n: 0 }
      bySuffix.set(suffix, c)
    }
    c.n++
  }
}
