import { parseArgs } from 'node:util'
import { ApiToken } from '../auth/api-token.ts'
import { Auth } from '../auth/auth.ts'
import type { HubConfig } from '../config/env.ts'
import { ROLES, type Role } from '../config/estate-file.ts'
import { Bus } from '../core/bus.ts'
import { Registry } from '../registry/registry.ts'
import { openDb } from '../store/db.ts'
import { chosenSecret, moreThanOne, secretOptions } from './secret-input.ts'

const USAGE = `usage:
  zhian user add USERNAME --role admin|manager|crew|viewer [--scope SITE] [--team CREW] [PASSWORD]
  zhian user passwd USERNAME [PASSWORD]
  zhian user remove USERNAME
  zhian user list
PASSWORD is one of --password-stdin (read from standard input), --password-file FILE, or
--password PW (visible to other users in the process list and kept in shell history: avoid).
Without one a password is generated and printed once. Without --scope the user sees every site.`

/** `zhian user add|passwd|remove|list`: works on the store directly; a running hub sees it on the next request. */
export async function userCommand(config: HubConfig, args: string[]): Promise<number> {
  const [action, ...rest] = args
  const db = openDb(config.dataDir, config.databaseUrl)
  const registry = new Registry(db, new Bus())
  registry.open()
  const auth = new Auth(db, new ApiToken(db))
  auth.open()
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        scope: { type: 'string' },
        team: { type: 'string' },
        ...secretOptions('password'),
      },
    })
    const username = positionals[0] ?? ''
    const chosen = chosenSecret(values, 'password')
    if (chosen === null) {
      console.error(moreThanOne('password'))
      return 2
    }
    switch (action) {
      case 'add': {
        if (!values.role || !(ROLES as readonly string[]).includes(values.role)) {
          console.error(`--role is one of ${ROLES.join(', ')}`)
          return 2
        }
        if (values.scope && !registry.site(values.scope)) {
          console.error(`ZHIAN_ERR_UNKNOWN_SITE: no site "${values.scope}"`)
          return 1
        }
        const generated = chosen === undefined ? generatePassword() : undefined
        const user = await auth.users.add({
          username,
          password: (chosen ?? generated)!,
          role: values.role as Role,
          scope: values.scope ?? null,
          team: values.team ?? null,
        })
        console.log(`added ${user.role} ${user.username}, scope ${user.scope ?? 'all sites'}`)
        if (generated) console.log(`password (shown once): ${generated}`)
        return 0
      }
      case 'passwd': {
        const generated = chosen === undefined ? generatePassword() : undefined
        await auth.users.setPassword(username, (chosen ?? generated)!)
        console.log(`password of ${username} changed; their sessions ended`)
        if (generated) console.log(`password (shown once): ${generated}`)
        return 0
      }
      case 'remove': {
        if (!auth.users.remove(username)) {
          console.error(`ZHIAN_ERR_NOT_FOUND: no user "${username}"`)
          return 1
        }
        console.log(`removed ${username}`)
        return 0
      }
      case 'list': {
        for (const u of auth.users.list())
          console.log([u.username, u.role, u.scope ?? '*', u.team ?? '-', u.source].join('\t'))
        return 0
      }
      default:
        console.error(USAGE)
        return 2
    }
  } finally {
    db.close()
  }
}

function generatePassword(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url')
}
