import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { CHANNELS_SCHEMA, type DispatchConfig } from '../../../src/dispatch/config.ts'
import { Router } from '../../../src/dispatch/routing.ts'
import { aliyunSignature, tc3CanonicalRequest } from '../../../src/dispatch/voice.ts'

/** The signing code against the worked examples the providers publish, and the voice channel's configuration. */
describe('voice providers: signatures against the published examples', () => {
  it('Aliyun RPC signature: the DescribeRegions example of 签名机制 (testid / testsecret)', () => {
    const params = {
      Timestamp: '2016-02-23T12:46:24Z',
      Format: 'XML',
      AccessKeyId: 'testid',
      Action: 'DescribeRegions',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
      Version: '2014-05-26',
      SignatureVersion: '1.0',
    }
    expect(aliyunSignature('GET', params, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=')
  })

  it('Tencent TC3: the canonical request of the DescribeInstances example hashes to the published value', () => {
    const payload =
      '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    const canonical = tc3CanonicalRequest('cvm.tencentcloudapi.com', 'DescribeInstances', payload)
    expect(crypto.createHash('sha256').update(canonical).digest('hex')).toBe(
      '7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84',
    )
  })
})

describe('voice channel configuration', () => {
  const aliyun = {
    type: 'voice',
    provider: 'aliyun',
    to: '13900000001',
    template: 'TTS_1',
    access_key_id: 'id',
  }

  it('fills the provider defaults: endpoint, region, the three variables, two plays', () => {
    const [c] = CHANNELS_SCHEMA.parse([{ ...aliyun, secret: 's' }])
    expect(c).toMatchObject({
      url: 'https://dyvmsapi.aliyuncs.com/',
      region: 'cn-hangzhou',
      params: ['estate', 'device', 'alert'],
      play_times: 2,
    })
  })

  it('refuses a preset without a secret, with a secret_env that is not set, or with both', () => {
    delete process.env.ZHIAN_TEST_UNSET_SECRET
    for (const extra of [
      {},
      { secret_env: 'ZHIAN_TEST_UNSET_SECRET' },
      { secret: 'a', secret_env: 'PATH' },
    ]) {
      const r = CHANNELS_SCHEMA.safeParse([{ ...aliyun, ...extra }])
      expect(r.success).toBe(false)
      expect(r.error!.issues[0]!.message).toContain('secret_env')
    }
  })

  it('refuses a Tencent number that is not E.164 and a variable that does not exist, naming the line', () => {
    const estate = (channel: string) => `
sites:
  - { id: e1, type: estate, name: 一号小区 }
teams:
  - id: t
    name: 班组
    members:
      - id: m
        name: 王师傅
        channels:
          - ${channel}
`
    expect(() =>
      parseEstate(
        estate(
          '{ type: voice, provider: tencent, to: "13900000002", sdk_app_id: "1400006666", template: "4356", secret_id: x, secret: y }',
        ),
      ),
    ).toThrow(/estate file:11:\d+: teams\.0\.members\.0\.channels\.0\.to: .*E\.164/)
    expect(() =>
      parseEstate(
        estate(
          '{ type: voice, provider: aliyun, to: "13900000001", template: TTS_1, access_key_id: x, secret: y, params: [estate, weather] }',
        ),
      ),
    ).toThrow(/estate file:11:\d+: .*params\.1: .*"estate"\|"device"\|"alert"\|"text"/)
  })
})

describe('routing: critical escalations end in a voice call when a voice channel is configured', () => {
  const config = (voice: boolean, endWithCall?: boolean): DispatchConfig => ({
    teams: [
      {
        id: 'lift',
        name: '电梯维保',
        timezone: 'Asia/Shanghai',
        members: [
          {
            id: 'wang',
            name: '王师傅',
            channels: voice
              ? CHANNELS_SCHEMA.parse([
                  { type: 'voice', provider: 'http', url: 'http://127.0.0.1:1/call', to: '13900000001' },
                ])
              : [],
          },
        ],
        ...(endWithCall === undefined ? {} : { escalation: { end_with_call: endWithCall } }),
      },
    ],
    roster: [],
    routing: [],
  })
  const alert = (severity: 'critical' | 'major') =>
    ({
      type: 'elevator.trapped',
      kind: 'elevator',
      severity,
      crew: 'lift',
      street: null,
      community: null,
      estate: 'e1',
      building: null,
    }) as const
  const steps = (c: DispatchConfig, severity: 'critical' | 'major') =>
    new Router(c).route(alert(severity)).escalation.steps.map((s) => s.to)

  it('appends the call to a critical chain, after the last step and with the same delay', () => {
    const route = new Router(config(true)).route(alert('critical'))
    expect(route.escalation.steps.at(-1)).toEqual({ to: 'call', after: route.escalation.steps[0]!.after })
    expect(steps(config(true), 'critical')).toEqual([
      'next_on_duty',
      'lead',
      'team:property_duty',
      'team:community_grid',
      'call',
    ])
  })

  it('not for a major alert, not without any voice channel, not when the team says end_with_call: false', () => {
    expect(steps(config(true), 'major')).not.toContain('call')
    expect(steps(config(false), 'critical')).not.toContain('call')
    expect(steps(config(true, false), 'critical')).not.toContain('call')
  })
})
