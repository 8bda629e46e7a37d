import { createApp } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import type { Permission } from '../../auth/permissions.ts'
import AlertConsole from './AlertConsole.vue'
import AlertDetail from './AlertDetail.vue'
import AlertHistory from './AlertHistory.vue'
import AppShell from './AppShell.vue'
import { home, may, me } from './access.ts'
import DeviceList from './DeviceList.vue'
import EstateView from './EstateView.vue'
import ModelList from './ModelList.vue'
import MyTasks from './MyTasks.vue'
import ReportView from './ReportView.vue'
import SiteCockpit from './SiteCockpit.vue'

/** Hash routes: the hub serves one index.html and never needs to know the dashboard's paths. */
const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', component: AlertConsole, name: 'console' },
    { path: '/sites', component: SiteCockpit, name: 'sites' },
    { path: '/estates/:id', component: EstateView, name: 'estate', props: true },
    { path: '/devices', component: DeviceList, name: 'devices' },
    { path: '/models', component: ModelList, name: 'models' },
    { path: '/history', component: AlertHistory, name: 'history' },
    { path: '/alerts/:id', component: AlertDetail, name: 'alert', props: true },
    { path: '/reports', component: ReportView, name: 'reports', meta: { need: 'read_reports' } },
    // Crew app (dispatch): `#/tasks`, and `#/work-orders/<id>` from the link in every notification.
    { path: '/tasks', component: MyTasks, name: 'tasks' },
    { path: '/work-orders/:id', component: MyTasks, name: 'work-order', props: true },
  ],
})

// A view the user may not use (`meta.need`, checked against the hub's list) is not shown: go home.
router.beforeEach((to) => {
  const need = to.meta.need as Permission | undefined
  if (need && me.value && !may(need)) return home()
  return true
})

createApp(AppShell).use(router).mount('#app')
