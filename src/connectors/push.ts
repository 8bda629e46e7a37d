import { ZhianError } from '../errors.ts'
import type { PushConfig } from './config.ts'
import type { Outcome, Pipeline } from './pipeline.ts'
import { parseCtwing } from './platforms/ctwing.ts'
import { parseHttpPush } from './platforms/http-push.ts'
import { onenetEnvelope, onenetSignature, parseOnenet } from './platforms/onenet.ts'
import { bearerOf, sameSecret } from './secrets.ts'
import type { ParseResult } from './uplink.ts'

/**
 * One push connector (CTWing, OneNET, the generic push): who may push (token or signature, compared in
 * constant time), how fast (a token bucket per connector), and what the platform is answered. The
 * HTTP routes (src/http/routes/ingest.ts) hand requests here.
 *
 * What a refusal is answered: a bad token or signature 401, a body not in the platform's format 400,
 * too fast 429, the journal not taking it in time 503 (the platform retries: nothing is lost). An
 * uplink refused for its device — unclaimed, undecodable, invalid for the kind — is counted, listed
 * and logged; the generic push is answered its coded 4xx, but CTWing and OneNET get 200 with the coded
 * body: a retry cannot change the answer, and their failures put the whole subscription into retries
 * and cool-downs (CTWing: a receiver failing often gets nothing for a minute) that delay every other
 * device's uplinks.
 */

export interface PushRequest {
  query: Record<string, unknown>
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

export interface PushAnswer {
  status: number
  body: unknown
  /** text/plain (OneNET's URL check answer), else JSON. */
  text?: boolean
}

export class PushConnector {
  private tokens: number
  private refilled = Date.now()

  constructor(
    readonly config: PushConfig,
    private readonly pipeline: Pipeline,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = this.burst
  }

  /** OneNET's URL check: `GET ?msg&nonce&signature`, answered `msg` when the signature is the configured token's. */
  verifyUrl(query: Record<string, unknown>): PushAnswer {
    if (this.config.type !== 'onenet')
      return refused(new ZhianError('ZHIAN_ERR_NOT_FOUND', 'GET is for OneNET'))
    const { msg, nonce, signature } = query
    if (typeof msg !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') {
      return refused(new ZhianError('ZHIAN_ERR_PUSH_INVALID', 'msg, nonce and signature are required'))
    }
    if (!this.onenetSigned(msg, nonce, signature))
      return this.refused(new ZhianError('ZHIAN_ERR_PUSH_SIGNATURE'))
    return { status: 200, body: msg, text: true }
  }

  async push(req: PushRequest): Promise<PushAnswer> {
    // OneNET signs inside its envelope: an envelope that is not OneNET's cannot be checked at all.
    const envelope = this.config.type === 'onenet' ? onenetEnvelope(req.body) : undefined
    if (envelope && 'error' in envelope)
      return this.refused(new ZhianError('ZHIAN_ERR_PUSH_INVALID', envelope.error))
    if (!this.authentic(req)) return this.refused(new ZhianError('ZHIAN_ERR_PUSH_SIGNATURE'))
    if (!this.allow())
      return this.refused(new ZhianError('ZHIAN_ERR_RATE_LIMITED', `over ${this.config.rate_per_s} pushes/s`))
    const parsed = this.parse(req.body)
    if ('error' in parsed)
      return this.refused(new ZhianError('ZHIAN_ERR_PUSH_INVALID', parsed.error.slice(0, 200)))
    const outcomes: Outcome[] = []
    for (const up of parsed.uplinks) outcomes.push(await this.pipeline.take(this.config, up))
    return this.answer(outcomes)
  }

  private authentic(req: PushRequest): boolean {
    switch (this.config.type) {
      case 'ctwing': {
        // CTWing signs nothing by default: the secret is part of the URL registered on CTWing.
        const token = req.query.token
        return sameSecret(typeof token === 'string' ? token : undefined, this.config.token)
      }
      case 'onenet': {
        const env = onenetEnvelope(req.body)
        return !('error' in env) && this.onenetSigned(env.msg, env.nonce, env.signature)
      }
      case 'http': {
        const header = req.headers.authorization
        return sameSecret(bearerOf(typeof header === 'string' ? header : undefined), this.config.token)
      }
    }
  }

  private onenetSigned(msg: string, nonce: string, signature: string): boolean {
    const expected = onenetSignature(this.config.token, nonce, msg)
    // A query string's `+` arrives as a space when the platform did not percent-encode it.
    return sameSecret(signature, expected) || sameSecret(signature.replaceAll(' ', '+'), expected)
  }

  private parse(body: unknown): ParseResult {
    switch (this.config.type) {
      case 'ctwing':
        return parseCtwing(body)
      case 'onenet': {
        const env = onenetEnvelope(body)
        if ('error' in env) return env
        return parseOnenet(env.msg, env.id)
      }
      case 'http':
        return parseHttpPush(body)
    }
  }

  /** The worst outcome decides the status (a push usually carries one uplink). */
  private answer(outcomes: Outcome[]): PushAnswer {
    const refusal = outcomes.find((o): o is Extract<Outcome, { status: 'refused' }> => o.status === 'refused')
    if (!refusal) {
      const status = outcomes.some((o) => o.status === 'accepted')
        ? 'accepted'
        : (outcomes[0]?.status ?? 'ignored')
      return { status: 200, body: { status } }
    }
    const error = refusal.error
    const retry = error.status >= 500
    if (this.config.type === 'http' || retry) return refused(error)
    return { status: 200, body: { status: 'refused', ...error.toJSON() } }
  }

  /** Refused before the pipeline: counted with the connector's uplinks. */
  private refused(error: ZhianError): PushAnswer {
    this.pipeline.count(this.config.id, error.code)
    return refused(error)
  }

  private get burst(): number {
    return this.config.rate_per_s * 2
  }

  private allow(): boolean {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) / 1000) * this.config.rate_per_s)
    this.refilled = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

function refused(error: ZhianError): PushAnswer {
  return { status: error.status, body: { status: 'refused', ...error.toJSON() } }
}
