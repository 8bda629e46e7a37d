import { describe, expect, it } from 'vitest'
import { MODELS } from '../../../devices/models/index.ts'

/** Downlinks: the kind's settable properties as the vendor's configuration frame. */
describe('model downlinks', () => {
  it('EM400-UDL and EM320-TILT set the report interval as the vendor encodes it (0xFF 0x03, seconds LE, FPort 85)', () => {
    // The vendors' example payload { report_interval: 600 }.
    for (const id of ['milesight/em400-udl', 'milesight/em320-tilt']) {
      const out = MODELS[id]!.encode!({ report_interval_s: 600 })
      expect(out, id).toEqual({ bytes: Buffer.from('ff035802', 'hex'), fPort: 85 })
      expect(MODELS[id]!.encode!({ report_interval_s: 64800 }), id).toEqual({
        bytes: Buffer.from('ff0320fd', 'hex'),
        fPort: 85,
      })
    }
  })

  it('refuses what the device cannot take, saying why', () => {
    const udl = MODELS['milesight/em400-udl']!.encode!
    expect(udl({ report_interval_s: 30 })).toEqual({
      error: 'report_interval_s must be a whole number of seconds in [60, 64800]',
    })
    expect(udl({ report_interval_s: 86_400 })).toHaveProperty('error')
    expect(udl({ report_interval_s: 600.5 })).toHaveProperty('error')
    expect(udl({ report_interval_s: '600' })).toHaveProperty('error')
    expect(udl({})).toHaveProperty('error')
    expect(udl({ tilt_threshold_deg: 20 })).toEqual({
      error: 'not settable on this model: tilt_threshold_deg',
    })
    expect(MODELS['milesight/em320-tilt']!.encode!({ report_interval_s: 5 })).toEqual({
      bytes: Buffer.from('ff030500', 'hex'),
      fPort: 85,
    })
  })
})
