import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { FIXTURES } from '../../helpers/hub.ts'

/** The estate file's dispatch sections: a mistake names its line, and nothing half-valid loads. */
const base = fs.readFileSync(path.join(FIXTURES, 'dispatch-estate.yaml'), 'utf8')
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1

function refused(text: string): string {
  try {
    parseEstate(text, 'estate.yaml')
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('accepted')
}

describe('estate file: teams, roster, routing', () => {
  it('parses the fixture: four teams, three roster entries, two routes, durations in ms', () => {
    const e = parseEstate(base)
    expect(e.teams.map((t) => t.id)).toEqual(['lift_a', 'lift_b', 'property_duty', 'community_grid'])
    expect(e.teams[0]!.escalation).toEqual({
      after: 300_000,
      chain: ['next_on_duty', 'lead', 'team:property_duty', 'team:community_grid'],
      remind_every: 120_000,
      remind_max: 2,
    })
    expect(e.teams[0]!.timezone).toBe('Asia/Shanghai')
    expect(e.routing[1]).toMatchObject({ match: { kind: 'fire_passage' }, work_order: false })
  })

  it('a roster entry for a member of another team names its line', () => {
    const text = base.replace('{ team: lift_a, member: li }', '{ team: lift_a, member: zhao }')
    const msg = refused(text)
    expect(msg).toContain(`estate.yaml:${lineOf(text, 'member: zhao }')}:`)
    expect(msg).toContain('roster.1.member: "zhao" is not a member of team "lift_a"')
  })

  it('refuses a route to an unknown team, an unknown site, a chain step to an unknown team', () => {
    expect(
      refused(base.replace('    team: property_duty\n    sla:', '    team: plumbers\n    sla:')),
    ).toContain('routing.0.team: unknown team "plumbers"')
    expect(refused(base.replace('site: e1 }', 'site: e9 }'))).toContain(
      'routing.0.match.site: unknown site "e9"',
    )
    expect(refused(base.replace('"team:community_grid"]', '"team:fire_brigade"]'))).toContain(
      'teams.0.escalation.chain.3: unknown team "fire_brigade"',
    )
  })

  it('refuses bad channels, durations, hours, lead, time zone and duplicate ids', () => {
    expect(refused(base.replace('{ type: wecom, url:', '{ type: telegram, url:'))).toContain(
      'teams.0.members.2.channels.0',
    )
    expect(refused(base.replace('"http://127.0.0.1:1/wang"', '"ftp://x/wang"'))).toContain('an http(s) URL')
    expect(refused(base.replace('after: 5m', 'after: soon'))).toContain('a duration like 90s, 5m or 2h')
    expect(refused(base.replace('hours: "00:00-24:00"', 'hours: "8-20"'))).toContain('hours like 08:00-20:00')
    expect(refused(base.replace('lead: boss', 'lead: nobody'))).toContain(
      'teams.0.lead: "nobody" is not a member',
    )
    expect(
      refused(base.replace('    lead: boss\n', '    lead: boss\n    timezone: Mars/Olympus\n')),
    ).toContain('unknown time zone "Mars/Olympus"')
    expect(refused(base.replace('id: lift_b', 'id: lift_a'))).toContain('duplicate team id "lift_a"')
    expect(refused(base.replace('to: "13800000001"', 'to: "call me"'))).toContain('a phone number')
  })

  it('an estate file without dispatch sections still loads (nothing to route to)', () => {
    const e = parseEstate('sites: []\n')
    expect([e.teams, e.roster, e.routing]).toEqual([[], [], []])
  })
})
