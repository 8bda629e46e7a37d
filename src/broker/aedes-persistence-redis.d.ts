/** aedes-persistence-redis 11 ships no types: the constructor and the teardown the broker uses. */
declare module 'aedes-persistence-redis' {
  import type { Redis, RedisOptions } from 'ioredis'

  interface RedisPersistence {
    destroy(): Promise<void>
  }
  export default function persistenceRedis(
    options?: RedisOptions & { conn?: Redis; maxSessionDelivery?: number },
  ): RedisPersistence
}
