import type { HubConfig } from '../config/env.ts'

/** Placeholder until implemented: `zhian store migrate`. */
export async function storeCommand(_config: HubConfig, _args: string[]): Promise<number> {
  console.error('zhian store migrate: not built yet')
  return 2
}
