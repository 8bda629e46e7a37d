import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { configFromEnv } from '../../../src/config/env.ts'
import { RealClock } from '../../../src/core/clock.ts'
import type { Message } from '../../../src/dispatch/channels.ts'
import type { ChannelConfig } from '../../../src/dispatch/config.ts'
import { Outbox, type RetryPolicy } from '../../../src/dispatch/outbox.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir, until } from '../../helpers/hub.ts'
import { storeBytes } from '../../helpers/store.ts'
import { Receiver } from '../../integration/dispatch/receiver.ts'
import { dispatchRig, fixtureConfig } from './rig.ts'

/**
 * What the outbox keeps on disk and what it lets a receiver do to it: no channel secret in the store,
 * no redirect to another origin, a bounded answer, a time limit. Real loopback receivers throughout.
 */

const open: { db: Db; outbox: Outbox }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.outbox.stop()
    o.db.close()
  }
})

const configured = new Map<string, ChannelConfig[]>()

function outbox(retry: Partial<RetryPolicy> = {}, dataDir = tempDir('zhian-outbox-')) {
  const db = openDb(dataDir)
  const box = new Outbox({
    db,
    clock: new RealClock(),
    log: createLogger('silent'),
    retry: { baseMs: 50, maxMs: 200, attemptsPerChannel: 2, ...retry },
    directory: (member) => configured.get(member),
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
  lines: ['1号楼1号电梯 5层困人'],
  link: 'http://hub.test/#/work-orders/wo_1',
  data: { work_order: { id: 'wo_1' } },
})

function send(box: Outbox, key: string, channels: ChannelConfig[]): void {
  configured.set(`team/${key}`, channels)
  box.enqueue({
    key,
    work_order_id: 'wo_1',
    member: `team/${key}`,
    purpose: 'dispatch',
    channels,
    message: message(key),
  })
}

const deliveryOf = (box: Outbox, key: string) => box.forWorkOrder('wo_1').find((d) => d.key === key)

/** A receiver that answers 200 and then streams body bytes until the caller hangs up. */
async function endlessReceiver(): Promise<{ url: string; sent: () => number; requests: () => number }> {
  let sent = 0
  let requests = 0
  const server = http.createServer((req, res) => {
    requests++
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json' })
    const chunk = Buffer.alloc(64 * 1024, 'a')
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length
      if (!res.destroyed) res.once('drain', pump)
    }
    pump()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/endless`, sent: () => sent, requests: () => requests }
}

describe('channel secrets stay out of the store', () => {
  it('after notifications on every channel type the outbox rows and the database files hold no URL token, HMAC key or bearer token, and the receivers got correctly signed requests', async () => {
    const rx = await new Receiver().start()
    const r = await dispatchRig(rx)
    await r.raise()
    // The others of the fixture's teams, one notification each: DingTalk, WeCom, SMS, Feishu.
    const teams = fixtureConfig(rx).teams
    for (const [team, member] of [
      ['lift_a', 'li'],
      ['lift_a', 'boss'],
      ['property_duty', 'duty1'],
      ['lift_b', 'zhao'],
    ] as const) {
      const channels = teams.find((t) => t.id === team)!.members.find((m) => m.id === member)!.channels
      r.dispatcher.outbox.enqueue({
        key: `k-${member}`,
        work_order_id: 'wo_x',
        member: `${team}/${member}`,
        purpose: 'dispatch',
        channels,
        message: message(`k-${member}`),
      })
    }
    for (const p of ['/wang', '/li-ding', '/boss-wecom', '/sms', '/zhao-feishu'])
      await until(() => rx.to(p).length > 0, `a request to ${p}`)
    // The secrets were used, looked up at send time.
    const wang = rx.to('/wang')[0]!
    const ts = wang.headers['x-zhian-timestamp'] as string
    const hmac = crypto.createHmac('sha256', 'wang-webhook-secret').update(`${ts}.${wang.body}`).digest('hex')
    expect(wang.headers['x-zhian-signature']).toBe(`sha256=${hmac}`)
    expect(rx.to('/li-ding')[0]!.query.get('access_token')).toBe('abc')
    expect(rx.to('/boss-wecom')[0]!.query.get('key')).toBe('k1')
    expect(rx.to('/sms')[0]!.headers.authorization).toBe('Bearer sms-token')

    const rows = JSON.stringify(r.db.prepare('SELECT * FROM outbox').all())
    expect(rows).toContain('dingtalk')
    const secrets = [
      'wang-webhook-secret',
      'SEC-li-ding',
      'access_token=abc',
      'key=k1',
      'sms-token',
      'zhao-feishu-secret',
    ]
    for (const s of secrets) expect(rows).not.toContain(s)
    const bytes = storeBytes(r.dataDir, r.db)
    for (const s of secrets) expect(bytes.includes(s), `${s} on disk`).toBe(false)
  })

  it('a row written by the previous version (whole channel with its secret) is still sent, signed, and holds no secret once delivered; settled old rows are cleaned at open', async () => {
    const rx = await new Receiver().start()
    rx.on('/old', () => ({ status: 503 }))
    const dataDir = tempDir('zhian-outbox-')
    const db = openDb(dataDir)
    new Outbox({ db, clock: new RealClock(), log: createLogger('silent') }).open()
    const legacy = (key: string, status: string, url: string) =>
      db
        .prepare(
          `INSERT INTO outbox (key, work_order_id, member, purpose, channels, message, status, next_at, created_at)
           VALUES (?, 'wo_1', 'gone/member', 'dispatch', ?, ?, ?, ?, ?)`,
        )
        .run(
          key,
          JSON.stringify([{ type: 'webhook', url, secret: 'old-row-secret' }]),
          JSON.stringify(message(key)),
          status,
          Date.now(),
          Date.now(),
        )
    legacy('k-old-pending', 'pending', `${rx.base}/old`)
    legacy('k-old-done', 'delivered', `${rx.base}/done`)
    db.close()

    const { box, db: db2 } = outbox({}, dataDir)
    const done = db2.prepare("SELECT channels FROM outbox WHERE key = 'k-old-done'").get() as {
      channels: string
    }
    expect(JSON.parse(done.channels)).toEqual([{ type: 'webhook' }])
    await until(() => rx.to('/old').length > 0, 'the old row sent')
    const req = rx.to('/old')[0]!
    const ts = req.headers['x-zhian-timestamp'] as string
    const hmac = crypto.createHmac('sha256', 'old-row-secret').update(`${ts}.${req.body}`).digest('hex')
    expect(req.headers['x-zhian-signature']).toBe(`sha256=${hmac}`)
    // Still pending (503): it keeps what it needs to be sent again.
    expect(deliveryOf(box, 'k-old-pending')?.status).toBe('pending')
    rx.on('/old', () => ({ status: 200 }))
    await until(() => deliveryOf(box, 'k-old-pending')?.status === 'delivered', 'delivered')
    expect(JSON.stringify(db2.prepare('SELECT * FROM outbox').all())).not.toContain('old-row-secret')
    expect(storeBytes(dataDir, db2).includes('old-row-secret')).toBe(false)
  })

  it('a member whose channel became another type after it was queued: the notification fails with ZHIAN_ERR_CHANNEL_GONE and nothing is sent', async () => {
    const rx = await new Receiver().start()
    const db = openDb(tempDir('zhian-outbox-'))
    const box = new Outbox({
      db,
      clock: new RealClock(),
      log: createLogger('silent'),
      directory: (member) => configured.get(member),
    })
    box.open()
    open.push({ db, outbox: box })
    // Queued while stopped (as before a restart), then the configuration changes.
    send(box, 'k-gone', [{ type: 'webhook', url: `${rx.base}/gone`, secret: 'x-secret' }])
    configured.set('team/k-gone', [{ type: 'wecom', url: `${rx.base}/other?key=1` }])
    box.start()
    await until(() => deliveryOf(box, 'k-gone')?.status === 'failed', 'failed')
    expect(deliveryOf(box, 'k-gone')!.last_error).toBe(
      'ZHIAN_ERR_CHANNEL_GONE: team/k-gone channel 1 (webhook) is no longer configured',
    )
    expect(rx.requests).toHaveLength(0)
  })
})

describe('outbound HTTP limits', () => {
  it('does not follow a redirect to another origin: the other host never sees the request or its signature; the attempt fails with ZHIAN_ERR_REDIRECT_REFUSED', async () => {
    const rx = await new Receiver().start()
    const thief = await new Receiver().start()
    rx.on('/hook', () => ({ status: 307, headers: { location: `${thief.base}/steal?x=1` } }))
    const { box } = outbox()
    send(box, 'k-redirect', [{ type: 'webhook', url: `${rx.base}/hook`, secret: 'hmac-key' }])
    await until(() => box.attemptsOf('k-redirect').length >= 2, 'two attempts')
    expect(thief.requests).toHaveLength(0)
    const d = deliveryOf(box, 'k-redirect')!
    expect(d.status).toBe('pending')
    expect(d.last_error).toBe(`ZHIAN_ERR_REDIRECT_REFUSED: HTTP 307 to ${thief.base}`)
  })

  it('follows a redirect within the receiver’s own origin, keeping method, body and signature', async () => {
    const rx = await new Receiver().start()
    rx.on('/moved', () => ({ status: 308, headers: { location: '/hook' } }))
    const { box } = outbox()
    send(box, 'k-moved', [{ type: 'webhook', url: `${rx.base}/moved`, secret: 'hmac-key' }])
    await until(() => deliveryOf(box, 'k-moved')?.status === 'delivered', 'delivered')
    const req = rx.to('/hook')[0]!
    expect(req.method).toBe('POST')
    const ts = req.headers['x-zhian-timestamp'] as string
    const hmac = crypto.createHmac('sha256', 'hmac-key').update(`${ts}.${req.body}`).digest('hex')
    expect(req.headers['x-zhian-signature']).toBe(`sha256=${hmac}`)
  })

  it('reads only the start of an endless answer: the delivery settles instead of reading until the time limit', async () => {
    const rx = await endlessReceiver()
    // A long time limit: only the body cap can end this exchange within the wait below.
    const { box } = outbox({ timeoutMs: 120_000 })
    send(box, 'k-endless', [{ type: 'webhook', url: rx.url }])
    await until(() => deliveryOf(box, 'k-endless')?.status === 'delivered', 'delivered', 10_000)
    expect(rx.requests()).toBe(1)
    // The sender stopped reading: what the receiver got out is bounded by socket buffers, not growing.
    const sent = rx.sent()
    await new Promise((r) => setTimeout(r, 200))
    expect(rx.sent()).toBe(sent)
  })

  it('a receiver that never answers: the attempt ends with ZHIAN_ERR_NOTIFY_TIMEOUT and is retried; delivered once it answers', async () => {
    const rx = await new Receiver().start()
    let hang = true
    rx.on('/slow', () => (hang ? 'hang' : { status: 200 }))
    const { box } = outbox({ timeoutMs: 300 })
    send(box, 'k-slow', [{ type: 'webhook', url: `${rx.base}/slow` }])
    await until(() => box.attemptsOf('k-slow').length >= 2, 'two timed-out attempts', 10_000)
    expect(box.attemptsOf('k-slow')[0]!.error).toBe('ZHIAN_ERR_NOTIFY_TIMEOUT: no answer within 300 ms')
    expect(deliveryOf(box, 'k-slow')?.status).toBe('pending')
    hang = false
    await until(() => deliveryOf(box, 'k-slow')?.status === 'delivered', 'delivered', 10_000)
  })

  it('a robot’s error text shown on the delivery is cut to 200 characters', async () => {
    const rx = await new Receiver().start()
    rx.on('/wecom', () => ({
      status: 200,
      body: JSON.stringify({ errcode: 93000, errmsg: `invalid webhook url ${'x'.repeat(5000)}` }),
    }))
    const { box } = outbox()
    send(box, 'k-long', [{ type: 'wecom', url: `${rx.base}/wecom?key=1` }])
    await until(() => box.attemptsOf('k-long').length >= 1, 'an attempt')
    const error = deliveryOf(box, 'k-long')!.last_error!
    expect(error.startsWith('code 93000: invalid webhook url xxx')).toBe(true)
    expect([...error].length).toBeLessThanOrEqual(200)
  })

  it('ZHIAN_NOTIFY_TIMEOUT_MS sets the time limit (default 10 s); a value under 100 ms is refused with ZHIAN_ERR_ENV_INVALID', () => {
    expect(configFromEnv({}).notifyTimeoutMs).toBe(10_000)
    expect(configFromEnv({ ZHIAN_NOTIFY_TIMEOUT_MS: '2500' }).notifyTimeoutMs).toBe(2500)
    expect(() => configFromEnv({ ZHIAN_NOTIFY_TIMEOUT_MS: '5' })).toThrow(/ZHIAN_NOTIFY_TIMEOUT_MS/)
  })
})
