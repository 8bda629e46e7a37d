import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { trapped } from '../../../simulators/scenarios/trapped.ts'
import { compareAlerts, hubToken } from '../../../src/cli/simulate-hub.ts'

describe('zhian simulate against a hub', () => {
  it('asks with --token, else ZHIAN_API_TOKEN, else the last token the hub left in its data dir, else the demo’s', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-cred-'))
    fs.writeFileSync(
      path.join(dataDir, 'initial-credentials.txt'),
      '# zhian 2026-12-01\nadmin API token: first-token\nadmin password: x\n# zhian 2026-12-02\nadmin API token: second-token\n',
    )
    expect(hubToken('given', { ZHIAN_API_TOKEN: 'env', ZHIAN_DATA_DIR: dataDir }, 'demo')).toBe('given')
    expect(hubToken(undefined, { ZHIAN_API_TOKEN: 'env', ZHIAN_DATA_DIR: dataDir }, 'demo')).toBe('env')
    expect(hubToken(undefined, { ZHIAN_DATA_DIR: dataDir }, 'demo')).toBe('second-token')
    expect(hubToken(undefined, { ZHIAN_DATA_DIR: path.join(dataDir, 'none') }, 'demo')).toBe('demo')
  })

  it('prints each expected alert as raised or missing, and unexpected ones, failing an exact scenario on either', () => {
    const expected = [{ type: 'elevator.trapped', device: 'elev_b1_2' }]
    const asExpected = compareAlerts(trapped, expected, [{ type: 'elevator.trapped', device: 'elev_b1_2' }])
    expect(asExpected.ok).toBe(true)
    expect(asExpected.lines[1]).toMatch(/^ {2}✓ elevator\.trapped\s+elev_b1_2$/)
    const missing = compareAlerts(trapped, expected, [])
    expect(missing.ok).toBe(false)
    expect(missing.lines.join('\n')).toContain('✗ elevator.trapped')
    const extra = compareAlerts(trapped, expected, [
      { type: 'elevator.trapped', device: 'elev_b1_2' },
      { type: 'parking_bay.sensor_flapping', device: 'pb_017' },
    ])
    expect(extra.ok).toBe(false) // trapped is exact: nothing else may be raised
    expect(extra.lines.join('\n')).toMatch(/\+ parking_bay\.sensor_flapping\s+pb_017 {3}not expected/)
  })
})
