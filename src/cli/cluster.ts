import type { HubConfig } from '../config/env.ts'

/** Placeholder until implemented: `zhian cluster status`. */
export async function clusterCommand(_config: HubConfig, _args: string[]): Promise<number> {
  console.error('zhian cluster status: not built yet')
  return 2
}
