import { randomBytes } from 'node:crypto'
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { Redis } from 'ioredis'
import type { Logger } from '../util/logger.ts'

/**
 * socket.io across the nodes of a cluster: the maintained Redis Streams adapter
 * (@socket.io/redis-streams-adapter) carries every broadcast through one Redis stream, so
 * `io.to(room).emit()` on one node reaches that room's sockets on every node, and keeps the
 * connection-state-recovery sessions as Redis keys, so a dashboard cut from one node resumes on
 * another. This file owns the Redis connections and the two things the adapter does not offer:
 * knowing that this node reads the stream before it serves dashboards, and the missed broadcasts
 * *with their addressing* (the adapter's own restore filters by the rooms the socket held when it
 * dropped; the hub filters by the rooms the user may hold now).
 */

/** Broadcasts kept in the stream: recovery reaches back this far (alerts and work orders, not device values). */
const MAX_LEN = 10_000
/** The adapter reads the stream from "$" once its reader connected; probes until it saw one of ours. */
const READY_TIMEOUT_MS = 10_000
/** socket.io-adapter ClusterAdapter message type of a broadcast, as the adapter writes it to the stream. */
const BROADCAST = '3'
/** socket.io-parser packet type EVENT. */
const EVENT = 2

/** A broadcast kept for recovery: the rooms it went to, the rooms excluded, and the frame with its offset last. */
export interface MissedPacket {
  rooms: string[]
  except: string[]
  data: unknown[]
}

interface StreamAdapter {
  onRawMessage(raw: { uid: string; nsp: string; type: string; data?: string }, offset: string): unknown
}

export class ClusterLink {
  private readonly redis: Redis
  /** The stream, the pub/sub channels and the session keys carry the hub's prefix: several hubs may share a Redis. */
  private readonly stream: string
  /** The connections the adapter opens for itself (stream reader, pub/sub): closed with ours. */
  private readonly duplicates: Redis[] = []

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    nodeId: string,
    private readonly log: Logger,
  ) {
    this.stream = prefix
    // Named in CLIENT LIST (the adapter's own connections are duplicates and carry the name too).
    this.redis = new Redis(redisUrl, { connectionName: `${nodeId}:socket.io` })
    this.redis.on('error', (err) => this.log.warn({ err: err.message }, 'redis (socket.io adapter)'))
    const duplicate = this.redis.duplicate.bind(this.redis)
    this.redis.duplicate = (override) => {
      const client = duplicate(override)
      this.duplicates.push(client)
      return client
    }
  }

  adapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.redis, {
      streamName: this.stream,
      channelPrefix: this.prefix,
      sessionKeyPrefix: `${this.prefix}:session:`, // as forget()
      maxLen: MAX_LEN,
      // Only JSON goes out (alerts, work orders, roll-ups): no binary scan of every packet.
      onlyPlaintext: true,
    })
  }

  /**
   * Resolves once this node's stream reader delivered an entry written after start (probes written
   * until one comes back), so nothing another node broadcasts from now on is missed. False when
   * Redis did not answer in time (the node still serves its own sockets).
   */
  async ready(adapter: unknown): Promise<boolean> {
    const reader = adapter as StreamAdapter
    const end = Date.now() + READY_TIMEOUT_MS
    const uid = `probe-${randomBytes(8).toString('hex')}`
    const onRawMessage = reader.onRawMessage
    let seen = false
    reader.onRawMessage = function (raw, offset) {
      if (raw.uid === uid) seen = true
      return onRawMessage.call(this, raw, offset)
    }
    try {
      while (!seen && Date.now() < end) {
        // An entry every node ignores (no message type): ClusterAdapter logs it as unknown and moves on.
        await this.redis.xadd(this.stream, 'MAXLEN', '~', MAX_LEN, '*', 'uid', uid, 'nsp', '/', 'type', '0')
        for (let i = 0; i < 20 && !seen; i++) await new Promise((r) => setTimeout(r, 10))
      }
    } catch (err) {
      this.log.error({ err }, 'redis: the socket.io stream is not reachable')
    } finally {
      reader.onRawMessage = onRawMessage
    }
    return seen
  }

  /**
   * The broadcasts of namespace `/` after `offset`, oldest first, with their addressing; undefined
   * when the offset is not a stream id. Bounded like the adapter's own restore (100 reads).
   */
  async missed(offset: string): Promise<MissedPacket[] | undefined> {
    if (!/^\d+-\d+$/.test(offset)) return undefined
    const packets: MissedPacket[] = []
    let from = offset
    for (let i = 0; i < 100; i++) {
      // `(` is an exclusive start (Redis 6.2).
      const entries = await this.redis.xrange(this.stream, `(${from}`, '+', 'COUNT', 1000)
      if (entries.length === 0) break
      for (const [id, fields] of entries) {
        from = id
        const packet = broadcastOf(fields)
        if (packet) packets.push({ ...packet, data: [...packet.data, id] })
      }
    }
    return packets
  }

  /** Drop a stored session (its socket ended for good: logout, a dropped login, the tab said goodbye). */
  forget(pid: string): void {
    void this.redis.del(`${this.prefix}:session:${pid}`).catch(() => {})
  }

  async close(): Promise<void> {
    for (const client of this.duplicates.splice(0)) client.disconnect()
    // QUIT after the commands already queued (the sessions persisted by the sockets just closed).
    await this.redis.quit().catch(() => this.redis.disconnect())
  }
}

/** A stream entry's broadcast of an event to namespace `/` that recovery replays (not volatile, no ack). */
function broadcastOf(fields: string[]): (Omit<MissedPacket, 'data'> & { data: unknown[] }) | undefined {
  const entry: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!
  if (entry.nsp !== '/' || entry.type !== BROADCAST || !entry.data?.startsWith('{')) return undefined
  const { packet, opts } = JSON.parse(entry.data) as {
    packet: { type: number; id?: number; data: unknown[] }
    opts: { rooms?: string[]; except?: string[]; flags?: { volatile?: boolean } }
  }
  if (packet.type !== EVENT || packet.id !== undefined || opts.flags?.volatile) return undefined
  return { rooms: opts.rooms ?? [], except: opts.except ?? [], data: packet.data }
}
