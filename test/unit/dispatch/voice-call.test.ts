import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CHANNELS_SCHEMA, type DispatchConfig } from '../../../src/dispatch/config.ts'
import { until } from '../../helpers/hub.ts'
import { storeBytes } from '../../helpers/store.ts'
import { type Answer, type Received, Receiver } from '../../integration/dispatch/receiver.ts'
import { dispatchRig, flush, MIN } from './rig.ts'

/**
 * A critical work order nobody accepts ends in a voice call. Two loopback servers stand in for the
 * providers and check what the real ones check: the documented parameters and headers, and the
 * signature recomputed here from the providers' public descriptions (not with the hub's code).
 */

const ALIYUN_ID = 'LTAI-test-key-id'
const ALIYUN_SECRET = 'aliyun-test-secret-Xy9'
const TENCENT_ID = 'AKID-test-secret-id'
const TENCENT_SECRET = 'tencent-test-secret-Qw7'
process.env.ZHIAN_TEST_VOICE_ALIYUN_SECRET = ALIYUN_SECRET

/** RFC 3986 byte by byte: unreserved A-Z a-z 0-9 - _ . ~ kept, everything else %XY (upper case). */
function rfc3986(s: string): string {
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Aliyun RPC signature v1.0 as 签名机制 describes it, checked on a received form body. */
function aliyunSignatureOk(body: string): boolean {
  const pairs = body
    .split('&')
    .map((kv) => kv.split('=').map((x) => decodeURIComponent(x)) as [string, string])
  const signature = pairs.find(([k]) => k === 'Signature')?.[1]
  const canonical = pairs
    .filter(([k]) => k !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&')
  const toSign = `POST&${rfc3986('/')}&${rfc3986(canonical)}`
  const expected = crypto.createHmac('sha1', `${ALIYUN_SECRET}&`).update(toSign).digest('base64')
  return signature === expected
}

/** Tencent Cloud signature v3 (TC3-HMAC-SHA256), recomputed from the received request. */
function tencentSignatureOk(r: Received): boolean {
  const auth = String(r.headers.authorization ?? '')
  const m =
    /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/vms\/tc3_request, SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    )
  if (!m || m[1] !== TENCENT_ID) return false
  const [, , date, signed, signature] = m as unknown as [string, string, string, string, string]
  const names = signed.split(';')
  const canonicalHeaders = names.map((h) => `${h}:${String(r.headers[h]).trim().toLowerCase()}\n`).join('')
  const hex = (s: string) => crypto.createHash('sha256').update(s).digest('hex')
  const canonical = `POST\n/\n\n${canonicalHeaders}\n${signed}\n${hex(r.body)}`
  const ts = String(r.headers['x-tc-timestamp'])
  const toSign = `TC3-HMAC-SHA256\n${ts}\n${date}/vms/tc3_request\n${hex(canonical)}`
  const h = (k: crypto.BinaryLike, s: string) => crypto.createHmac('sha256', k).update(s).digest()
  const key = h(h(h(`TC3${TENCENT_SECRET}`, date), 'vms'), 'tc3_request')
  return (
    names.includes('content-type') &&
    names.includes('host') &&
    new Date(Number(ts) * 1000).toISOString().slice(0, 10) === date &&
    crypto.createHmac('sha256', key).update(toSign).digest('hex') === signature
  )
}

/** The Aliyun stand-in: 400 SignatureDoesNotMatch on a bad signature, as the service answers. */
function aliyun(r: Received): Answer {
  if (!aliyunSignatureOk(r.body))
    return {
      status: 400,
      body: '{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched"}',
    }
  return {
    status: 200,
    body: '{"Code":"OK","Message":"OK","RequestId":"r-1","CallId":"116012354148^10281378"}',
  }
}

/** The Tencent stand-in: HTTP 200 with Response.Error on failure, as API 3.0 answers. */
function tencent(r: Received): Answer {
  if (!tencentSignatureOk(r))
    return {
      status: 200,
      body: '{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"signature mismatch"},"RequestId":"r-2"}}',
    }
  return {
    status: 200,
    body: '{"Response":{"SendStatus":{"CallId":"c-1","SessionContext":"x"},"RequestId":"r-3"}}',
  }
}

const NAMES = {
  site: (id: string) => ({ e1: '一号小区', e1_b1: '1号楼' })[id],
  device: (id: string) => ({ lift1: '1号楼1号电梯' })[id],
}

/** Wang (the fitter on duty) has an Aliyun voice channel after his webhook; Chen, the lead, a Tencent one. */
function withVoice(rx: Receiver, aliyunPath = '/aliyun/') {
  return (config: DispatchConfig) => {
    const lift = config.teams.find((t) => t.id === 'lift_a')!
    const wang = lift.members.find((m) => m.id === 'wang')!
    const boss = lift.members.find((m) => m.id === 'boss')!
    wang.channels.push(
      ...CHANNELS_SCHEMA.parse([
        {
          type: 'voice',
          provider: 'aliyun',
          url: `${rx.base}${aliyunPath}`,
          to: '13900000001',
          template: 'TTS_200000001',
          access_key_id: ALIYUN_ID,
          secret_env: 'ZHIAN_TEST_VOICE_ALIYUN_SECRET',
        },
      ]),
    )
    boss.channels.push(
      ...CHANNELS_SCHEMA.parse([
        {
          type: 'voice',
          provider: 'tencent',
          url: `${rx.base}/tencent/`,
          to: '+8613900000002',
          sdk_app_id: '1400006666',
          template: '4356',
          secret_id: TENCENT_ID,
          secret: TENCENT_SECRET,
        },
      ]),
    )
  }
}

/** Dispatch, then 5 min per step: next on duty, lead, estate manager, community grid, voice call. */
async function runChain(r: Awaited<ReturnType<typeof dispatchRig>>) {
  for (let i = 0; i < 5; i++) {
    r.clock.advance(5 * MIN)
    await flush()
  }
}

const formOf = (body: string) => new URLSearchParams(body)

describe('voice call as the last step of a critical escalation', () => {
  it('calls everyone notified who has a voice channel, through Aliyun and Tencent, in their documented formats, signed', async () => {
    const rx = await new Receiver().start()
    rx.on('/aliyun/', aliyun)
    rx.on('/tencent/', tencent)
    const r = await dispatchRig(rx, { edit: withVoice(rx), names: NAMES })
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    // The chain of the order ends in the call: the team's four steps, then `call`.
    expect(wo!.escalation.steps.map((s) => s.to)).toEqual([
      'next_on_duty',
      'lead',
      'team:property_duty',
      'team:community_grid',
      'call',
    ])
    await until(() => rx.to('/wang').length === 1, 'dispatch by webhook')
    // A chat message first: no call yet.
    expect(rx.to('/aliyun/')).toHaveLength(0)

    await runChain(r)
    const [call] = await until(
      () => (rx.to('/aliyun/').length ? rx.to('/aliyun/') : undefined),
      'Aliyun call',
    )
    const [tcall] = await until(
      () => (rx.to('/tencent/').length ? rx.to('/tencent/') : undefined),
      'Tencent call',
    )

    // Aliyun SingleCallByTts: a form POST with the RPC common parameters and the call's own.
    expect(call!.method).toBe('POST')
    expect(call!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    const form = formOf(call!.body)
    expect(
      Object.fromEntries(
        [...form.entries()].filter(([k]) => !['SignatureNonce', 'Timestamp', 'Signature'].includes(k)),
      ),
    ).toEqual({
      AccessKeyId: ALIYUN_ID,
      Action: 'SingleCallByTts',
      Format: 'JSON',
      RegionId: 'cn-hangzhou',
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      Version: '2017-05-25',
      CalledNumber: '13900000001',
      TtsCode: 'TTS_200000001',
      PlayTimes: '2',
      TtsParam: JSON.stringify({ estate: '一号小区', device: '1号楼1号电梯', alert: '困人' }),
    })
    expect(form.get('Timestamp')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    expect(form.get('SignatureNonce')).toMatch(/^[0-9a-f-]{36}$/)
    expect(aliyunSignatureOk(call!.body)).toBe(true)

    // Tencent SendTtsVoice: JSON with the API 3.0 headers, parameters in the template's order.
    expect(tcall!.headers['x-tc-action']).toBe('SendTtsVoice')
    expect(tcall!.headers['x-tc-version']).toBe('2020-09-02')
    expect(tcall!.headers['x-tc-region']).toBe('ap-guangzhou')
    expect(tcall!.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(tcall!.json).toEqual({
      TemplateId: '4356',
      TemplateParamSet: ['一号小区', '1号楼1号电梯', '困人'],
      CalledNumber: '+8613900000002',
      VoiceSdkAppid: '1400006666',
      PlayTimes: 2,
      SessionContext: expect.stringContaining(':call:'),
    })
    expect(tencentSignatureOk(tcall!)).toBe(true)

    // Both calls are in the work order's history, by name; nobody is called twice.
    await until(
      () =>
        r.dispatcher.store.events(wo!.id).filter((e) => e.note?.startsWith('语音呼叫已送达')).length === 2,
      'both calls delivered',
    )
    const notes = r.dispatcher.store.events(wo!.id).map((e) => e.note ?? '')
    expect(notes).toContainEqual(expect.stringContaining('语音呼叫 王师傅、陈经理'))
    expect(notes.filter((n) => n.startsWith('语音呼叫已送达'))).toEqual([
      expect.stringContaining('王师傅'),
      expect.stringContaining('陈经理'),
    ])
    expect(rx.to('/aliyun/')).toHaveLength(1)
    expect(rx.to('/tencent/')).toHaveLength(1)
    // Text messages never went to a voice channel, and the call went by voice only.
    expect(rx.to('/wang').every((q) => q.json !== undefined)).toBe(true)

    // The secrets were used to sign and are nowhere in the store.
    await r.dispatcher.stop()
    const bytes = storeBytes(r.dataDir, r.db).toString('latin1')
    expect(bytes.length).toBeGreaterThan(0)
    expect(bytes).not.toContain(ALIYUN_SECRET)
    expect(bytes).not.toContain(TENCENT_SECRET)
  })

  it('a failing provider is retried through the outbox until it takes the call, with a fresh signature each time', async () => {
    const rx = await new Receiver().start()
    let failures = 2
    rx.on('/aliyun-flaky/', (q) => {
      if (failures-- > 0)
        return { status: 200, body: '{"Code":"isp.SYSTEM_ERROR","Message":"system error","RequestId":"r"}' }
      return aliyun(q)
    })
    rx.on('/tencent/', tencent)
    const r = await dispatchRig(rx, { edit: withVoice(rx, '/aliyun-flaky/'), names: NAMES })
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    await runChain(r)
    const call = await until(
      () =>
        r.dispatcher
          .deliveries(wo!.id)
          .find((d) => d.purpose === 'call' && d.member === 'lift_a/wang' && d.status === 'delivered'),
      'the call delivered after two failures',
    )
    expect(call.attempts).toBe(3)
    const attempts = r.dispatcher.outbox.attemptsOf(call.key)
    expect(attempts.map((a) => a.ok)).toEqual([false, false, true])
    expect(attempts[0]!.error).toBe('isp.SYSTEM_ERROR: system error')
    const sent = rx.to('/aliyun-flaky/').map((q) => formOf(q.body))
    expect(sent).toHaveLength(3)
    expect(new Set(sent.map((f) => f.get('SignatureNonce'))).size).toBe(3)
    expect(sent.every((f) => f.get('CalledNumber') === '13900000001')).toBe(true)
  })

  it('Tencent answering Response.Error is a failed attempt, retried; a wrong Aliyun secret is refused by the stand-in and shown on the order', async () => {
    const rx = await new Receiver().start()
    let limited = 1
    rx.on('/tencent/', (q) =>
      limited-- > 0
        ? {
            status: 200,
            body: '{"Response":{"Error":{"Code":"LimitExceeded.Frequency","Message":"too often"},"RequestId":"r"}}',
          }
        : tencent(q),
    )
    rx.on('/aliyun/', aliyun)
    const r = await dispatchRig(rx, {
      edit: (config) => {
        withVoice(rx)(config)
        const wang = config.teams.find((t) => t.id === 'lift_a')!.members.find((m) => m.id === 'wang')!
        const voice = wang.channels.find((c) => c.type === 'voice')!
        Object.assign(voice, { secret: 'not-the-secret', secret_env: undefined })
      },
      names: NAMES,
    })
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    await runChain(r)
    const boss = await until(
      () =>
        r.dispatcher
          .deliveries(wo!.id)
          .find((d) => d.purpose === 'call' && d.member === 'lift_a/boss' && d.status === 'delivered'),
      'the Tencent call delivered on the second attempt',
    )
    expect(r.dispatcher.outbox.attemptsOf(boss.key).map((a) => [a.ok, a.error])).toEqual([
      [false, 'LimitExceeded.Frequency: too often'],
      [true, null],
    ])
    const wang = await until(
      () =>
        r.dispatcher
          .deliveries(wo!.id)
          .find((d) => d.purpose === 'call' && d.member === 'lift_a/wang' && d.attempts >= 2),
      'two refused Aliyun attempts',
    )
    expect(wang.status).toBe('pending')
    expect(wang.last_error).toBe('SignatureDoesNotMatch: Specified signature is not matched')
  })

  it('without any voice channel a critical chain does not end in a call', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    const alert = await r.raise()
    const [wo] = r.dispatcher.store.query({ alert: alert.id })
    expect(wo!.escalation.steps.map((s) => s.to)).not.toContain('call')
  })
})
