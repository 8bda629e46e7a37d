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

/** The estate file's teams as loaded (members with their names and logins). */
export function teamList(): TeamInfo[] {
  return teams.value
}

/**
 * Teams that serve an estate (the estate file's teams listed for it, or for every estate): what assign
 * offers for one of its alerts. The catalogue's crews only when the estate file names
 * no team at all, since then routing falls back to them.
 */
export function servingTeams(estate: string | null | undefined): { id: string; name: string }[] {
  if (teams.value.length === 0) return CATALOGUE_CREWS.map((id) => ({ id, name: teamName(id) }))
  const serving = teams.value.filter((x) => !x.estates || (estate && x.estates.includes(estate)))
  // An estate's own teams first, then those serving everywhere.
  return [...serving]
    .sort((a, b) => Number(!a.estates) - Number(!b.estates))
    .map((x) => ({ id: x.id, name: x.name }))
}

/** Teams a work order may name: the estate file's teams serving the estate (no catalogue crew: it has no one to notify). */
export function orderTeams(estate: string | null | undefined): { id: string; name: string }[] {
  return teams.value.length ? servingTeams(estate) : []
}

/** The team routing would pick by the catalogue crew: the estate's own team playing that crew (no teams: the crew). */
export function defaultTeam(estate: string | null | undefined, crew: string): string | undefined {
  if (teams.value.length === 0) return crew
  const serving = teams.value.filter(
    (x) => (x.crew ?? x.id) === crew && (!x.estates || (estate && x.estates.includes(estate))),
  )
  return (serving.find((x) => x.estates) ?? serving[0])?.id
}
