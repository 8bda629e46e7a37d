import { AlertQueries } from '../alerts/store.ts'
import type { HistoryConfig } from '../config/env.ts'
import type { EstateFile } from '../config/estate-file.ts'
import { type Clock, RealClock } from '../core/clock.ts'
import type { TeamConfig } from '../dispatch/config.ts'
import type { Outbox } from '../dispatch/outbox.ts'
import { WorkOrderQueries } from '../dispatch/store.ts'
import { ZhianError } from '../errors.ts'
import type { Registry } from '../registry/registry.ts'
import type { Db } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import { ReportBuilder, type ReportRequest } from './build.ts'
import type { ReportsConfig } from './config.ts'
import type { Report } from './model.ts'
import { checkTimeZone, DEFAULT_TZ } from './period.ts'
import { renderCsv } from './render-csv.ts'
import { renderHtml } from './render-html.ts'
import { renderXlsx } from './render-xlsx.ts'
import { ReportScheduler } from './schedule.ts'
import type { Lang } from './tables.ts'

/**
 * One-click reports: build (build.ts), render (CSV, XLSX, HTML) and scheduled delivery
 * (schedule.ts) through the dispatch outbox. Constructor does no I/O; start/stop run the schedule.
 */

export const FORMATS = ['json', 'html', 'csv', 'xlsx'] as const
export type Format = (typeof FORMATS)[number]

export interface Rendered {
  contentType: string
  body: string | Buffer
  filename: string
}

export interface ReportServiceOptions {
  db: Db
  registry: Registry
  overrides: () => EstateFile['overrides']
  history: HistoryConfig | undefined
  /** Default time zone (ZHIAN_REPORT_TZ, else Asia/Shanghai). */
  tz?: string | undefined
  log: Logger
  /** The dispatch outbox: scheduled reports go out through it. */
  outbox?: Outbox | undefined
  teams?: () => TeamConfig[]
  /** Display names of an estate's parking zones (the estate file's `zones`). */
  zoneNames?: (estate: string) => Record<string, string>
  /** Where links in scheduled messages point (the dashboard's origin). */
  linkBase?: () => string
  clock?: Clock
}

export class ReportService {
  readonly builder: ReportBuilder
  scheduler: ReportScheduler | undefined
  tz: string

  constructor(private readonly opts: ReportServiceOptions) {
    this.tz = opts.tz ?? DEFAULT_TZ
    this.builder = new ReportBuilder({
      alerts: new AlertQueries(opts.db),
      workOrders: new WorkOrderQueries(opts.db),
      registry: opts.registry,
      overrides: opts.overrides,
      history: opts.history,
      teams: () => opts.teams?.() ?? [],
      zoneNames: (estate) => opts.zoneNames?.(estate) ?? {},
    })
  }

  /** Start the schedule of the estate file's `reports:` section (nothing to do without one). */
  start(config: ReportsConfig | undefined): void {
    if (config?.timezone) this.tz = checkTimeZone(config.timezone)
    if (!config || config.schedules.length === 0 || !this.opts.outbox) return
    for (const s of config.schedules) {
      const site = this.opts.registry.site(s.scope)
      if (!site || site.type === 'building') {
        throw new ZhianError(
          'ZHIAN_ERR_CONFIG_INVALID',
          `reports.schedules.${s.id}.scope: "${s.scope}" is not a street, community or estate`,
        )
      }
    }
    this.scheduler = new ReportScheduler({
      config,
      tz: this.tz,
      clock: this.opts.clock ?? new RealClock(),
      reports: this,
      outbox: this.opts.outbox,
      teams: this.opts.teams ?? (() => []),
      linkBase: this.opts.linkBase ?? (() => ''),
      log: this.opts.log,
    })
    this.scheduler.start()
  }

  stop(): void {
    this.scheduler?.stop()
    this.scheduler = undefined
  }

  build(req: ReportRequest): Promise<Report> {
    return this.builder.build({ ...req, tz: req.tz ?? this.tz })
  }

  async render(
    report: Report,
    format: Format,
    lang: Lang,
    links?: Parameters<typeof renderHtml>[2],
  ): Promise<Rendered> {
    const base = `zhian-report-${report.scope.id}-${report.period.id.replace('..', '_')}`
    switch (format) {
      case 'json':
        return {
          contentType: 'application/json; charset=utf-8',
          body: JSON.stringify(report),
          filename: `${base}.json`,
        }
      case 'html':
        return {
          contentType: 'text/html; charset=utf-8',
          body: renderHtml(report, lang, links),
          filename: `${base}.html`,
        }
      case 'csv':
        return {
          contentType: 'text/csv; charset=utf-8',
          body: renderCsv(report, lang),
          filename: `${base}.csv`,
        }
      case 'xlsx':
        return {
          contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          body: await renderXlsx(report, lang),
          filename: `${base}.xlsx`,
        }
      default:
        throw new ZhianError('ZHIAN_ERR_REPORT_FORMAT', `"${String(format)}": use ${FORMATS.join(', ')}`)
    }
  }
}

export function formatOf(value: string | undefined, fallback: Format = 'json'): Format {
  if (value === undefined || value === '') return fallback
  if ((FORMATS as readonly string[]).includes(value)) return value as Format
  throw new ZhianError('ZHIAN_ERR_REPORT_FORMAT', `"${value}": use ${FORMATS.join(', ')}`)
}
