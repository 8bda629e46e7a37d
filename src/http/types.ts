import type { ZoneAggregate } from '../../devices/types.ts'
import type { Gating } from '../alerts/gating.ts'
import type { AlertStore } from '../alerts/store.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { Registry } from '../registry/registry.ts'
import type { Catalog } from '../rules/catalog.ts'

/** What the alert, silence, maintenance and zone routes need from the hub. */
export interface RulesHttp {
  alerts: AlertStore
  gating: Gating
  registry: Registry
  /** The alert catalogue (for validating alert types in silences). */
  catalog: () => Catalog | undefined
  zones: (estate?: string) => ZoneAggregate[]
  /** Team ids of the dispatch config (estate YAML `teams`); with the catalogue's crews, what an alert can be assigned to. */
  teams?: () => readonly string[]
  /** The dispatcher's rule for a team given an alert (it must serve the alert's place). */
  dispatch?: Pick<Dispatcher, 'servingTeam'> | undefined
}
