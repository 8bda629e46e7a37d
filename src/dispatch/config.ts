import { z } from 'zod'
import { SEVERITIES } from '../alerts/types.ts'
import { ID_PATTERN } from '../mqtt/topics.ts'
import { parseDuration } from '../rules/duration.ts'

/**
 * The estate YAML's dispatch sections: `teams`, `roster`, `routing` (README "Dispatch and work
 * orders"). Parsed by src/config/estate-file.ts with these schemas; `checkDispatch` is its cross-check.
 */

const id = z.string().regex(ID_PATTERN, 'ids are [a-z0-9_-]{1,64}')
const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'a duration like 90s, 5m or 2h')
  .transform((s) => parseDuration(s)!)
const url = z.url({ protocol: /^https?$/, error: 'an http(s) URL' })

export const CHANNEL_TYPES = ['webhook', 'dingtalk', 'wecom', 'feishu', 'sms', 'voice'] as const
export type ChannelType = (typeof CHANNEL_TYPES)[number]

/**
 * A voice call (README "Voice calls"): a provider preset or a gateway template. The secret is inline
 * (`secret`) or named by an environment variable (`secret_env`, read when the file loads and at send time).
 */
/** What a voice template can say, in Chinese: the estate, the device, the alert, and one sentence of it all. */
export const SPEECH_FIELDS = ['estate', 'device', 'alert', 'text'] as const
export type Speech = Record<(typeof SPEECH_FIELDS)[number], string>
const SECRET = z.string().min(1).max(512)
const ENV_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name')
const secretSource = { secret: SECRET.optional(), secret_env: ENV_NAME.optional() }
const SPEECH = z.array(z.enum(SPEECH_FIELDS)).min(1).max(SPEECH_FIELDS.length)
const hasSecret = (c: { secret?: string | undefined; secret_env?: string | undefined }) =>
  c.secret !== undefined
    ? c.secret_env === undefined
    : c.secret_env !== undefined && !!process.env[c.secret_env]
const SECRET_PROBLEM = 'give secret, or secret_env naming a set environment variable (not both)'
const VOICE = z.discriminatedUnion('provider', [
  z
    .strictObject({
      type: z.literal('voice'),
      /** Aliyun 语音服务 SingleCallByTts. */
      provider: z.literal('aliyun'),
      url: url.default('https://dyvmsapi.aliyuncs.com/'),
      /** CalledNumber: a mainland mobile or fixed-line number. */
      to: z.string().regex(/^[0-9]{5,20}$/, 'a phone number, digits only (CalledNumber)'),
      /** CalledShowNumber (专属模式); absent = the public number pool (公共模式). */
      show_number: z.string().max(64).optional(),
      /** TtsCode: the approved text-to-speech template, e.g. TTS_123456789. */
      template: z.string().min(1).max(64),
      access_key_id: z.string().min(1).max(128),
      ...secretSource,
      region: z.string().max(64).default('cn-hangzhou'),
      /** The template's variables (TtsParam), filled with the alert in Chinese. */
      params: SPEECH.default(['estate', 'device', 'alert']),
      play_times: z.number().int().min(1).max(3).default(2),
    })
    .refine(hasSecret, SECRET_PROBLEM),
  z
    .strictObject({
      type: z.literal('voice'),
      /** Tencent Cloud 语音消息 SendTtsVoice. */
      provider: z.literal('tencent'),
      url: url.default('https://vms.tencentcloudapi.com/'),
      /** CalledNumber in E.164, e.g. +8613711112222. */
      to: z.string().regex(/^\+[0-9]{6,20}$/, 'a phone number in E.164 (+86…)'),
      /** VoiceSdkAppid of the application in the console. */
      sdk_app_id: z.string().regex(/^[0-9]{1,20}$/, 'the VoiceSdkAppid (digits)'),
      /** TemplateId: the approved voice template. */
      template: z.string().regex(/^[0-9]{1,20}$/, 'the TemplateId (digits)'),
      secret_id: z.string().min(1).max(128),
      ...secretSource,
      region: z.string().max(64).default('ap-guangzhou'),
      /** The template's {1}, {2}… in order (TemplateParamSet). */
      params: SPEECH.default(['estate', 'device', 'alert']),
      play_times: z.number().int().min(1).max(3).default(2),
    })
    .refine(hasSecret, SECRET_PROBLEM),
  z
    .strictObject({
      type: z.literal('voice'),
      /** Any gateway: like `sms`, with `{estate}`, `{device}`, `{alert}` and `{text}` too. */
      provider: z.literal('http'),
      url,
      to: z.string().regex(/^\+?[0-9]{5,20}$/, 'a phone number'),
      /** Sent as `Authorization: Bearer <secret>` when set. */
      ...secretSource,
      method: z.enum(['POST', 'GET']).default('POST'),
      body: z.string().max(4000).optional(),
      content_type: z.string().max(100).default('application/json'),
    })
    .refine((c) => (c.secret === undefined && c.secret_env === undefined) || hasSecret(c), SECRET_PROBLEM),
])
export type VoiceChannel = z.infer<typeof VOICE>

const CHANNEL = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), url, secret: z.string().min(1).max(512).optional() }),
  z.strictObject({ type: z.literal('dingtalk'), url, secret: z.string().min(1).max(512).optional() }),
  z.strictObject({ type: z.literal('wecom'), url }),
  z.strictObject({ type: z.literal('feishu'), url, secret: z.string().min(1).max(512).optional() }),
  z.strictObject({
    type: z.literal('sms'),
    /** `{to}`, `{text}` and `{key}` in the URL are replaced (URL-encoded). */
    url,
    /** The phone number. */
    to: z.string().regex(/^\+?[0-9]{5,20}$/, 'a phone number'),
    /** Sent as `Authorization: Bearer <secret>` when set. */
    secret: z.string().min(1).max(512).optional(),
    method: z.enum(['POST', 'GET']).default('POST'),
    /** Body template; `{to}`, `{text}`, `{key}` are replaced (JSON-escaped). Default: `{"to","text","idempotency_key"}`. */
    body: z.string().max(4000).optional(),
    content_type: z.string().max(100).default('application/json'),
  }),
  VOICE,
])
export type ChannelConfig = z.infer<typeof CHANNEL>
/** A member's channel list (fallback order), for other sections that notify through the outbox (reports). */
export const CHANNELS_SCHEMA = z.array(CHANNEL).max(10)

const STEP_TARGET = z.union([
  z.literal('next_on_duty'),
  z.literal('lead'),
  /** A voice call to everyone the order has notified so far who has a voice channel. */
  z.literal('call'),
  z.string().regex(/^team:[a-z0-9_-]{1,64}$/, 'next_on_duty, lead, call or team:<team id>'),
])
const STEP = z.union([STEP_TARGET, z.strictObject({ to: STEP_TARGET, after: duration })])

const ESCALATION = z.strictObject({
  /** Delay before each step that does not give its own `after` (counted from the previous step). */
  after: duration.optional(),
  chain: z.array(STEP).max(10).optional(),
  remind_every: duration.optional(),
  remind_max: z.number().int().min(0).max(100).optional(),
  /** Critical alerts end the chain with a `call` step when a voice channel is configured (default true). */
  end_with_call: z.boolean().optional(),
})

const SLA = z.strictObject({
  accept: duration.optional(),
  arrive: duration.optional(),
  resolve: duration.optional(),
})

const MEMBER = z.strictObject({
  id,
  name: z.string().min(1).max(128),
  /** The dashboard user who is this member (crew app, "my tasks"). */
  user: id.optional(),
  channels: CHANNELS_SCHEMA.default([]),
})

const TEAM = z.strictObject({
  id,
  name: z.string().min(1).max(128),
  /** The catalogue crew this team plays (default: its id), e.g. two lift contractors for two estates. */
  crew: id.optional(),
  /** Estates (or any site node above them) this team serves; absent = every estate. */
  estates: z.array(id).optional(),
  members: z.array(MEMBER).min(1),
  /** Member id of the team lead (escalation step `lead`). */
  lead: id.optional(),
  /** IANA zone the roster hours are in. */
  timezone: z.string().max(64).default('Asia/Shanghai'),
  escalation: ESCALATION.optional(),
})

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
const HOURS = z
  .string()
  .regex(/^([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'hours like 08:00-20:00 (may cross midnight)')

const ROSTER = z.strictObject({
  team: id,
  member: id,
  /** Days it applies; absent = every day. A shift crossing midnight belongs to the day it starts. */
  days: z.array(z.enum(DAYS)).min(1).optional(),
  hours: HOURS.optional(),
  /** Only for alerts in these estates (or site nodes); absent = all the team serves. */
  estates: z.array(id).optional(),
})

const ROUTE = z.strictObject({
  match: z
    .strictObject({
      /** Alert type (`elevator.trapped`) or a list of them. */
      type: z.union([z.string().max(100), z.array(z.string().max(100))]).optional(),
      kind: z.union([z.string().max(64), z.array(z.string().max(64))]).optional(),
      severity: z.union([z.enum(SEVERITIES), z.array(z.enum(SEVERITIES))]).optional(),
      /** A site node (street, community, estate, building): alerts at or below it. */
      site: id.optional(),
    })
    .default({}),
  team: id,
  /** Open a work order automatically (default: severity critical or major). */
  work_order: z.boolean().optional(),
  sla: SLA.optional(),
  escalation: ESCALATION.optional(),
})

export const DISPATCH_SECTIONS = {
  teams: z.array(TEAM).default([]),
  roster: z.array(ROSTER).default([]),
  routing: z.array(ROUTE).default([]),
}

export type TeamConfig = z.infer<typeof TEAM>
export type MemberConfig = z.infer<typeof MEMBER>
export type RosterEntry = z.infer<typeof ROSTER>
export type RouteConfig = z.infer<typeof ROUTE>
export type EscalationConfig = z.infer<typeof ESCALATION>
export type SlaConfig = z.infer<typeof SLA>
export type StepTarget = z.infer<typeof STEP_TARGET>

export interface DispatchConfig {
  teams: TeamConfig[]
  roster: RosterEntry[]
  routing: RouteConfig[]
}

/** Cross-references the schemas cannot see; the estate file reports the first problem with its line. */
export function checkDispatch(
  d: DispatchConfig,
  isSite: (id: string) => boolean,
): { path: string[]; message: string } | undefined {
  const teams = new Map<string, TeamConfig>()
  for (const [i, t] of d.teams.entries()) {
    const at = (...rest: string[]) => ['teams', String(i), ...rest]
    if (teams.has(t.id)) return { path: at('id'), message: `duplicate team id "${t.id}"` }
    teams.set(t.id, t)
    const members = new Set<string>()
    for (const [j, m] of t.members.entries()) {
      if (members.has(m.id))
        return { path: at('members', String(j), 'id'), message: `duplicate member id "${m.id}"` }
      members.add(m.id)
    }
    if (t.lead && !members.has(t.lead)) return { path: at('lead'), message: `"${t.lead}" is not a member` }
    for (const [j, e] of (t.estates ?? []).entries())
      if (!isSite(e)) return { path: at('estates', String(j)), message: `unknown site "${e}"` }
    try {
      new Intl.DateTimeFormat('en', { timeZone: t.timezone })
    } catch {
      return { path: at('timezone'), message: `unknown time zone "${t.timezone}"` }
    }
  }
  const chainProblem = (chain: EscalationConfig['chain'], path: string[]) => {
    for (const [j, step] of (chain ?? []).entries()) {
      const to = typeof step === 'string' ? step : step.to
      if (to.startsWith('team:') && !teams.has(to.slice(5)))
        return { path: [...path, 'chain', String(j)], message: `unknown team "${to.slice(5)}"` }
    }
    return undefined
  }
  for (const [i, t] of d.teams.entries()) {
    const p = chainProblem(t.escalation?.chain, ['teams', String(i), 'escalation'])
    if (p) return p
  }
  for (const [i, r] of d.roster.entries()) {
    const at = (...rest: string[]) => ['roster', String(i), ...rest]
    const team = teams.get(r.team)
    if (!team) return { path: at('team'), message: `unknown team "${r.team}"` }
    if (!team.members.some((m) => m.id === r.member))
      return { path: at('member'), message: `"${r.member}" is not a member of team "${r.team}"` }
    for (const [j, e] of (r.estates ?? []).entries())
      if (!isSite(e)) return { path: at('estates', String(j)), message: `unknown site "${e}"` }
  }
  for (const [i, r] of d.routing.entries()) {
    const at = (...rest: string[]) => ['routing', String(i), ...rest]
    if (!teams.has(r.team)) return { path: at('team'), message: `unknown team "${r.team}"` }
    if (r.match.site && !isSite(r.match.site))
      return { path: at('match', 'site'), message: `unknown site "${r.match.site}"` }
    const p = chainProblem(r.escalation?.chain, at('escalation'))
    if (p) return p
  }
  return undefined
}
