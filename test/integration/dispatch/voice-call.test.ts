import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import type { WorkOrder, WorkOrderEvent } from '../../../src/dispatch/types.ts'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'

/**
 * The voice call in a running hub, configured in the estate file: the property duty member has a
 * voice gateway (`provider: http`, token from the environment) after his SMS. The cover left open in
 * e1 escalates every second (the fixture's routing rule); being critical, its chain ends in a call,
 * which says the estate and the device by their names, in Chinese.
 */

process.env.ZHIAN_TEST_VOICE_GATEWAY_TOKEN = 'voice-gateway-token-7f3'

function withVoiceGateway(file: string): string {
  const text = fs.readFileSync(file, 'utf8')
  const sms = text.split('\n').find((l) => l.includes('{ type: sms,'))!
  const indent = sms.slice(0, sms.indexOf('-'))
  const voice = `${indent}- { type: voice, provider: http, url: "${new URL('/voice', text.match(/http:\/\/127\.0\.0\.1:\d+/)![0]).href}", to: "13800000001", secret_env: ZHIAN_TEST_VOICE_GATEWAY_TOKEN, body: '{"phone":"{to}","estate":"{estate}","device":"{device}","alert":"{alert}","say":"{text}","ref":"{key}"}' }`
  fs.writeFileSync(file, text.replace(sms, `${sms}\n${voice}`))
  return file
}

describe('voice call from the estate file, in a running hub', () => {
  it('a critical cover left open ends its escalation in a call to the duty member, naming the estate and device', async () => {
    const rx = await new Receiver().start()
    const h = await buildHub({ estateFile: withVoiceGateway(estateFor(rx)) })
    const mh = await connectDevice(h.mqttUrl, 'mh1')
    await mh.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true, tilt_deg: 40 }), {
      qos: 1,
    })
    // The SMS first (text goes by text channels only); the call comes after the chain's three steps.
    await until(() => rx.to('/sms').length > 0, 'sms to duty1')
    expect(rx.to('/voice')).toHaveLength(0)
    const [call] = await until(
      () => (rx.to('/voice').length ? rx.to('/voice') : undefined),
      'the call',
      15_000,
    )
    expect(call!.headers.authorization).toBe('Bearer voice-gateway-token-7f3')
    const body = call!.json as Record<string, string>
    expect(body).toMatchObject({ phone: '13800000001', estate: '一号小区', device: '1号井盖' })
    expect(body.alert).toMatch(/井盖/)
    expect(body.say).toMatch(/^一号小区,.*井盖.*无人接单,请立即处理。$/)
    expect(body.ref).toMatch(/:call:4:property_duty\/duty1$/)
    expect(JSON.stringify(body)).not.toMatch(/\be1\b|mh1/)

    // The order's chain and history say so.
    const alerts = (await (await h.api('/api/alerts?type=manhole.cover_open')).json()) as { items: Alert[] }
    const list = (await (await h.api(`/api/work-orders?alert=${alerts.items[0]!.id}`)).json()) as {
      items: WorkOrder[]
    }
    const wo = list.items[0]!
    expect(wo.escalation.steps.map((s) => s.to).at(-1)).toBe('call')
    await until(async () => {
      const d = (await (await h.api(`/api/work-orders/${wo.id}`)).json()) as { events: WorkOrderEvent[] }
      return d.events.some((e) => e.note?.startsWith('语音呼叫已送达 值班员小周'))
    }, 'the call delivered, in the history')
    await mh.endAsync()
  })
})
