import { ref } from 'vue'
import { KINDS } from '../../../devices/index.ts'
import { api, type TeamInfo } from './api.ts'
import { hasMessage, t } from './i18n.ts'

/**
 * Teams a manager can assign an alert or a work order to: those of the estate file (GET /api/teams)
 * and the catalogue's default crews (an estate file without `teams` still routes to those).
 */
const teams = ref<TeamInfo[]>([])
let loaded: Promise<void> | undefined

export function loadTeams(): Promise<void> {
  loaded ??= api.teams().then(
    (list) => {
      teams.value = list
    },
    () => {
      loaded = undefined // a later view tries again
    },
  )
  return loaded
}

/** Forget the list (logout: the next user may have another scope). */
export function forgetTeams(): void {
  teams.value = []
  loaded = undefined
}

const CATALOGUE_CREWS = [
  ...new Set(
    Object.values(KINDS).flatMap((k) =>
      Object.values(k.alerts as Record<string, { crew: string }>).map((a) => a.crew),
    ),
  ),
].sort()

/** A team's name in the user's language: the estate file's name, or the catalogue crew's label. */
export function teamName(id: string | null | undefined): string {
  if (!id) return '—'
  const named = teams.value.find((x) => x.id === id)
  if (named) return named.name
  const key = `crew_${id}`
  return hasMessage(key) ? t(key) : id
}

/** Teams of the estate file only: a work order needs members to notify (POST /api/work-orders refuses others). */
export function configuredTeams(): { id: string; name: string }[] {
  return teams.value.map((x) => ({ id: x.id, name: x.name }))
}

/** Select options: configured teams first, then catalogue crews not configured, then `extra` (current). */
export function teamOptions(...extra: (string | null | undefined)[]): { id: string; name: string }[] {
  const ids = [...teams.value.map((x) => x.id), ...CATALOGUE_CREWS, ...extra.filter((x): x is string => !!x)]
  return [...new Set(ids)].map((id) => ({ id, name: teamName(id) }))
}
