import crypto from 'node:crypto'
import type { ChannelConfig, Speech } from './config.ts'
import type { NotificationPurpose } from './types.ts'
import { voiceAccepted, voiceRequest } from './voice.ts'

/**
 * Outbound message formats, one function per channel type: the HTTP request to send and how to read
 * the answer. The text is Chinese first, then English, and ends with a link to the work order.
 */

export interface Message {
  /** Idempotency key: the same for every retry and every fallback channel of one notification. */
  key: string
  /** `work_order.dispatched`, `work_order.reminder`, `work_order.escalated`, `work_order.closed`. */
  event: string
  title: string
  /** Markdown lines, zh first then en. */
  lines: string[]
  link: string
  /** Structured payload for the generic webhook. */
  data: Record<string, unknown>
  /** What a voice call says (Chinese, display names); absent: the title. */
  speech?: Speech | undefined
}

export interface OutboundRequest {
  url: string
  method: 'POST' | 'GET'
  headers: Record<string, string>
  body: string | undefined
}

export const KEY_HEADER = 'x-zhian-idempotency-key'
export const SIGNATURE_HEADER = 'x-zhian-signature'
export const TIMESTAMP_HEADER = 'x-zhian-timestamp'

/** Generic webhook: `x-zhian-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/** DingTalk robot 加签: base64(HMAC-SHA256(key = secret, "<timestamp ms>\n<secret>")). */
export function dingtalkSign(secret: string, timestampMs: string): string {
  return crypto.createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64')
}

/** Feishu robot 签名校验: base64(HMAC-SHA256(key = "<timestamp s>\n<secret>", empty message)). */
export function feishuSign(secret: string, timestampS: string): string {
  return crypto.createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64')
}

const plain = (m: Message) => [m.title, ...m.lines, m.link].join('\n')

/**
 * The channels a notification may use, in fallback order: a voice call (purpose `call`) only by
 * voice, every other message only by text. The outbox applies it when it stores a row and again when
 * it looks the channel up at send time, so a row's positions mean the same list both times.
 */
export function channelsFor<C extends { type: string }>(
  purpose: NotificationPurpose,
  channels: readonly C[],
): C[] {
  return channels.filter((c) => (c.type === 'voice') === (purpose === 'call'))
}

export function buildRequest(channel: ChannelConfig, m: Message, now: number): OutboundRequest {
  const json = (body: unknown, url = channel.url, extra: Record<string, string> = {}): OutboundRequest => ({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', [KEY_HEADER]: m.key, ...extra },
    body: JSON.stringify(body),
  })
  switch (channel.type) {
    case 'webhook': {
      const body = JSON.stringify({
        event: m.event,
        idempotency_key: m.key,
        title: m.title,
        text: plain(m),
        link: m.link,
        ...m.data,
      })
      const ts = String(Math.floor(now / 1000))
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        [KEY_HEADER]: m.key,
        [TIMESTAMP_HEADER]: ts,
      }
      if (channel.secret) headers[SIGNATURE_HEADER] = webhookSignature(channel.secret, ts, body)
      return { url: channel.url, method: 'POST', headers, body }
    }
    case 'dingtalk': {
      let url = channel.url
      if (channel.secret) {
        const ts = String(now)
        const sep = url.includes('?') ? '&' : '?'
        url = `${url}${sep}timestamp=${ts}&sign=${encodeURIComponent(dingtalkSign(channel.secret, ts))}`
      }
      const text = [`### ${m.title}`, ...m.lines, `[查看工单 / Open work order](${m.link})`].join('\n\n')
      return json({ msgtype: 'markdown', markdown: { title: m.title, text } }, url)
    }
    case 'wecom': {
      const content = [`**${m.title}**`, ...m.lines, `[查看工单 / Open work order](${m.link})`].join('\n')
      return json({ msgtype: 'markdown', markdown: { content } })
    }
    case 'feishu': {
      const lines = m.lines.map((text) => [{ tag: 'text', text }])
      const link = [{ tag: 'a', text: '查看工单 / Open work order', href: m.link }]
      const body: Record<string, unknown> = {
        msg_type: 'post',
        content: { post: { zh_cn: { title: m.title, content: [...lines, link] } } },
      }
      if (channel.secret) {
        const ts = String(Math.floor(now / 1000))
        body.timestamp = ts
        body.sign = feishuSign(channel.secret, ts)
      }
      return json(body)
    }
    case 'sms': {
      // SMS is short: the title, the first line and the link.
      const text = [m.title, m.lines[0] ?? '', m.link].filter(Boolean).join(' ')
      const fill = (template: string, esc: (s: string) => string) =>
        template
          .replaceAll('{to}', esc(channel.to))
          .replaceAll('{text}', esc(text))
          .replaceAll('{key}', esc(m.key))
      const url = fill(channel.url, encodeURIComponent)
      const headers: Record<string, string> = { [KEY_HEADER]: m.key }
      if (channel.secret) headers.authorization = `Bearer ${channel.secret}`
      if (channel.method === 'GET') return { url, method: 'GET', headers, body: undefined }
      headers['content-type'] = channel.content_type
      const body = channel.body
        ? fill(channel.body, (s) => JSON.stringify(s).slice(1, -1))
        : JSON.stringify({ to: channel.to, text, idempotency_key: m.key })
      return { url, method: 'POST', headers, body }
    }
    case 'voice': {
      // A message not about an alert (a report) has no speech: its title is read.
      const speech = m.speech ?? { estate: '', device: '', alert: m.title, text: m.title }
      return voiceRequest(channel, speech, m.key, now, KEY_HEADER)
    }
  }
}

/**
 * Whether the receiver took it. Robots answer HTTP 200 with an error code in the body
 * (DingTalk/WeCom `errcode`, Feishu `code` or `StatusCode`): non-zero is a failure.
 */
export function accepted(
  channel: ChannelConfig,
  status: number,
  body: string,
): { ok: boolean; error?: string } {
  if (channel.type === 'voice') {
    const verdict = voiceAccepted(channel, status, body)
    return verdict.error ? { ok: false, error: clip(verdict.error, ROBOT_ERROR_CHARS) } : verdict
  }
  if (status < 200 || status >= 300) return { ok: false, error: `HTTP ${status}` }
  if (channel.type === 'webhook' || channel.type === 'sms') return { ok: true }
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(body) as Record<string, unknown>
  } catch {
    return { ok: false, error: 'answer is not JSON' }
  }
  const code = parsed.errcode ?? parsed.code ?? parsed.StatusCode ?? 0
  if (code !== 0) {
    const text = `code ${String(code)}: ${String(parsed.errmsg ?? parsed.msg ?? '')}`
    return { ok: false, error: clip(text, ROBOT_ERROR_CHARS) }
  }
  return { ok: true }
}

/** The robot's own error text is shown on the work order: a receiver decides its length, we cap it. */
export const ROBOT_ERROR_CHARS = 200

function clip(text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}
