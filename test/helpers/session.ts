import path from 'node:path'
import { io, type Socket } from 'socket.io-client'
import { onTestFinished } from 'vitest'
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/realtime/events.ts'
import { FIXTURES, type TestHub } from './hub.ts'

/** Fixture users (test/fixtures/dashboard-estate.yaml): one per role × scope. */
export const DASHBOARD_ESTATE = path.join(FIXTURES, 'dashboard-estate.yaml')
export const USERS = {
  mgr_e1: 'mgr-e1-password',
  mgr_e2: 'mgr-e2-password',
  viewer_e1: 'viewer-e1-password',
  officer_c1: 'officer-c1-password',
  street_admin: 'street-admin-password',
  /** A manager of one building (e1_b1: lift1, lift2) */
  mgr_b1: 'mgr-b1-password',
} as const

/** A crew login of e1's property_duty (the crew manhole alerts go to), as `zhian user add --role crew --team` makes it. */
export async function addCrew(hub: TestHub): Promise<string> {
  await hub.hub.auth.users.add({
    username: 'crew_e1',
    password: 'crew-e1-password',
    role: 'crew',
    scope: 'e1',
    team: 'property_duty',
  })
  const res = await login(hub.httpUrl, 'crew_e1', 'crew-e1-password')
  return ((await res.json()) as { token: string }).token
}

export type DashboardSocket = Socket<ServerToClientEvents, ClientToServerEvents>

export async function login(httpUrl: string, username: string, password: string): Promise<Response> {
  return fetch(`${httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
}

/** Log a fixture user in; returns the bearer token. */
export async function tokenOf(httpUrl: string, username: keyof typeof USERS): Promise<string> {
  const res = await login(httpUrl, username, USERS[username])
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

export function as(httpUrl: string, token: string) {
  return (pathname: string, init: RequestInit = {}) =>
    fetch(`${httpUrl}${pathname}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers ?? {}),
      },
    })
}

/** A real socket.io client (websocket only, no reconnection unless asked), closed after the test. */
export function socketOf(
  httpUrl: string,
  auth: { token?: string } | undefined,
  extra: Parameters<typeof io>[1] = {},
): DashboardSocket {
  const socket: DashboardSocket = io(httpUrl, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(auth ? { auth } : {}),
    ...extra,
  })
  onTestFinished(() => {
    socket.disconnect()
  })
  return socket
}

/** Resolves on connect, rejects with the connect_error. */
export function connected(socket: DashboardSocket): Promise<DashboardSocket> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket)
    socket.once('connect', () => resolve(socket))
    socket.once('connect_error', reject)
  })
}

export function refused(socket: DashboardSocket): Promise<Error & { data?: { code: string } }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected a refusal')))
    socket.once('connect_error', (err) => resolve(err as Error & { data?: { code: string } }))
  })
}
