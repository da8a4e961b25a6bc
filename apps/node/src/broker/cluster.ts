// Cluster mode of the embedded broker: aedes as it is deployed on several machines, every node
// sharing one Redis. mqemitter-redis carries the message fan-out between the nodes (a message
// published on one node reaches subscribers connected to another); aedes-persistence-redis keeps
// sessions, subscriptions, retained messages and in-flight QoS 1/2 messages in Redis, so a
// client that loses its node connects to another and finds its session there. Both packages are
// optional peers of @umqtt/node, loaded only when a cluster node starts.
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { INVALID_ARGUMENT } from '@umqtt/codec';
import { CLUSTER_MISSING, INVALID_URL, REDIS_UNREACHABLE, nodeError } from '../errors.js';

/**
 * Cluster mode of {@link startEmbeddedBroker}: the Redis every node shares, and this node's name.
 *
 * @example
 * const options: ClusterOptions = { redis: 'redis://:secret@10.0.0.5:6379/0', nodeId: 'edge-1' };
 */
export interface ClusterOptions {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://...` for Redis over TLS. */
  redis: string;
  /**
   * This node's name: letters, digits, `_` and `-`, at most 64. Default: the host name (its
   * allowed characters). Each start gets the aedes broker id `NODE-<start time, base 36>`: aedes
   * numbers the messages of a broker id from 1 at every start and keys what it stores in Redis
   * by id and number, so a restarted node must not reuse the id of its previous run.
   */
  nodeId?: string | undefined;
}

/** The ioredis options of a Redis URL (what both Redis packages take). */
interface RedisOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
}

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CONNECT_TIMEOUT_MS = 5000;

/** Parses and checks a Redis URL; throws {@link INVALID_URL} for anything else. */
export function parseRedisUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw nodeError(INVALID_URL, `Redis URL "${url}" is not a URL; expected e.g. redis://127.0.0.1:6379`, 'broker');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw nodeError(
      INVALID_URL,
      `Redis URL "${url}" has scheme "${u.protocol}": use redis:// or rediss:// (TLS)`,
      'broker',
    );
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw nodeError(INVALID_URL, `Redis URL "${url}" has no host`, 'broker');
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path))
    throw nodeError(INVALID_URL, `Redis URL "${url}": the path must be a database number, got "/${path}"`, 'broker');
  const options: RedisOptions = { host, port: u.port ? Number(u.port) : 6379 };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  if (path !== '') options.db = Number(path);
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}

/** The node id given, checked, or one made from the host name. */
export function clusterNodeId(nodeId: string | undefined): string {
  if (nodeId === undefined)
    return (
      hostname()
        .replace(/[^A-Za-z0-9_-]/g, '')
        .slice(0, 64) || 'node'
    );
  if (!NODE_ID.test(nodeId))
    throw nodeError(
      INVALID_ARGUMENT,
      `node id "${nodeId}" must be 1 to 64 letters, digits, "_" or "-" (aedes uses it in $SYS topics and Redis keys)`,
      'broker',
    );
  return nodeId;
}

/** Resolves once a TCP connection to the Redis host could be opened; rejects with {@link REDIS_UNREACHABLE}. */
function reachable(o: RedisOptions, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: o.host, port: o.port });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        nodeError(REDIS_UNREACHABLE, `cannot reach Redis at ${url.replace(/\/\/[^@/]*@/, '//')} (${why})`, 'broker'),
      );
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(`no answer within ${CONNECT_TIMEOUT_MS} ms`));
    socket.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

interface Destroyable {
  destroy(): Promise<void>;
}

/** What aedes needs for cluster mode: its `id`, `mq` and `persistence`, and how to let go of the persistence. */
export interface ClusterParts {
  aedes: { id: string; mq: unknown; persistence: Destroyable };
  /** Closes the persistence's Redis connections (aedes closes `mq` itself). */
  destroy(): Promise<void>;
}

type Factory = (options: Record<string, unknown>) => unknown;

async function load(name: string): Promise<Factory> {
  try {
    const module = (await import(name)) as { default: Factory };
    return module.default;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw nodeError(
      CLUSTER_MISSING,
      `cluster mode needs the packages mqemitter-redis and aedes-persistence-redis (optional dependencies of @umqtt/node); ${name} is not installed: npm install mqemitter-redis aedes-persistence-redis`,
      'broker',
    );
  }
}

/**
 * Checks the options, loads the Redis packages, checks Redis can be reached, and makes the
 * emitter and persistence of one cluster node.
 */
export async function clusterParts(cluster: ClusterOptions): Promise<ClusterParts> {
  const redis = parseRedisUrl(cluster.redis);
  const id = `${clusterNodeId(cluster.nodeId)}-${Date.now().toString(36)}`;
  const mqemitterRedis = await load('mqemitter-redis');
  const persistenceRedis = await load('aedes-persistence-redis');
  await reachable(redis, cluster.redis);
  // Each package opens two connections of its own; they are given separate copies of the options.
  const mq = mqemitterRedis({ ...redis });
  const persistence = persistenceRedis({ ...redis }) as Destroyable;
  return {
    aedes: { id, mq, persistence },
    destroy: () => persistence.destroy().catch(() => {}),
  };
}
