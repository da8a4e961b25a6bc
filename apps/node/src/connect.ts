// connect(url, options): the one call a Node user starts with. The URL picks the transport
// (TCP, TLS, WebSocket, WebSocket over TLS); the options pick the client underneath: one
// connection (@umqtt/simple) by default, a reconnecting session (@umqtt/robust) with
// `reconnect` or `store`.
import { INVALID_ARGUMENT, UmqttError } from '@umqtt/codec';
import type { CredentialsHook, RobustOptions, Store } from '@umqtt/robust';
import type { ClientOptions, SocketFactory } from '@umqtt/simple';
import type { Client5Options, Will5 } from '@umqtt/simple/v5';
import { MemoryStore } from '@umqtt/store-memory';
import { RobustNodeClient, SimpleNodeClient } from './client.js';
import { createTcpSocketFactory } from './transport/tcp.js';
import { nodeTimers } from './transport/timers.js';
import { createTlsSocketFactory, type TlsOptions } from './transport/tls.js';
import { parseBrokerUrl, type BrokerAddress } from './transport/url.js';
import { createWebSocketFactory, type WebSocketOptions } from './transport/ws.js';

/**
 * Options of {@link connect}: the connection's (those of `@umqtt/simple`'s `ClientOptions`
 * except the socket, timers, host and port, which come from the URL), TLS for mqtts:// and
 * wss://, WebSocket for ws:// and wss://, and what makes the client a reconnecting session.
 * A user name and password given here replace those of the URL.
 *
 * @example
 * const options: ConnectOptions = {
 *   clientId: 'gateway-7',
 *   ca: readFileSync('ca.crt'), cert: readFileSync('gateway.crt'), key: readFileSync('gateway.key'),
 *   reconnect: { max: 60_000 }, // a session that reconnects, with this backoff
 *   store: new FlashStore(new FileFlash('queue.flash')), // what is queued survives a restart
 * };
 */
export interface ConnectOptions
  extends
    Omit<ClientOptions, 'socket' | 'timers' | 'host' | 'port' | 'will'>,
    Pick<Client5Options, 'properties' | 'topicAliasMaximum' | 'sendTopicAliases' | 'onAuth'>,
    TlsOptions,
    Pick<WebSocketOptions, 'headers' | 'transformUrl'> {
  /**
   * The MQTT version, named as MQTT.js names it: 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0:
   * `@umqtt/simple/v5`'s client, CONNECT `properties`, topic aliases, publish and will
   * properties, refusals rejected with the broker's reason code). Any URL scheme takes either.
   */
  protocolVersion?: 4 | 5 | undefined;
  /** Last will; with `protocolVersion: 5` it may carry MQTT 5's will `properties` (delay, expiry...). */
  will?: Will5 | undefined;
  /**
   * Reconnect after the connection is lost or cannot be made, with capped, jittered backoff
   * (`true`, or `@umqtt/robust`'s `backoff` option: the settings `min`, `max`, `factor`,
   * `stableAfter`, `maxAttempts`, `urgentPerHour`..., a `strategy`, or a strategy function).
   * The client is then `@umqtt/robust`'s. Default false.
   */
  reconnect?: boolean | RobustOptions['backoff'];
  /** A reconnecting client's hook before every connection attempt: fresh credentials (a token) or another server. */
  credentials?: CredentialsHook | undefined;
  /** Where a reconnecting client keeps messages until their final status (implies `reconnect`). Default: a MemoryStore. */
  store?: Store | undefined;
  /** The queue policy of a reconnecting client (partial: the rest from `DEFAULT_POLICY`), or a function that decides (see `@umqtt/robust`). */
  policy?: RobustOptions['policy'];
  /** A reconnecting client resends its subscriptions when the broker kept no session. Default true. */
  resubscribe?: boolean | undefined;
  /** Opens each connection's socket instead of the transport the URL names (tests, proxies, SOCKS...). */
  socket?: SocketFactory | undefined;
}

/**
 * The client {@link connect} returns: `kind` says which.
 *
 * @example
 * const client: NodeClient = connect(url, { reconnect: process.env.RECONNECT === '1' });
 * if (client.kind === 'robust') console.log(client.client.counters);
 */
export type NodeClient = SimpleNodeClient | RobustNodeClient;

const TLS_OPTIONS = ['ca', 'cert', 'key', 'passphrase', 'servername', 'alpn', 'rejectUnauthorized'] as const;
const WEBSOCKET_OPTIONS = ['headers', 'transformUrl'] as const;

function misuse(message: string): UmqttError {
  return new UmqttError({ code: INVALID_ARGUMENT, message, place: 'connect' });
}

/**
 * The socket factory for a parsed URL (its scheme and path) and the TLS and WebSocket options:
 * what {@link connect} gives the client, for code that builds a `MqttClient` or `RobustClient`
 * itself. Throws `UMQTT_INVALID_ARGUMENT` for options the scheme does not use.
 *
 * @example
 * const address = parseBrokerUrl('wss://broker.example/mqtt');
 * const client = new RobustClient({ socket: socketFactoryFor(address, { ca }), timers: nodeTimers, servers: [address], store });
 */
export function socketFactoryFor(
  address: Pick<BrokerAddress, 'scheme' | 'tls' | 'websocket' | 'path'>,
  options: TlsOptions & WebSocketOptions = {},
): SocketFactory {
  const given = (names: readonly string[]) =>
    names.filter((name) => (options as Record<string, unknown>)[name] !== undefined);
  const tls = given(TLS_OPTIONS);
  if (tls.length && !address.tls)
    throw misuse(`TLS options (${tls.join(', ')}) given for ${address.scheme}://: use mqtts:// or wss://`);
  const ws = given(WEBSOCKET_OPTIONS);
  if (ws.length && !address.websocket)
    throw misuse(`WebSocket options (${ws.join(', ')}) given for ${address.scheme}://: use ws:// or wss://`);
  if (address.websocket) return createWebSocketFactory({ ...options, secure: address.tls, path: address.path });
  return address.tls ? createTlsSocketFactory(options) : createTcpSocketFactory();
}

/**
 * Connects to the broker at `url` (`mqtt://`, `mqtts://`, `ws://`, `wss://`, with
 * `user:password@` if needed; default ports 1883, 8883, 80, 443) and returns the client at
 * once; it is connecting meanwhile, and `ready` says when it is connected. By default the client
 * is one connection ({@link SimpleNodeClient}); with `reconnect` or `store` it is a session
 * that reconnects and queues ({@link RobustNodeClient}). Publish, subscribe and unsubscribe
 * return promises that settle on the final status, and may be called while it connects.
 * Throws at once on a bad URL (`UMQTT_INVALID_URL`) or options that do not fit it.
 *
 * @example
 * import { connect } from '@umqtt/node';
 *
 * const client = connect('mqtts://user:secret@broker.example');
 * await client.publish('greetings', 'hello', { qos: 1 });
 * await client.end();
 */
export function connect(
  url: string,
  options: ConnectOptions & ({ reconnect: true | NonNullable<RobustOptions['backoff']> } | { store: Store }),
): RobustNodeClient;
export function connect(
  url: string,
  options?: ConnectOptions & { reconnect?: false | undefined; store?: undefined },
): SimpleNodeClient;
export function connect(url: string, options?: ConnectOptions): NodeClient;
export function connect(url: string, options: ConnectOptions = {}): NodeClient {
  const address = parseBrokerUrl(url);
  const {
    reconnect,
    store,
    policy,
    resubscribe,
    credentials,
    socket,
    headers,
    transformUrl,
    protocolVersion,
    ...rest
  } = options;
  const v5 = protocolVersion === 5;
  if (protocolVersion !== undefined && protocolVersion !== 4 && !v5)
    throw misuse(`protocolVersion: expected 4 (MQTT 3.1.1) or 5 (MQTT 5.0), got ${String(protocolVersion)}`);
  const only5 = (['properties', 'topicAliasMaximum', 'sendTopicAliases', 'onAuth'] as const).filter(
    (name) => rest[name] !== undefined,
  );
  if (rest.will?.properties) only5.push('will.properties' as never);
  if (only5.length && !v5) throw misuse(`${only5.join(', ')} need MQTT 5: add protocolVersion: 5`);
  const tls: TlsOptions = {};
  for (const name of TLS_OPTIONS) {
    if (rest[name] !== undefined) (tls as Record<string, unknown>)[name] = rest[name];
    delete rest[name];
  }
  const factory = socket ?? socketFactoryFor(address, { ...tls, headers, transformUrl });
  const session = {
    ...rest,
    socket: factory,
    timers: nodeTimers,
    username: rest.username ?? address.username,
    password: rest.password ?? address.password,
  };
  if (!reconnect && !store) return new SimpleNodeClient({ ...session, host: address.host, port: address.port }, v5);
  // On MQTT 5 the robust client is RobustClient5: the session's expiry is its own option there.
  const { sessionExpiryInterval, ...properties } = rest.properties ?? {};
  return new RobustNodeClient(
    {
      ...(session as ClientOptions),
      ...(v5 && { properties, sessionExpiry: sessionExpiryInterval }),
      servers: [{ host: address.host, port: address.port }],
      store: store ?? new MemoryStore(),
      // A kept session needs a client id: without one, each connection is a clean session.
      clean: rest.clean ?? !rest.clientId,
      backoff: typeof reconnect === 'boolean' ? undefined : reconnect,
      autoReconnect: reconnect !== false,
      policy,
      resubscribe,
      credentials,
    },
    !store,
    v5,
  );
}
