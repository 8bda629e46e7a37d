import { reactive, watch } from 'vue'
import { OPEN_STATUSES, type WorkOrder } from '../../dispatch/types.ts'
import { api } from './api.ts'
import { store } from './live.ts'

/**
 * The open work order of each alert, so the console offers 派工单 only where none is open and links
 * the one that is. Loaded once, then kept by the socket's `work_order` events (every order the user
 * may see); a re-sync of the alerts reloads it.
 */
const byAlert = reactive(new Map<string, WorkOrder>())
let loading: Promise<void> | undefined

export function openOrderOf(alertId: string): WorkOrder | undefined {
  return byAlert.get(alertId)
}

export function noteOrder(wo: WorkOrder): void {
  if (!wo.alert_id) return
  if (OPEN_STATUSES.includes(wo.status)) byAlert.set(wo.alert_id, wo)
  else if (byAlert.get(wo.alert_id)?.id === wo.id) byAlert.delete(wo.alert_id)
}

export function loadOpenOrders(): Promise<void> {
  loading ??= api.openWorkOrders().then(
    (page) => {
      byAlert.clear()
      for (const wo of page.items) noteOrder(wo)
    },
    () => {
      loading = undefined // a later view tries again
    },
  )
  return loading
}

// Every change the socket delivers (sync: two changes in one tick must both land).
watch(
  () => store.lastWorkOrder,
  (change) => {
    if (change) noteOrder(change.work_order)
  },
  { flush: 'sync' },
)
// A re-sync after a reconnect the socket could not recover, or another login: fetch again.
watch(
  () => [store.resyncs, store.user?.username],
  () => {
    loading = undefined
    if (store.user) void loadOpenOrders()
  },
)
