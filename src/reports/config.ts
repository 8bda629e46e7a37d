import { z } from 'zod'
import { DISPATCH_SECTIONS } from '../dispatch/config.ts'
import { ID_PATTERN } from '../mqtt/topics.ts'

/**
 * The estate YAML's `reports:` section (README "Reports"): scheduled reports, each for one scope,
 * covering the last complete day, week or month, sent at a local time to recipients through the
 * dispatch outbox. Recipients are dispatch teams (every member, their channels) or inline channels.
 */

const id = z.string().regex(ID_PATTERN, 'ids are [a-z0-9_-]{1,64}')
/** The member channel schema of dispatch (webhook, DingTalk, WeCom, Feishu, SMS), reused as is. */
const CHANNELS = DISPATCH_SECTIONS.teams.unwrap().element.shape.members.element.shape.channels

const RECIPIENT = z.union([
  z.strictObject({ team: id, member: id.optional() }),
  z.strictObject({ name: z.string().min(1).max(128), channels: CHANNELS }),
])

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

const SCHEDULE = z.strictObject({
  id,
  scope: id,
  /** The report covers the last complete day / week (Mon–Sun) / calendar month. */
  every: z.enum(['day', 'week', 'month']),
  /** Local time of day, HH:MM. */
  at: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 08:00')
    .default('08:00'),
  /** `every: week`: the day it is sent (default mon). */
  weekday: z.enum(WEEKDAYS).default('mon'),
  /** `every: month`: the day of the month it is sent (1–28, default 1). */
  day: z.number().int().min(1).max(28).default(1),
  lang: z.enum(['zh', 'en']).default('zh'),
  recipients: z.array(RECIPIENT).min(1).max(50),
})

export const REPORTS_SECTION = z
  .strictObject({
    /** IANA time zone of periods and send times (default: ZHIAN_REPORT_TZ, else Asia/Shanghai). */
    timezone: z.string().max(64).optional(),
    /** How long after a missed send time (hub down) it is still sent at start. */
    catch_up: z
      .string()
      .regex(/^\d+[smhd]$/, 'a duration like 12h')
      .default('24h'),
    schedules: z.array(SCHEDULE).max(200).default([]),
  })
  .optional()

export type ReportsConfig = NonNullable<z.infer<typeof REPORTS_SECTION>>
export type ScheduleConfig = ReportsConfig['schedules'][number]
export type RecipientConfig = ScheduleConfig['recipients'][number]
