import { describe, expect, it } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'

const SITES = `sites:
  - { id: e1, type: estate, name: 一号小区 }
  - { id: s1, type: street, name: 街道 }
`
const parse = (connectors: string) => () => parseEstate(`${SITES}connectors:\n${connectors}`, 'estate.yaml')

describe('the estate file’s connectors: section', () => {
  it('takes every connector type with its keys and defaults', () => {
    const estate = parseEstate(
      `${SITES}connectors:
  - { id: ns, type: chirpstack, url: mqtts://ns.example:8883, application_id: 17c82e96-be03-4f38-aef3-f83d48582d97 }
  - { id: tts, type: tts, url: mqtt://eu1.cloud.thethings.network:1883, application_id: campus, tenant_id: ttn }
  - { id: ct, type: ctwing, token: ctwing-url-token-0123456789, estates: [e1] }
  - { id: cm, type: onenet, token: onenet-push-token-0123456789 }
  - { id: cams, type: http, token: http-bearer-token-0123456789, rate_per_s: 50 }
`,
      'estate.yaml',
    )
    expect(estate.connectors.map((c) => [c.id, c.type, c.rate_per_s])).toEqual([
      ['ns', 'chirpstack', 2000],
      ['tts', 'tts', 2000],
      ['ct', 'ctwing', 2000],
      ['cm', 'onenet', 2000],
      ['cams', 'http', 50],
    ])
    expect(estate.connectors[0]).toMatchObject({ reject_unauthorized: true })
  })

  it('names the line and column of a short token, a duplicate id, an unknown estate, a bad URL or an unknown key', () => {
    expect(parse('  - { id: ct, type: ctwing, token: short }\n')).toThrow(
      /estate\.yaml:5:\d+: connectors\.0\.token: at least 16 characters/,
    )
    expect(
      parse(
        '  - { id: a, type: http, token: http-bearer-token-0123456789 }\n  - { id: a, type: onenet, token: onenet-push-token-0123456789 }\n',
      ),
    ).toThrow(/estate\.yaml:6:\d+: connectors\.1\.id: duplicate connector id "a"/)
    expect(
      parse('  - { id: ct, type: ctwing, token: ctwing-url-token-0123456789, estates: [s1] }\n'),
    ).toThrow(/connectors\.0\.estates\.0: "s1" is not an estate/)
    expect(parse('  - { id: ns, type: chirpstack, url: http://ns, application_id: x }\n')).toThrow(
      /connectors\.0\.url/,
    )
    expect(parse('  - { id: ct, type: ctwing, token: ctwing-url-token-0123456789, secret: x }\n')).toThrow(
      /ZHIAN_ERR_CONFIG_INVALID|configuration file is invalid/,
    )
    expect(parse('  - { id: x, type: lorawan-server, token: ctwing-url-token-0123456789 }\n')).toThrow(
      /connectors\.0\.type/,
    )
  })
})
