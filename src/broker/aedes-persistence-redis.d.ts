/** aedes-persistence-redis 11 ships no types: the constructor and the methods the broker wraps or calls. */
declare module 'aedes-persistence-redis' {
  import type { Redis, RedisOptions } from 'ioredis'

  type ClientRef = { id: string }
  type PacketRef = { messageId?: number }
  export interface RedisPersistence {
    incomingStorePacket(client: ClientRef, packet: PacketRef): Promise<void>
    incomingDelPacket(client: ClientRef, packet: PacketRef): Promise<void>
    /** Missing in 11.2 (Aedes feature-detects it); cluster.ts adds it. */
    cleanIncoming?: (client: ClientRef) => Promise<void>
    destroy(): Promise<void>
  }
  export default function persistenceRedis(
    options?: RedisOptions & { conn?: Redis; maxSessionDelivery?: number },
  ): RedisPersistence
}
