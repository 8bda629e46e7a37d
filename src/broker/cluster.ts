import type { EventEmitter } from 'node:events'
import type { AedesOptions } from 'aedes'
import persistenceRedis, { type RedisPersistence } from 'aedes-persistence-redis'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
import type { ClusterConfig } from '../config/env.ts'
import { type Logger, LogLimit } from '../util/logger.ts'
import type { ClientIdOwners } from './client-ids.ts'

/**
 * Cluster mode: Aedes' own building blocks on one Redis — mqemitter-redis carries every PUBLISH and
 * Aedes' `$SYS/<node>/…` messages (heartbeat, the `new/clients` takeover) between the nodes, and
 * aedes-persistence-redis holds sessions, queued QoS 1/2 messages, retained messages and wills for
 * all of them. Client-id ownership (client-ids.ts) lives in the same Redis.
 *
 * Every key and every pub/sub channel carries `prefix`, so several clusters can share one Redis
 * (pub/sub ignores the database number; ioredis' keyPrefix covers keys only, so the emitter's
 * channels are prefixed here).
 */
export interface ClusterParts {
  options: Pick<AedesOptions, 'id' | 'mq' | 'persistence' | 'heartbeatInterval'>
  clientIds: RedisClientIdOwners
  roster: NodeRoster
  /** After Aedes closed (which quits the emitter's connections): the persistence's connection. */
  close: () => Promise<void>
}

export function clusterParts(cluster: ClusterConfig, prefix: string, log: Logger): ClusterParts {
  const redisOptions = { lazyConnect: false }
  const subConn = prefixChannels(new Redis(cluster.redisUrl, redisOptions), prefix)
  const pubConn = prefixChannels(new Redis(cluster.redisUrl, redisOptions), prefix)
  const conn = new Redis(cluster.redisUrl, { ...redisOptions, keyPrefix: prefix })
  const mq = mqemitterRedis({ subConn, pubConn, matchEmptyLevels: true }) // [MQTT-4.7.1-3], as Aedes' default
  // ioredis reconnects (and resubscribes) by itself; the emitter re-emits its connections' errors on
  // `state`, where an 'error' nobody listens to would throw and end the process.
  const redisDown = new LogLimit('Redis connection error (MQTT between nodes)')
  const onError = (err: Error) => redisDown.note(log, { err: err.message })
  ;(mq as unknown as { state: EventEmitter }).state.on('error', onError)
  conn.on('error', onError)
  const persistence = persistenceRedis({ conn })
  const clientIds = new RedisClientIdOwners(conn, cluster.nodeId, prefix)
  addCleanIncoming(persistence, conn)
  return {
    options: { id: cluster.nodeId, mq, persistence, heartbeatInterval: AEDES_HEARTBEAT_MS },
    clientIds,
    roster: new NodeRoster(conn, cluster.nodeId, (gone) => clientIds.forgetConnectionsOf(gone)),
    close: async () => {
      // Its own teardown unsubscribes through the emitter, already closed with Aedes: only the
      // connection is left to close.
      await persistence.destroy().catch(() => {})
      if (conn.status !== 'end') await conn.quit().catch(() => conn.disconnect())
    },
  }
}

/**
 * Aedes' `$SYS/<node>/heartbeat` (default 1 min). A node unheard for 3 beats is dead to the others,
 * who then sweep its stored wills (every 4 beats): see Broker.authorizePublish for what becomes of them.
 */
const AEDES_HEARTBEAT_MS = 5000

/**
 * The channel methods mqemitter-redis uses, with the cluster's prefix in front of every channel. Once
 * the emitter quits (Aedes closing), the `$SYS/<node>/…/clients` notices of the clients it closes
 * still arrive: they are dropped. Its QUIT is not awaited, and a connection that closes before QUIT's
 * reply rejects it (with every command still queued): settled here, not left unhandled.
 */
function prefixChannels(conn: Redis, prefix: string): Redis {
  let quitting = false
  // After a reconnect ioredis subscribes again through these same methods, with the (prefixed)
  // channels it recorded, several in one array: a channel already prefixed stays as it is. No MQTT
  // topic that reaches the emitter starts with it (ours have no colon; a refused one is parked).
  const withPrefix = (channel: unknown) => {
    const name = String(channel)
    return name.startsWith(prefix) ? name : prefix + name
  }
  const methods = conn as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of ['publish', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe']) {
    const original = methods[name]!.bind(conn)
    methods[name] = (channel: unknown, ...rest: unknown[]) => {
      const channels = Array.isArray(channel) ? channel.map(withPrefix) : withPrefix(channel)
      const sent = original(channels, ...rest) as Promise<unknown>
      return name === 'publish'
        ? sent.catch((err: Error) => (quitting ? undefined : Promise.reject(err)))
        : sent
    }
  }
  const quit = methods.quit!.bind(conn)
  methods.quit = (...args: unknown[]) => {
    quitting = true
    return (quit(...args) as Promise<unknown>).catch(() => undefined)
  }
  return conn
}

/**
 * aedes-persistence-redis 11.2 lacks `cleanIncoming`, which Aedes 1.2 calls when a clean session
 * connects and when it ends, to drop the inbound QoS 2 packets held between PUBREC and PUBREL
 * [MQTT-3.1.2-6] (aedes docs/MIGRATION.md). Without it every clean connection that drops mid-exchange
 * leaves its packet in Redis for good (and its packet id is taken for a duplicate on return; the hub
 * has journalled the message in authorizePublish by then, so no reading is lost either way). The
 * package keeps those packets at `incoming:<client id>:<packet id>`; the ids stored per client are
 * kept in a set beside them, so cleaning deletes exactly those keys.
 */
function addCleanIncoming(persistence: RedisPersistence, redis: Redis): void {
  const idsOf = (client: { id: string }) => `incoming-ids:${encodeURIComponent(client.id)}`
  const packetKey = (client: { id: string }, messageId: string) =>
    `incoming:${encodeURIComponent(client.id)}:${messageId}`
  const store = persistence.incomingStorePacket.bind(persistence)
  const remove = persistence.incomingDelPacket.bind(persistence)
  persistence.incomingStorePacket = async (client, packet) => {
    await redis.sadd(idsOf(client), String(packet.messageId))
    await store(client, packet)
  }
  persistence.incomingDelPacket = async (client, packet) => {
    await remove(client, packet)
    await redis.srem(idsOf(client), String(packet.messageId))
  }
  persistence.cleanIncoming = async (client) => {
    const ids = await redis.smembers(idsOf(client))
    await redis.del(...ids.map((id) => packetKey(client, id)), idsOf(client))
  }
}

/**
 * claim: the owner stays unless it is another identity; this node's open count goes up; `persistent`
 * follows the newest connection (a clean one ends the session [MQTT-3.1.2-6]).
 */
const CLAIM = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'persistent', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'open:' .. ARGV[2], 1)
return 1`

/** release: one connection on this node closed; the claim goes once no node holds one and no session lives. */
const RELEASE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local field = 'open:' .. ARGV[1]
if tonumber(redis.call('HINCRBY', KEYS[1], field, -1)) <= 0 then redis.call('HDEL', KEYS[1], field) end
if redis.call('HGET', KEYS[1], 'persistent') == '1' then return 0 end
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(name, 1, 5) == 'open:' then return 0 end
end
redis.call('DEL', KEYS[1])
return 1`

/** forget: every connection node ARGV[1] counted is gone (it died, or starts again). */
const FORGET = `
redis.call('HDEL', KEYS[1], 'open:' .. ARGV[1])
if redis.call('HGET', KEYS[1], 'persistent') == '1' then return 0 end
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(name, 1, 5) == 'open:' then return 0 end
end
redis.call('DEL', KEYS[1])
return 1`

/**
 * ClientIdClaims' rule for the whole cluster: one hash per client id (`client-id:<id>`) with its
 * owner, whether its session persists, and each node's count of open connections with it. The
 * counts of a node that died are dropped by the survivors once it is gone from the roster, and by
 * the node itself when it starts again under the same id (forgetConnectionsOf).
 */
export class RedisClientIdOwners implements ClientIdOwners {
  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly prefix: string,
  ) {}

  async claim(clientId: string, owner: string, clean: boolean): Promise<boolean> {
    const ok = await this.redis.eval(CLAIM, 1, keyOf(clientId), owner, this.nodeId, clean ? '0' : '1')
    return ok === 1
  }

  release(clientId: string): void {
    this.redis.eval(RELEASE, 1, keyOf(clientId), this.nodeId).catch(() => {})
  }

  async ownerOf(clientId: string): Promise<string | undefined> {
    return (await this.redis.hget(keyOf(clientId), 'owner')) ?? undefined
  }

  /** The connections `nodeId` counted are gone: it died, or (this node, at start) it stopped. */
  async forgetConnectionsOf(nodeId: string = this.nodeId): Promise<void> {
    // SCAN's MATCH and the keys it returns are not prefixed by ioredis: strip the prefix before use.
    const stream = this.redis.scanStream({ match: `${this.prefix}client-id:*`, count: 500 })
    for await (const keys of stream as AsyncIterable<string[]>) {
      for (const key of keys) {
        const clientId = decodeURIComponent(key.slice(`${this.prefix}client-id:`.length))
        await this.redis.eval(FORGET, 1, keyOf(clientId), nodeId)
      }
    }
  }
}

/** How often a node says it is alive, and how long after its last word it counts as gone. */
const BEAT_MS = 10_000
const GONE_AFTER_MS = 3 * BEAT_MS

/** join/beat: this node alive now (Redis' clock, the same for every node). */
const BEAT = `
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), ARGV[1])
return 1`

/** leave: this node gone; how many others were alive within ARGV[2] ms (one step, so of two nodes leaving at once exactly one sees none). */
const LEAVE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZCOUNT', KEYS[1], ms - tonumber(ARGV[2]), '+inf')`

/** gone: the nodes unheard for ARGV[1] ms (dead: they did not leave). */
const GONE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (ms - tonumber(ARGV[1])))`

/**
 * The nodes alive in the cluster (a sorted set `nodes`: node id by its last beat). The hub's
 * retained `<base>/hub/availability` is one value for the whole cluster, so only the last node to
 * leave may say `offline`; a node stopping for a rolling restart must not tell every subscriber on
 * the other nodes that the hub is gone.
 */
export class NodeRoster {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    /** What a dead node leaves behind, cleared by the survivors; removed from the roster after. */
    private readonly onGone: (nodeId: string) => Promise<void>,
  ) {}

  async join(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => void this.beat().catch(() => {}), BEAT_MS)
    this.timer.unref()
  }

  private async beat(): Promise<void> {
    await this.redis.eval(BEAT, 1, 'nodes', this.nodeId)
    const gone = (await this.redis.eval(GONE, 1, 'nodes', String(GONE_AFTER_MS))) as string[]
    for (const nodeId of gone) {
      await this.onGone(nodeId)
      await this.redis.zrem('nodes', nodeId)
    }
  }

  /** Leave; true when no other node is alive, so the hub as a whole is going offline. */
  async leave(): Promise<boolean> {
    clearInterval(this.timer)
    return (await this.redis.eval(LEAVE, 1, 'nodes', this.nodeId, String(GONE_AFTER_MS))) === 0
  }
}

function keyOf(clientId: string): string {
  return `client-id:${encodeURIComponent(clientId)}`
}
