import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildHub, tempDir } from '../../helpers/hub.ts'
import { as, DASHBOARD_ESTATE, login, tokenOf, USERS } from '../../helpers/session.ts'

/** Users in the estate YAML: the file is the truth for them at every start. */
describe('estate-file users follow the file', () => {
  it('a user removed from the file cannot log in, a changed password ends old sessions, the rest stay', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'estate.yaml')
    const original = fs.readFileSync(DASHBOARD_ESTATE, 'utf8')
    fs.writeFileSync(file, original)
    const first = await buildHub({ estateFile: file })
    const tokens = {
      mgr_e1: await tokenOf(first.httpUrl, 'mgr_e1'),
      mgr_e2: await tokenOf(first.httpUrl, 'mgr_e2'),
      viewer_e1: await tokenOf(first.httpUrl, 'viewer_e1'),
    }
    await first.hub.auth.users.add({
      username: 'cli_user',
      password: 'cli-user-password',
      role: 'viewer',
      scope: 'e1',
    })
    const dataDir = first.dataDir
    await first.close()

    // mgr_e2 leaves the file; mgr_e1 gets a new password.
    const edited = original
      .replace(/^.*username: mgr_e2.*\n/m, '')
      .replace('password: mgr-e1-password', 'password: mgr-e1-new-password')
    expect(edited).not.toContain('mgr_e2')
    fs.writeFileSync(file, edited)
    const second = await buildHub({ estateFile: file, dataDir })
    const { httpUrl } = second

    expect((await login(httpUrl, 'mgr_e2', USERS.mgr_e2)).status).toBe(401)
    expect((await as(httpUrl, tokens.mgr_e2)('/api/auth/me')).status).toBe(401)
    expect((await as(httpUrl, tokens.mgr_e1)('/api/auth/me')).status).toBe(401)
    expect((await login(httpUrl, 'mgr_e1', USERS.mgr_e1)).status).toBe(401)
    expect((await login(httpUrl, 'mgr_e1', 'mgr-e1-new-password')).status).toBe(200)
    // Unchanged users keep their sessions; users made with the CLI are not the file's to remove.
    expect(await (await as(httpUrl, tokens.viewer_e1)('/api/auth/me')).json()).toMatchObject({
      username: 'viewer_e1',
    })
    expect((await login(httpUrl, 'cli_user', 'cli-user-password')).status).toBe(200)
    const users = (second.hub.db.prepare('SELECT username FROM users').all() as { username: string }[]).map(
      (u) => u.username,
    )
    expect(users).not.toContain('mgr_e2')
    expect(
      second.hub.db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE username = 'mgr_e2'").get(),
    ).toEqual({
      n: 0,
    })
  })

  it('a restart with the same file keeps every session', async () => {
    const first = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const token = await tokenOf(first.httpUrl, 'mgr_e1')
    const dataDir = first.dataDir
    await first.close()
    const second = await buildHub({ estateFile: DASHBOARD_ESTATE, dataDir })
    expect((await as(second.httpUrl, token)('/api/auth/me')).status).toBe(200)
  })
})
