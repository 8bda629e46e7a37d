import crypto from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { RealClock } from '../../../src/core/clock.ts'
import type { Message } from '../../../src/dispatch/channels.ts'
import type { ChannelConfig } from '../../../src/dispatch/config.ts'
import { Outbox } from '../../../src/dispatch/outbox.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir, until } from '../../helpers/hub.ts'
import { Receiver } from '../../integration/dispatch/receiver.ts'

/**
 * Every channel format against a real loopback receiver that checks what the vendor checks:
 * the signature scheme (computed here from the vendor's documentation, not from our code) and the
 * body shape.
 */

const open: { db: Db; outbox: Outbox }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.outbox.stop()
    o.db.close()
  }
})

/** The "configuration" the outbox looks channels up in at send time: member → channels. */
const configured = new Map<string, ChannelConfig[]>()
const directory = (member: string) => configured.get(member)

function outbox(dataDir = tempDir('zhian-outbox-')) {
  const db = openDb(dataDir)
  const box = new Outbox({
    db,
    clock: new RealClock(),
    log: createLogger('silent'),
    retry: { baseMs: 50, maxMs: 200, attemptsPerChannel: 2 },
    directory,
  })
  box.open()
  box.start()
  open.push({ db, outbox: box })
  return { db, box, dataDir }
}

const message = (key: string): Message => ({
  key,
  event: 'work_order.dispatched',
  title: '【智安工单】困人 Passenger trapped',
  lines: ['1号楼1号电梯 5层困人', '级别:紧急', 'Passenger trapped at floor 5'],
  link: 'http://hub.test/#/work-orders/wo_1',
  data: { work_order: { id: 'wo_1' } },
})

const send = (box: Outbox, key: string, channels: ChannelConfig[]) => {
  configured.set(`team/${key}`, channels)
  return box.enqueue({
    key,
    work_order_id: 'wo_1',
    member: `team/${key}`,
    purpose: 'dispatch',
    channels,
    message: message(key),
  })
}

describe('channel formats over real HTTP', () => {
  it('generic webhook: JSON body with the idempotency key, HMAC-SHA256 of "<timestamp>.<body>" in x-zhian-signature', async () => {
    const rx = await new Receiver().start()
    const { box } = outbox()
    send(box, 'k-webhook', [{ type: 'webhook', url: `${rx.base}/hook`, secret: 's3cret' }])
    const [req] = await until(() => (rx.to('/hook').length ? rx.to('/hook') : undefined), 'webhook')
    const ts = req!.headers['x-zhian-timestamp'] as string
    const expected = crypto.createHmac('sha256', 's3cret').update(`${ts}.${req!.body}`).digest('hex')
    expect(req!.headers['x-zhian-signature']).toBe(`sha256=${expected}`)
    expect(Math.abs(Number(ts) * 1000 - Date.now())).toBeLessThan(10_000)
    expect(req!.headers['x-zhian-idempotency-key']).toBe('k-webhook')
    expect(req!.json).toMatchObject({
      event: 'work_order.dispatched',
      idempotency_key: 'k-webhook',
      link: 'http://hub.test/#/work-orders/wo_1',
      work_order: { id: 'wo_1' },
    })
    // Chinese first, then English.
    const text = (req!.json as { text: string }).text
    expect(text.indexOf('困人')).toBeLessThan(text.indexOf('Passenger trapped at floor 5'))
    await until(() => box.forWorkOrder('wo_1')[0]?.status === 'delivered', 'delivered')
  })

  it('DingTalk robot: markdown msgtype; timestamp + sign = base64(HmacSHA256(secret, "ts\\nsecret")) in the query', async () => {
    const rx = await new Receiver().start()
    const { box } = outbox()
    send(box, 'k-ding', [
      { type: 'dingtalk', url: `${rx.base}/robot/send?access_token=tok`, secret: 'SECabc' },
    ])
    const [req] = await until(
      () => (rx.to('/robot/send').length ? rx.to('/robot/send') : undefined),
      'dingtalk',
    )
    const ts = req!.query.get('timestamp')!
    expect(req!.query.get('access_token')).toBe('tok')
    const sign = crypto.createHmac('sha256', 'SECabc').update(`${ts}\nSECabc`).digest('base64')
    expect(req!.query.get('sign')).toBe(sign)
    expect(Math.abs(Number(ts) - Date.now())).toBeLessThan(10_000)
    const body = req!.json as { msgtype: string; markdown: { title: string; text: string } }
    expect(body.msgtype).toBe('markdown')
    expect(body.markdown.title).toContain('困人')
    expect(body.markdown.text).toContain('(http://hub.test/#/work-orders/wo_1)')
  })

  it('WeCom robot: markdown msgtype with content; an errcode in a 200 answer is a failure and falls back to the next channel', async () => {
    const rx = await new Receiver().start()
    rx.on('/wecom-broken', () => ({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }))
    const { box } = outbox()
    send(box, 'k-wecom', [
      { type: 'wecom', url: `${rx.base}/wecom-broken?key=x` },
      { type: 'wecom', url: `${rx.base}/wecom?key=y` },
    ])
    const [req] = await until(() => (rx.to('/wecom').length ? rx.to('/wecom') : undefined), 'fallback wecom')
    expect(rx.to('/wecom-broken')).toHaveLength(2)
    expect(req!.json).toMatchObject({
      msgtype: 'markdown',
      markdown: { content: expect.stringContaining('**【智安工单】') },
    })
    const [d] = await until(
      () => (box.forWorkOrder('wo_1')[0]?.status === 'delivered' ? box.forWorkOrder('wo_1') : undefined),
      'delivered',
    )
    expect(d).toMatchObject({ channel: 'wecom', channel_index: 1, attempts: 3, status: 'delivered' })
  })

  it('Feishu robot: post message with zh_cn content; timestamp (s) + sign = base64(HmacSHA256(key "ts\\nsecret", ""))', async () => {
    const rx = await new Receiver().start()
    const { box } = outbox()
    send(box, 'k-feishu', [
      { type: 'feishu', url: `${rx.base}/open-apis/bot/v2/hook/abc`, secret: 'fsecret' },
    ])
    const [req] = await until(
      () => (rx.to('/open-apis/bot/v2/hook/abc').length ? rx.requests : undefined),
      'feishu',
    )
    const body = req!.json as {
      timestamp: string
      sign: string
      msg_type: string
      content: {
        post: { zh_cn: { title: string; content: { tag: string; text: string; href?: string }[][] } }
      }
    }
    const sign = crypto.createHmac('sha256', `${body.timestamp}\nfsecret`).update('').digest('base64')
    expect(body.sign).toBe(sign)
    expect(Math.abs(Number(body.timestamp) * 1000 - Date.now())).toBeLessThan(10_000)
    expect(body.msg_type).toBe('post')
    expect(body.content.post.zh_cn.title).toContain('困人')
    expect(body.content.post.zh_cn.content.at(-1)![0]).toMatchObject({
      tag: 'a',
      href: 'http://hub.test/#/work-orders/wo_1',
    })
  })

  it('SMS gateway: the configured URL and body template, phone and text filled in, bearer secret', async () => {
    const rx = await new Receiver().start()
    const { box } = outbox()
    send(box, 'k-sms', [
      {
        type: 'sms',
        url: `${rx.base}/sms/send?to={to}`,
        to: '+8613800000001',
        secret: 'gw-token',
        method: 'POST',
        body: '{"phone":"{to}","content":"{text}","ref":"{key}"}',
        content_type: 'application/json',
      },
    ])
    const [req] = await until(() => (rx.to('/sms/send').length ? rx.to('/sms/send') : undefined), 'sms')
    expect(req!.query.get('to')).toBe('+8613800000001')
    expect(req!.headers.authorization).toBe('Bearer gw-token')
    const body = req!.json as { phone: string; content: string; ref: string }
    expect(body.phone).toBe('+8613800000001')
    expect(body.ref).toBe('k-sms')
    expect(body.content).toContain('困人')
    expect(body.content).toContain('http://hub.test/#/work-orders/wo_1')
  })
})

describe('outbox delivery guarantees', () => {
  it('receiver down for a while: retried with backoff, same key each time, delivered exactly once after it returns', async () => {
    const rx = await new Receiver().start()
    let down = true
    rx.on('/flaky', () => (down ? { status: 503 } : { status: 200 }))
    const { box } = outbox()
    send(box, 'k-flaky', [{ type: 'webhook', url: `${rx.base}/flaky` }])
    await until(() => rx.to('/flaky').length >= 3, 'three failed attempts')
    down = false
    await until(() => box.forWorkOrder('wo_1')[0]?.status === 'delivered', 'delivered after recovery')
    await new Promise((r) => setTimeout(r, 500))
    const reqs = rx.to('/flaky')
    expect(new Set(reqs.map((r) => r.headers['x-zhian-idempotency-key']))).toEqual(new Set(['k-flaky']))
    // Exactly one attempt got a 2xx, and nothing was sent after it.
    const ok = box.attemptsOf('k-flaky').filter((a) => a.ok)
    expect(ok).toHaveLength(1)
    expect(box.attemptsOf('k-flaky').at(-1)!.ok).toBe(true)
    expect(reqs).toHaveLength(box.attemptsOf('k-flaky').length)
    // Backoff grows: the gaps between attempts do not shrink to zero.
    const gaps = reqs.slice(1).map((r, i) => r.at - reqs[i]!.at)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20)
    // The same key again is the same notification: nothing new is queued.
    expect(send(box, 'k-flaky', [{ type: 'webhook', url: `${rx.base}/flaky` }])).toBe(false)
  })

  it('a connection refused counts as a failure and is retried until the receiver listens', async () => {
    const probe = await new Receiver().start()
    const port = probe.port
    await probe.stop()
    const { box } = outbox()
    send(box, 'k-refused', [{ type: 'webhook', url: `http://127.0.0.1:${port}/late` }])
    await until(() => box.attemptsOf('k-refused').length >= 2, 'refused attempts')
    expect(box.forWorkOrder('wo_1')[0]).toMatchObject({ status: 'pending', last_error: 'ECONNREFUSED' })
    const rx = await new Receiver().start(port)
    await until(() => box.forWorkOrder('wo_1')[0]?.status === 'delivered', 'delivered once listening', 8000)
    expect(rx.to('/late')).toHaveLength(1)
  })

  it('survives a restart: a notification queued before the stop is sent by the next outbox on the same database', async () => {
    const rx = await new Receiver().start()
    rx.on('/later', () => ({ status: 500 }))
    const first = outbox()
    send(first.box, 'k-restart', [{ type: 'webhook', url: `${rx.base}/later` }])
    await until(() => rx.to('/later').length >= 1, 'first attempt')
    await first.box.stop()
    first.db.close()
    open.splice(0, 1)
    rx.on('/later', () => ({ status: 200 }))
    const second = outbox(first.dataDir)
    await until(() => second.box.forWorkOrder('wo_1')[0]?.status === 'delivered', 'delivered after restart')
    expect(rx.to('/later').at(-1)!.headers['x-zhian-idempotency-key']).toBe('k-restart')
  })

  it('gives up after maxAge and marks the delivery failed with the last error', async () => {
    const rx = await new Receiver().start()
    rx.on('/dead', () => ({ status: 410 }))
    const db = openDb(tempDir('zhian-outbox-'))
    const box = new Outbox({
      db,
      clock: new RealClock(),
      log: createLogger('silent'),
      retry: { baseMs: 20, maxMs: 50, maxAgeMs: 300 },
      directory,
    })
    box.open()
    box.start()
    open.push({ db, outbox: box })
    send(box, 'k-dead', [{ type: 'webhook', url: `${rx.base}/dead` }])
    const [d] = await until(
      () => (box.forWorkOrder('wo_1')[0]?.status === 'failed' ? box.forWorkOrder('wo_1') : undefined),
      'failed',
    )
    expect(d!.last_error).toBe('HTTP 410')
    expect(box.pending()).toBe(0)
  })
})
