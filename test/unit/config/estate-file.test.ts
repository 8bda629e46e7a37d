import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseEstate, serializeEstate } from '../../../src/config/estate-file.ts'
import { hashSecret, PASSWORD_COST, verifySecret } from '../../../src/util/secrets.ts'
import { DEMO_ESTATE, SMALL_ESTATE } from '../../helpers/hub.ts'

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

function errorOf(text: string): string {
  try {
    parseEstate(text, 'estate.yaml')
  } catch (err) {
    return (err as Error).message
  }
  return 'no error'
}

describe('estate file', () => {
  it('loads the shipped demo street: 前新福苑 (2 buildings, 6 lifts, 4 passages, 10 manholes, 60 bays) and three estates of other character', () => {
    const estate = parseEstate(fs.readFileSync(DEMO_ESTATE, 'utf8'))
    const count = (kind: string, at = 'qianxin_fuyuan') =>
      estate.devices.filter((d) => d.kind === kind && d.estate === at).length
    expect([count('elevator'), count('fire_passage'), count('manhole'), count('parking_bay')]).toEqual([
      6, 4, 10, 60,
    ])
    const estateNode = estate.sites[0]!.children![0]!.children![0]!
    expect(estateNode.children!.map((b) => b.type)).toEqual(['building', 'building'])
    // An old estate with retrofitted lifts, a large one with many bays, a small one without a lift.
    expect([
      count('elevator', 'hongpu_xincun'),
      count('parking_bay', 'tiancheng_jiayuan'),
      count('elevator', 'xinfeng_yayuan'),
    ]).toEqual([2, 40, 0])
    // Every device of the other estates has its place on the site plan.
    expect(estate.devices.filter((d) => d.estate !== 'qianxin_fuyuan' && !d.plan)).toEqual([])
  })

  it('checks site plans: an estate names an image, a building has a box, a device a point within 0–100', () => {
    const base = (plan: string, device = '') => `sites:
  - id: e1
    type: estate
    name: 小区
    ${plan}
devices:
  - { id: d1, kind: manhole, estate: e1, secret: secret-000000001${device} }
`
    expect(() => parseEstate(base('plan: plans/e1.png'))).not.toThrow()
    expect(errorOf(base('plan: { x: 1, y: 1, w: 5, h: 5 }'))).toMatch(
      /sites\.0\.plan: an estate's plan is an image file/,
    )
    expect(errorOf(base('plan: plans/e1.gif'))).toMatch(/a \.png, \.jpg or \.svg file/)
    expect(errorOf(base('', ', plan: { x: 120, y: 3 }'))).toMatch(/devices\.0\.plan\.x/)
  })

  it('round-trips: parse → serialise → parse gives the same estate', () => {
    const once = parseEstate(fs.readFileSync(SMALL_ESTATE, 'utf8'))
    const twice = parseEstate(serializeEstate(once))
    expect(twice).toEqual(once)
  })

  it('round-trips a full file: building tree, secret and secret_hash, params, location, users with password and password_hash, overrides', async () => {
    const deviceHash = await hashSecret('lift-secret-000001')
    const passwordHash = await hashSecret('manager-password', PASSWORD_COST)
    const text = `sites:
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
            children:
              - { id: e1_b1, type: building, name: 1号楼 }
devices:
  - id: lift1
    kind: elevator
    estate: e1
    building: e1_b1
    name: 1号楼1号电梯
    location: 东单元
    secret_hash: "${deviceHash}"
    params: { bottom_floor: -2, top_floor: 18, rated_speed: 1.75 }
  - { id: fp1, kind: fire_passage, estate: e1, secret: fp1-secret-00001, params: { entrance: true } }
  - { id: pb1, kind: parking_bay, estate: e1, secret: pb1-secret-00001, params: { zone: B1 } }
users:
  - { username: wuye, password_hash: "${passwordHash}", role: manager, scope: e1 }
  - { username: boss, password: long-password, role: admin, scope: "*" }
  - { username: guard, password: long-password, role: viewer, scope: e1_b1 }
overrides:
  e1:
    elevator.trapped: { for: 45s }
    manhole.water_high: { limit_cm: 60 }
    fire_passage.occupied: { for: 2m, for_entrance: 30s }
`
    const once = parseEstate(text, 'full.yaml')
    // The file says what it seems to: nothing dropped or defaulted on the way in.
    expect(once.devices[0]).toMatchObject({
      secret_hash: deviceHash,
      building: 'e1_b1',
      location: '东单元',
      params: { bottom_floor: -2, top_floor: 18, rated_speed: 1.75 },
    })
    expect(once.users.map((u) => [u.username, u.password_hash ?? u.password, u.scope])).toEqual([
      ['wuye', passwordHash, 'e1'],
      ['boss', 'long-password', '*'],
      ['guard', 'long-password', 'e1_b1'],
    ])
    expect(once.overrides.e1!['manhole.water_high']).toEqual({ limit_cm: 60 })
    const twice = parseEstate(serializeEstate(once), 'again.yaml')
    expect(twice).toEqual(once)
    expect(await verifySecret('lift-secret-000001', twice.devices[0]!.secret_hash!)).toBe(true)
    expect(await verifySecret('manager-password', twice.users[0]!.password_hash!)).toBe(true)
  })

  it('names the line and column of a YAML syntax error', () => {
    expect(errorOf(`${SITES}devices:\n  - id: x\n    kind: [elevator\n`)).toMatch(/estate\.yaml:1[56]:\d+/)
  })

  it('names the line of an invalid field and says why', () => {
    const text = `${SITES}devices:\n  - id: lift_1\n    kind: escalator\n    estate: e1\n    secret: long-enough-secret\n`
    const msg = errorOf(text)
    expect(msg).toMatch(/estate\.yaml:15:\d+: devices\.0\.kind/)
    expect(msg).toContain('elevator')
  })

  it('refuses a device in an estate that does not exist, naming the line', () => {
    const text = `${SITES}devices:\n  - id: lift_1\n    kind: elevator\n    estate: nowhere\n    secret: long-enough-secret\n`
    expect(errorOf(text)).toMatch(/estate\.yaml:16:\d+: devices\.0\.estate: "nowhere" is not an estate/)
  })

  it('refuses ids with slashes or wildcards (they would break topics)', () => {
    const text = `${SITES}devices:\n  - id: "lift/1"\n    kind: elevator\n    estate: e1\n    secret: long-enough-secret\n`
    expect(errorOf(text)).toMatch(/devices\.0\.id: ids are/)
  })

  it('refuses a site tree out of order (a building directly under a street)', () => {
    const text =
      'sites:\n  - id: s1\n    type: street\n    name: x\n    children:\n      - id: b1\n        type: building\n        name: y\n'
    expect(errorOf(text)).toMatch(
      /estate\.yaml:7:\d+: sites\.0\.children\.0\.type: a street can only contain community/,
    )
  })

  it('refuses duplicates, short secrets, unknown top-level keys and device params outside the kind', () => {
    const dev = (id: string, extra = '') =>
      `  - id: ${id}\n    kind: elevator\n    estate: e1\n    secret: long-enough-secret\n${extra}`
    expect(errorOf(`${SITES}devices:\n${dev('a')}${dev('a')}`)).toMatch(/duplicate device id "a"/)
    expect(
      errorOf(`${SITES}devices:\n  - id: a\n    kind: elevator\n    estate: e1\n    secret: short\n`),
    ).toMatch(/at least 12 characters/)
    expect(errorOf(`${SITES}devcies: []\n`)).toMatch(/Unrecognized key/)
    expect(errorOf(`${SITES}devices:\n${dev('a', '    params: { top_floor: "ten" }\n')}`)).toMatch(
      /devices\.0\.params\.top_floor/,
    )
  })

  it('accepts per-estate overrides and refuses overrides for a site that is not an estate', () => {
    expect(
      parseEstate(`${SITES}overrides:\n  e1:\n    fire_passage.blocked: { for: 2s }\n`).overrides,
    ).toEqual({
      e1: { 'fire_passage.blocked': { for: '2s' } },
    })
    expect(errorOf(`${SITES}overrides:\n  c1:\n    fire_passage.blocked: { for: 2s }\n`)).toMatch(
      /"c1" is not an estate/,
    )
  })

  it('accepts an admin scoped to everything and refuses a crew user whose team does not exist', () => {
    const admin = `${SITES}users:\n  - { username: boss, password: long-password, role: admin, scope: "*" }\n`
    expect(parseEstate(admin).users[0]!.scope).toBe('*')
    const crew = `${SITES}users:\n  - { username: li, password: long-password, role: crew, scope: e1, team: nope }\n`
    expect(errorOf(crew)).toMatch(/users\.0\.team: unknown team "nope"/)
  })
})
