import { describe, expect, it } from 'vitest'
import { withoutCredentials } from '../../../src/connectors/lora.ts'
import { parseChirpstack } from '../../../src/connectors/platforms/chirpstack.ts'
import { parseCtwing } from '../../../src/connectors/platforms/ctwing.ts'
import { parseHttpPush } from '../../../src/connectors/platforms/http-push.ts'
import { onenetSignature, parseOnenet } from '../../../src/connectors/platforms/onenet.ts'
import { parseTts } from '../../../src/connectors/platforms/tts.ts'
import { bearerOf, sameSecret } from '../../../src/connectors/secrets.ts'
import type { ParseResult, Uplink } from '../../../src/connectors/uplink.ts'

const one = (r: ParseResult): Uplink => {
  if ('error' in r) throw new Error(r.error)
  expect(r.uplinks).toHaveLength(1)
  return r.uplinks[0]!
}

// ChirpStack v4 JSON integration, the `up` example of chirpstack-docs integrations/events.md (shortened).
const CS_UP = {
  deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
  time: '2022-07-18T09:34:15.775023242+00:00',
  deviceInfo: {
    tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
    tenantName: 'ChirpStack',
    applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
    applicationName: 'Test application',
    deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
    deviceProfileName: 'Test device-profile',
    deviceName: 'Test device',
    devEui: '0101010101010101',
    tags: {},
  },
  devAddr: '00189440',
  dr: 1,
  fPort: 1,
  data: 'qg==',
  rxInfo: [{ gatewayId: '0016c001f153a14c', uplinkId: 4217106255, rssi: -36, snr: 10.5 }],
}
const CS_TOPIC = 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up'

describe('ChirpStack v4 events', () => {
  it('an up event names the device by DevEUI, its retries by deduplicationId, and carries data and fPort', () => {
    const up = one(parseChirpstack(CS_TOPIC, Buffer.from(JSON.stringify({ ...CS_UP, fCnt: 7 }))))
    expect(up.ids).toEqual([{ kind: 'dev_eui', value: '0101010101010101' }])
    expect(up.keys).toEqual(['msg:up:3ac7e3c4-4401-4b8d-9386-a5c902f9202d', 'fcnt:00189440:7'])
    expect(up.payload).toEqual({ bytes: Buffer.from([0xaa]), fPort: 1 })
    expect(up.ts).toBe(Date.parse('2022-07-18T09:34:15.775Z'))
  })

  it('the network server’s decoded `object` is handed over as JSON', () => {
    const up = one(
      parseChirpstack(CS_TOPIC, Buffer.from(JSON.stringify({ ...CS_UP, object: { water_level_cm: 40 } }))),
    )
    expect(up.payload?.json).toEqual({ water_level_cm: 40 })
  })

  it('a status event gives the battery level, unless the device is mains powered or cannot tell', () => {
    const topic = CS_TOPIC.replace(/up$/, 'status')
    const status = {
      deviceInfo: CS_UP.deviceInfo,
      margin: 6,
      externalPowerSource: false,
      batteryLevelUnavailable: false,
      batteryLevel: 75.5,
    }
    expect(one(parseChirpstack(topic, Buffer.from(JSON.stringify(status)))).batteryPct).toBe(76)
    const mains = parseChirpstack(
      topic,
      Buffer.from(JSON.stringify({ ...status, externalPowerSource: true })),
    )
    expect(mains).toEqual({ uplinks: [] })
  })

  it('a join event says the frame counter restarted', () => {
    const join = {
      deduplicationId: 'c9dbe358-2578-4fb7-b295-66b44edc45a6',
      deviceInfo: CS_UP.deviceInfo,
      devAddr: '00189440',
    }
    expect(
      one(parseChirpstack(CS_TOPIC.replace(/up$/, 'join'), Buffer.from(JSON.stringify(join)))).rejoined,
    ).toBe(true)
  })

  it('refuses what is not a ChirpStack JSON event', () => {
    expect(parseChirpstack(CS_TOPIC, Buffer.from('\x08\x01protobuf'))).toHaveProperty('error')
    expect(parseChirpstack('application/x/device/y/up', Buffer.from('{}'))).toHaveProperty('error')
    expect(
      parseChirpstack(CS_TOPIC, Buffer.from(JSON.stringify({ ...CS_UP, data: 'not base64!' }))),
    ).toHaveProperty('error')
    expect(parseChirpstack(CS_TOPIC.replace('0101010101010101', 'zz'), Buffer.from('{}'))).toHaveProperty(
      'error',
    )
  })
})

describe('The Things Stack v3 uplinks', () => {
  // thethingsindustries.com/docs/integrations/data-formats, "Uplink Messages" (shortened).
  const TTS_UP = {
    end_device_ids: {
      device_id: 'dev1',
      application_ids: { application_id: 'app1' },
      dev_eui: '0004A30B001C0530',
      join_eui: '800000000000000C',
      dev_addr: '00BCB929',
    },
    correlation_ids: ['as:up:01H0PZDGB1NW6NAPD815NGHPF6', 'gs:conn:01H0FJRSXSYT7VKNYXJ89F95XT'],
    received_at: '2020-02-12T15:15:45.787Z',
    uplink_message: {
      f_port: 2,
      f_cnt: 3,
      frm_payload: 'AQIDBA==',
      decoded_payload: { bytes: [1, 2, 3, 4] },
    },
  }

  it('names the device by DevEUI and device id, its retries by correlation id and frame counter', () => {
    const up = one(parseTts('v3/app1@ttn/devices/dev1/up', Buffer.from(JSON.stringify(TTS_UP))))
    expect(up.ids).toEqual([
      { kind: 'dev_eui', value: '0004a30b001c0530' },
      { kind: 'platform_device_id', value: 'dev1' },
    ])
    expect(up.keys).toEqual(['msg:as:up:01H0PZDGB1NW6NAPD815NGHPF6', 'fcnt:00BCB929:3'])
    expect(up.payload).toEqual({ bytes: Buffer.from([1, 2, 3, 4]), fPort: 2, json: { bytes: [1, 2, 3, 4] } })
  })

  it('an omitted f_cnt is frame 0 (empty fields are omitted)', () => {
    const first = { ...TTS_UP, correlation_ids: [], uplink_message: { f_port: 2, frm_payload: 'AQ==' } }
    expect(one(parseTts('v3/app1/devices/dev1/up', Buffer.from(JSON.stringify(first)))).keys).toEqual([
      'fcnt:00BCB929:0',
    ])
  })
})

describe('CTWing subscription push', () => {
  const base = {
    upPacketSN: 18,
    upDataSN: -1,
    topic: 'v1/up/ad',
    timestamp: 1_700_000_000_123,
    tenantId: '2000000001',
    serviceId: '',
    protocol: 'lwm2m',
    productId: '15000001',
    messageType: 'dataReport',
    deviceType: '',
    deviceId: 'a1b2c3d4e5f6867724052345678901',
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: '867724052345678',
  }

  it('transparent APPdata arrives as bytes, named by deviceId then IMEI, its retries by serial numbers and time', () => {
    const up = one(parseCtwing({ ...base, payload: { APPdata: 'AQID' } }))
    expect(up.ids).toEqual([
      { kind: 'platform_device_id', value: 'a1b2c3d4e5f6867724052345678901' },
      { kind: 'imei', value: '867724052345678' },
    ])
    expect(up.keys).toEqual(['msg:data:a1b2c3d4e5f6867724052345678901:18:-1:1700000000123'])
    expect(up.payload).toEqual({ bytes: Buffer.from([1, 2, 3]) })
    expect(up.ts).toBe(1_700_000_000_123)
  })

  it('transparent bytes that are zhian JSON serve a device without a model', () => {
    const appdata = Buffer.from('{"occupied":true}').toString('base64')
    expect(one(parseCtwing({ ...base, payload: { APPdata: appdata } })).native).toEqual({ occupied: true })
  })

  it('a profile payload keeps serviceId and serviceData for the model; serviceData is the native JSON', () => {
    const payload = { serviceId: 'ParkingStatus', serviceData: { parking_state: 1, battery_voltage: 3.6 } }
    const up = one(parseCtwing({ ...base, payload }))
    expect(up.payload).toEqual({ json: payload })
    expect(up.native).toEqual({ parking_state: 1, battery_voltage: 3.6 })
  })

  it('an already decoded payload is handed over as it is', () => {
    expect(one(parseCtwing({ ...base, payload: { liquid_level: 402 } })).payload).toEqual({
      json: { liquid_level: 402 },
    })
  })

  it('online and offline reports are availability (eventType 1 / 0)', () => {
    const report = {
      timestamp: 1_700_000_000_000,
      tenantId: '1',
      productId: '2',
      deviceId: 'dev-9',
      messageType: 'deviceOnlineOfflineReport',
    }
    expect(one(parseCtwing({ ...report, eventType: 1 })).online).toBe(true)
    expect(one(parseCtwing({ ...report, eventType: 0 })).online).toBe(false)
    expect(parseCtwing({ ...report, eventType: 7 })).toHaveProperty('error')
  })

  it('a command response is only logged; an unknown messageType or a missing device is refused', () => {
    expect(
      one(
        parseCtwing({
          messageType: 'commandResponse',
          deviceId: 'd',
          taskId: 5,
          result: { resultCode: 'SENT' },
        }),
      ).logOnly,
    ).toEqual({
      taskId: 5,
      result: { resultCode: 'SENT' },
    })
    expect(parseCtwing({ ...base, messageType: 'somethingElse', payload: {} })).toHaveProperty('error')
    expect(parseCtwing({ ...base, deviceId: undefined, IMEI: undefined, payload: {} })).toHaveProperty(
      'error',
    )
    expect(parseCtwing({ ...base, payload: { APPdata: '%%%' } })).toHaveProperty('error')
  })
})

describe('OneNET push', () => {
  it('signature = Base64(MD5(token + nonce + msg))', () => {
    // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321 A.5)
    expect(onenetSignature('a', 'b', 'c')).toBe(
      Buffer.from('900150983cd24fb0d6963f7d28e17f72', 'hex').toString('base64'),
    )
  })

  it('a property notify gives the params’ values; its push id names retries', () => {
    const msg = {
      productId: 'pid1',
      deviceName: 'well-07',
      messageType: 'notify',
      notifyType: 'property',
      data: {
        id: '12',
        params: {
          water_level_cm: { value: 42, time: 1_700_000_000_500 },
          battery_pct: { value: 80, time: 1_700_000_000_400 },
        },
      },
    }
    const up = one(parseOnenet(JSON.stringify(msg), '8a3c0'))
    expect(up.ids).toEqual([{ kind: 'platform_device_id', value: 'well-07' }])
    expect(up.keys).toEqual(['msg:8a3c0'])
    expect(up.payload).toEqual({ json: { water_level_cm: 42, battery_pct: 80 } })
    expect(up.ts).toBe(1_700_000_000_500)
  })

  it('an LwM2M device’s own frame (object 19/0/0, opaque) is handed to its model as bytes', () => {
    const hex = one(
      parseOnenet(
        JSON.stringify({
          deviceName: 'nb-well',
          imei: '867724052340005',
          messageType: 'notify',
          notifyType: 'property',
          data: { id: '1', params: { '19_0_0': { value: '01755c', time: 1 } } },
        }),
        'o-1',
      ),
    )
    expect(hex.payload?.bytes).toEqual(Buffer.from([0x01, 0x75, 0x5c]))
    expect(hex.ids).toEqual([
      { kind: 'platform_device_id', value: 'nb-well' },
      { kind: 'imei', value: '867724052340005' },
    ])
    const b64 = one(
      parseOnenet(
        JSON.stringify({
          deviceName: 'nb-well',
          messageType: 'notify',
          notifyType: 'property',
          data: { id: '2', params: { '19_0_0': { value: 'AXVc', time: 1 } } },
        }),
        'o-2',
      ),
    )
    expect(b64.payload?.bytes).toEqual(Buffer.from([0x01, 0x75, 0x5c]))
  })

  it('lifeCycle is availability; an event notify is a native event', () => {
    const life = {
      productId: 'p',
      deviceName: 'd',
      messageType: 'lifeCycle',
      data: { status: 'offline', time: 1 },
    }
    expect(one(parseOnenet(JSON.stringify(life), 'x')).online).toBe(false)
    const event = {
      productId: 'p',
      deviceName: 'd',
      messageType: 'notify',
      notifyType: 'event',
      data: { id: '3', params: { sos: { value: { level: 2 }, time: 5 } } },
    }
    expect(one(parseOnenet(JSON.stringify(event), 'y')).native).toEqual({ type: 'sos', data: { level: 2 } })
  })

  it('refuses a msg that is not JSON or names no device', () => {
    expect(parseOnenet('{', 'x')).toHaveProperty('error')
    expect(parseOnenet(JSON.stringify({ messageType: 'notify', data: {} }), 'x')).toHaveProperty('error')
  })
})

describe('the generic push', () => {
  it('takes {device, payload} or {device, data} with a message id', () => {
    const up = one(parseHttpPush({ device: 'cam-3', id: 'evt-1', payload: { type: 'intrusion' } }))
    expect(up.ids[0]).toEqual({ kind: 'platform_device_id', value: 'cam-3' })
    expect(up.keys).toEqual(['msg:cam-3:evt-1'])
    expect(
      one(parseHttpPush({ device: 'x', model: 'milesight/em400-udl', data: 'AQ==', f_port: 85 })).payload,
    ).toEqual({
      bytes: Buffer.from([1]),
      fPort: 85,
    })
    expect(parseHttpPush({ device: 'x' })).toHaveProperty('error')
    expect(parseHttpPush({ payload: {} })).toHaveProperty('error')
    expect(parseHttpPush({ device: 'x', payload: [1] })).toHaveProperty('error')
  })
})

describe('secrets', () => {
  it('compares tokens of any length without throwing, and reads bearer tokens', () => {
    expect(sameSecret('a-long-token-0123456789', 'a-long-token-0123456789')).toBe(true)
    expect(sameSecret('short', 'a-long-token-0123456789')).toBe(false)
    expect(sameSecret(undefined, 'a-long-token-0123456789')).toBe(false)
    expect(bearerOf('Bearer abc')).toBe('abc')
    expect(bearerOf('Basic abc')).toBeUndefined()
  })
})

describe('the network server broker URL in the log', () => {
  it('never carries the credentials written into it', () => {
    expect(withoutCredentials('mqtts://zhian:s3cret-pass@ns.example:8883')).toBe('mqtts://ns.example:8883')
    expect(withoutCredentials('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883')
  })
})
