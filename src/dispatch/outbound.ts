import type { ErrorCode } from '../errors.ts'
import type { OutboundRequest } from './channels.ts'

/**
 * The outbox's one HTTP exchange with a receiver we do not control. Three limits keep a broken or
 * hostile receiver from hurting the hub:
 * - redirects are followed only within the receiver's own origin: a signature, a robot token in the
 *   query or an SMS bearer token must never reach a host the estate file did not name;
 * - the answer is read up to `maxBodyBytes`, then the connection is dropped;
 * - the whole exchange (connect, redirects, body) ends after `timeoutMs`.
 * Failures are thrown as `OutboundError`s whose message starts with a stable code.
 */

export interface OutboundLimits {
  timeoutMs: number
  maxBodyBytes: number
  maxRedirects: number
}

export const OUTBOUND_DEFAULTS: OutboundLimits = {
  timeoutMs: 10_000,
  maxBodyBytes: 64 * 1024,
  maxRedirects: 3,
}

export interface OutboundAnswer {
  status: number
  /** The first `maxBodyBytes` of the answer, as UTF-8. */
  body: string
  truncated: boolean
}

export class OutboundError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'ZHIAN_ERR_REDIRECT_REFUSED' | 'ZHIAN_ERR_NOTIFY_TIMEOUT'>,
    detail: string,
  ) {
    super(`${code}: ${detail}`)
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

export async function sendOutbound(req: OutboundRequest, limits: OutboundLimits): Promise<OutboundAnswer> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  try {
    let current = { ...req }
    for (let hop = 0; ; hop++) {
      const res = await fetch(current.url, {
        method: current.method,
        headers: current.headers,
        body: current.body,
        redirect: 'manual',
        signal,
      })
      const location = res.headers.get('location')
      if (!REDIRECTS.has(res.status) || location === null) {
        return { status: res.status, ...(await readCapped(res, limits.maxBodyBytes)) }
      }
      await res.body?.cancel()
      const next = new URL(location, current.url)
      if (next.origin !== new URL(req.url).origin) {
        // Only the origin: the target's path or query may carry something of ours.
        throw new OutboundError('ZHIAN_ERR_REDIRECT_REFUSED', `HTTP ${res.status} to ${next.origin}`)
      }
      if (hop + 1 > limits.maxRedirects) {
        throw new OutboundError('ZHIAN_ERR_REDIRECT_REFUSED', `more than ${limits.maxRedirects} redirects`)
      }
      // As fetch does: 303, and 301/302 after a POST, continue as a GET without a body.
      const toGet =
        res.status === 303 || ((res.status === 301 || res.status === 302) && current.method === 'POST')
      current = toGet
        ? {
            ...current,
            url: next.href,
            method: 'GET',
            body: undefined,
            headers: withoutBody(current.headers),
          }
        : { ...current, url: next.href }
    }
  } catch (err) {
    if (signal.aborted)
      throw new OutboundError('ZHIAN_ERR_NOTIFY_TIMEOUT', `no answer within ${limits.timeoutMs} ms`)
    throw err
  }
}

function withoutBody(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers }
  delete out['content-type']
  return out
}

/** Reads at most `max` bytes of the answer; at the cap the rest is not read and the connection is dropped. */
async function readCapped(res: Response, max: number): Promise<{ body: string; truncated: boolean }> {
  if (!res.body) return { body: '', truncated: false }
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { body: Buffer.concat(chunks).toString('utf8'), truncated: false }
    chunks.push(value.subarray(0, max - size))
    size += value.byteLength
    if (size >= max) {
      await reader.cancel()
      return { body: Buffer.concat(chunks).toString('utf8'), truncated: true }
    }
  }
}
