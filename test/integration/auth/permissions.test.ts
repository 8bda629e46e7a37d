import { describe, expect, it } from 'vitest'
import { MAY, type Permission } from '../../../src/auth/permissions.ts'
import { buildHub } from '../../helpers/hub.ts'
import { addCrew, as, DASHBOARD_ESTATE, tokenOf } from '../../helpers/session.ts'

/**
 * The dashboard shows a button only when `GET /api/auth/me` lists its permission. That list must be
 * exactly what the hub enforces: for every role and every permission, a request that needs it is
 * refused with 403 when (and only when) the role's list lacks it.
 */
const PROBES: Record<Permission, { method: 'GET' | 'POST'; path: string; body?: unknown }> = {
  read: { method: 'GET', path: '/api/work-orders' },
  act_on_alerts: { method: 'POST', path: '/api/alerts/no-such-alert/ack', body: {} },
  silence: { method: 'POST', path: '/api/silences', body: {} },
  open_work_orders: { method: 'POST', path: '/api/work-orders', body: {} },
  work_on_orders: { method: 'POST', path: '/api/work-orders/no-such-order/accept', body: {} },
  cancel_work_orders: { method: 'POST', path: '/api/work-orders/no-such-order/cancel', body: {} },
  read_reports: { method: 'GET', path: '/api/reports/schedules' },
  read_routing: { method: 'GET', path: '/api/routing' },
}

describe('what a user may do, as the dashboard is told and as the hub enforces it', () => {
  it('GET /api/auth/me lists exactly the permissions whose requests the hub does not refuse with 403', async () => {
    const hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const tokens = {
      manager: await tokenOf(hub.httpUrl, 'mgr_e1'),
      viewer: await tokenOf(hub.httpUrl, 'officer_c1'),
      crew: await addCrew(hub),
      admin: await tokenOf(hub.httpUrl, 'street_admin'),
    }
    const expected: Record<string, Permission[]> = {
      admin: Object.keys(MAY) as Permission[],
      manager: Object.keys(MAY) as Permission[],
      crew: ['read', 'work_on_orders'],
      viewer: ['read', 'read_reports'],
    }
    for (const [role, token] of Object.entries(tokens)) {
      const call = as(hub.httpUrl, token)
      const me = (await (await call('/api/auth/me')).json()) as { role: string; may: Permission[] }
      expect(me.role).toBe(role)
      expect(me.may).toEqual(expected[role])
      for (const [permission, probe] of Object.entries(PROBES) as [
        Permission,
        (typeof PROBES)[Permission],
      ][]) {
        const res = await call(probe.path, {
          method: probe.method,
          ...(probe.body === undefined ? {} : { body: JSON.stringify(probe.body) }),
        })
        expect({ role, permission, refused: res.status === 403 }).toEqual({
          role,
          permission,
          refused: !me.may.includes(permission),
        })
      }
    }
  })
})
