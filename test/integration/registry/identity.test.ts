import { describe, expect, it } from 'vitest'
import { isKindId } from '../../../devices/index.ts'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { parseEstate, serializeEstate } from '../../../src/config/estate-file.ts'
import { Bus } from '../../../src/core/bus.ts'
import type { ZhianError } from '../../../src/errors.ts'
import { Registry } from '../../../src/registry/registry.ts'
import { openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { buildHub, tempDir } from '../../helpers/hub.ts'

const SITES = `sites:
  - id: s1
    type: street
    name: 街道
    children:
      - id: c1
        type: community
        name: 社区
        children:
          - id: e1
            type: estate
            name: 小区
`

function estate(devices: string[]) {
  return parseEstate(
    `${SITES}devices:\n${devices.map((d) => `  - { estate: e1, secret: device-secret-0001, ${d} }\n`).join('')}`,
  )
}

function openRegistry(dir = tempDir('zhian-identity-')) {
  const db = openDb(dir)
  const registry = new Registry(db, new Bus())
  registry.open()
  new Auth(db, new ApiToken(db), createLogger('silent')).open()
  return { registry, db, dir }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return `${(err as ZhianError).code}: ${(err as Error).message}`
  }
  return undefined
}

describe('registry: device models and platform identities', () => {
  it('finds a device by DevEUI in either case, by IMEI and by platform device id, after a restart too', async () => {
    const { registry, dir } = openRegistry()
    await registry.applyEstate(
      estate([
        'id: mh1, kind: manhole, model: milesight/em400-udl, dev_eui: 24E124713B123456, params: { mount_depth_cm: 300 }',
        'id: pb1, kind: parking_bay, imei: "868508064807350", platform_device_id: 8a7f2c1d9e0b4c3a',
      ]),
    )
    expect(registry.get('mh1')).toMatchObject({
      model: 'milesight/em400-udl',
      identity: { dev_eui: '24e124713b123456' },
    })
    expect(registry.byIdentity('dev_eui', '24E124713B123456')?.id).toBe('mh1')
    expect(registry.byIdentity('dev_eui', '24e124713b123456')?.id).toBe('mh1')
    expect(registry.byIdentity('imei', '868508064807350')?.id).toBe('pb1')
    expect(registry.byIdentity('platform_device_id', '8a7f2c1d9e0b4c3a')?.id).toBe('pb1')
    // A platform device id is matched exactly; an identity is looked up under its own kind only.
    expect(registry.byIdentity('platform_device_id', '8A7F2C1D9E0B4C3A')).toBeUndefined()
    expect(registry.byIdentity('imei', '8a7f2c1d9e0b4c3a')).toBeUndefined()
    expect(registry.get('pb1')!.model).toBeUndefined()

    const again = openRegistry(dir).registry
    expect(again.byIdentity('dev_eui', '24E124713B123456')?.params).toEqual({ mount_depth_cm: 300 })
  })

  it('exports model and identities as an estate file that loads back the same', async () => {
    const { registry } = openRegistry()
    await registry.applyEstate(
      estate([
        'id: mh1, kind: manhole, model: milesight/em320-tilt, dev_eui: 24E124713B123456, imei: "868508064807350"',
      ]),
    )
    const exported = registry.exportEstate()
    expect(exported.devices[0]).toMatchObject({
      model: 'milesight/em320-tilt',
      dev_eui: '24e124713b123456',
      imei: '868508064807350',
    })
    expect(parseEstate(serializeEstate(exported)).devices[0]).toEqual(exported.devices[0])
  })

  it('lets two devices of the file swap identities, and a device leaving the file release its own', async () => {
    const { registry } = openRegistry()
    await registry.applyEstate(
      estate([
        'id: a, kind: manhole, dev_eui: 00000000000000aa',
        'id: b, kind: manhole, dev_eui: 00000000000000bb',
      ]),
    )
    await registry.applyEstate(
      estate([
        'id: a, kind: manhole, dev_eui: 00000000000000bb',
        'id: b, kind: manhole, dev_eui: 00000000000000aa',
      ]),
    )
    expect(registry.byIdentity('dev_eui', '00000000000000AA')?.id).toBe('b')
    expect(registry.byIdentity('dev_eui', '00000000000000BB')?.id).toBe('a')
    await registry.applyEstate(estate(['id: c, kind: manhole, dev_eui: 00000000000000aa']))
    expect(registry.byIdentity('dev_eui', '00000000000000aa')?.id).toBe('c')
    expect(registry.byIdentity('dev_eui', '00000000000000bb')).toBeUndefined()
    expect(registry.list().map((d) => d.id)).toEqual(['c'])
  })

  it('imports model and identities from CSV; a row taking another device’s identity names its line and adds nothing', async () => {
    const { registry } = openRegistry()
    await registry.applyEstate(estate(['id: mh1, kind: manhole, imei: "868508064807350"']))
    const header = 'id,kind,estate,building,name,location,secret,model,dev_eui,imei,platform_device_id\n'
    const result = await registry.importCsv(
      `${header}mh2,manhole,e1,,2号井,,,milesight/em400-udl,24E124713B123456,,\npb1,parking_bay,e1,,,,,,,,dev-77\n`,
    )
    expect(result).toMatchObject({ added: 2, updated: 0 })
    expect(registry.byIdentity('dev_eui', '24e124713b123456')).toMatchObject({
      id: 'mh2',
      model: 'milesight/em400-udl',
    })
    expect(registry.byIdentity('platform_device_id', 'dev-77')?.id).toBe('pb1')

    const before = registry.list()
    const refusals = [
      [
        `${header}mh3,manhole,e1,,,,,,,868508064807350,\n`,
        'line 2: platform identity already belongs to another device: imei "868508064807350" of "mh3" belongs to "mh1"',
      ],
      [
        `${header}mh3,manhole,e1,,,,,,,,x\nmh4,manhole,e1,,,,,,,,x\n`,
        'line 3: platform identity already belongs to another device',
      ],
      [
        `${header}mh3,manhole,e1,,,,,acme/x1,,,\n`,
        'line 2: unknown device model: device "mh3": unknown model "acme/x1"',
      ],
      [`${header}mh3,manhole,e1,,,,,bosch/none,,,\n`, 'unknown model'],
      [
        `${header}pb2,parking_bay,e1,,,,,milesight/em400-udl,,,\n`,
        "the device model does not implement the device's kind",
      ],
      [
        `${header}mh3,manhole,e1,,,,,,12345,,\n`,
        'line 2: request is invalid: dev_eui of "mh3": a DevEUI is 16 hex digits',
      ],
    ]
    for (const [csv, message] of refusals) {
      const err = await codeOf(registry.importCsv(csv!))
      expect(err).toContain('ZHIAN_ERR_CSV_INVALID')
      expect(err).toContain(message)
    }
    expect(registry.list()).toEqual(before)
  })

  it('answers a device added over HTTP with a taken identity or an unknown model with a coded error and adds nothing', async () => {
    const t = await buildHub()
    const post = (body: object) =>
      t.api('/api/devices', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const first = await post({
      id: 'w1',
      kind: 'manhole',
      estate: 'e1',
      model: 'milesight/em400-udl',
      dev_eui: 'A84041000181C61B',
      params: { mount_depth_cm: 250 },
    })
    expect(first.status).toBe(201)
    expect((await first.json()).device).toMatchObject({
      model: 'milesight/em400-udl',
      identity: { dev_eui: 'a84041000181c61b' },
    })
    const cases: [object, number, string][] = [
      [
        { id: 'w2', kind: 'manhole', estate: 'e1', dev_eui: 'a84041000181c61b' },
        409,
        'ZHIAN_ERR_IDENTITY_TAKEN',
      ],
      [{ id: 'w2', kind: 'manhole', estate: 'e1', model: 'acme/x1' }, 400, 'ZHIAN_ERR_UNKNOWN_MODEL'],
      [
        { id: 'w2', kind: 'parking_bay', estate: 'e1', model: 'milesight/em320-tilt' },
        400,
        'ZHIAN_ERR_MODEL_KIND',
      ],
      [{ id: 'w2', kind: 'manhole', estate: 'e1', imei: '12' }, 400, 'ZHIAN_ERR_VALIDATION'],
    ]
    // The smoke detector model names a kind this hub may not have yet: refused as such, not as a wrong kind.
    if (!isKindId('smoke_detector')) {
      cases.push([
        { id: 'w2', kind: 'smoke_detector', estate: 'e1', model: 'milesight/gs524n' },
        400,
        'ZHIAN_ERR_KIND_NOT_AVAILABLE',
      ])
    }
    for (const [body, status, code] of cases) {
      const res = await post(body)
      expect([res.status, (await res.json()).code]).toEqual([status, code])
    }
    expect(t.hub.registry.get('w2')).toBeUndefined()
  })
})
