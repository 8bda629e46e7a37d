import { ref } from 'vue'
import type { Alert } from '../../alerts/types.ts'

/**
 * Desktop notifications (the browser's Notification API) for a manager whose console is open but not
 * in front — a background tab, or a window behind another program: a new critical alert in the user's
 * scope (the socket only delivers those) shows a system notification with its Chinese title; clicking
 * it brings the console forward on that alert. A console in front beeps instead (live.ts). The
 * browser asks the user's permission only from a click (`askPermission`, the header's button).
 */

export type NotifyPermission = NotificationPermission | 'unsupported'

const supported = typeof window !== 'undefined' && 'Notification' in window
export const permission = ref<NotifyPermission>(supported ? Notification.permission : 'unsupported')

/** From a user's click: browsers ignore (or block) a request that no gesture started. */
export async function askPermission(): Promise<void> {
  if (!supported) return
  permission.value = await Notification.requestPermission()
}

/** Whether the person is looking elsewhere: the tab hidden, or the window without focus. */
export function looksAway(): boolean {
  return document.visibilityState !== 'visible' || !document.hasFocus()
}

/** A new critical alert: a system notification when nobody is looking at the console. */
export function notifyCritical(alert: Alert, estate: string): void {
  if (!supported || Notification.permission !== 'granted' || !looksAway()) return
  const n = new Notification(alert.title.zh, {
    body: [estate, alert.message.zh].filter(Boolean).join('\n'),
    // One notification per alert: a re-raise replaces it instead of stacking.
    tag: alert.id,
    lang: 'zh-CN',
    requireInteraction: true,
  })
  n.onclick = () => {
    window.focus()
    location.hash = `#/alerts/${encodeURIComponent(alert.id)}`
    n.close()
  }
}
