// @umqtt/simple/v5: one MQTT 5.0 connection. A 3.1.1 bundle never imports this module.
/**
 * One MQTT 5.0 connection: `MqttClient` with MQTT 5's session (`@umqtt/session/v5`), parser and
 * CONNECT. The broker's CONNACK is obeyed (Receive Maximum caps the window, Maximum Packet Size
 * the packets sent, Server Keep Alive replaces ours, what it does not support fails at once),
 * a PUBACK or PUBREC of 0x80 or more is `refused` with its reason code (`onStatus(id,
 * 'refused', [code])`), a broker's DISCONNECT reaches `onClose` as `UMQTT_BROKER_DISCONNECT`
 * with its `reasonCode`, topic aliases are used both ways, and messages carry their properties.
 *
 * ```sh
 * npm install @umqtt/simple
 * ```
 *
 * @example
 * ```ts
 * import { MqttClient5 } from '@umqtt/simple/v5';
 *
 * const client = new MqttClient5({ socket, timers, host: 'broker.local', clean: false,
 *   properties: { sessionExpiryInterval: 86_400 } }); // keep my session for a day
 * client.onStatus = (id, status, codes) => console.log(id, status, codes); // 'refused' [0x97]: quota exceeded
 * await client.connect();
 * client.publish('home/alarm', 'smoke', { qos: 2, properties: { messageExpiryInterval: 3600 } });
 * ```
 *
 * @module @umqtt/simple/v5
 */
import {
  CONNECT,
  DISCONNECT,
  Parser as Parser5,
  clientDecoders,
  encodeConnect,
  encodeDisconnect,
  type ConnackProperties,
  type ConnectProperties,
  type DisconnectProperties,
  type Subscription,
  type SubscribeProperties,
  type WillProperties,
} from '@umqtt/codec/v5';
import {
  INVALID_UTF8,
  MALFORMED,
  PACKET_TOO_LARGE,
  UNEXPECTED_PACKET,
  encodeUtf8,
  type Parser,
  type QoS,
  type UmqttError,
} from '@umqtt/codec';
import { DEFAULT_MAX_PACKET_SIZE, PROTOCOL_ERROR, type Status } from '@umqtt/session';
import { Session5, type Ack5, type Message5, type Publish5Options, type Session5Options } from '@umqtt/session/v5';
import { MqttClient, connectPacket, payloadBytes, type ClientOptions, type Protocol } from './client.js';
import { REQUEST_TIMEOUT, error } from './errors.js';

export { BROKER_DISCONNECT, CONNACK_REFUSED, NOT_SUPPORTED, RECEIVE_MAXIMUM_EXCEEDED } from '@umqtt/session/v5';
export { REQUEST_TIMEOUT } from './errors.js';
export type {
  Ack5,
  Message5,
  Publish5Options,
  ConnackProperties,
  Subscription,
  SubscribeProperties,
  Session5,
  Protocol,
};

/**
 * Options of {@link MqttClient5}: those of `MqttClient`, MQTT 5's session options, and the
 * CONNECT properties.
 *
 * @example
 * const options: Client5Options = { socket, timers, host, topicAliasMaximum: 8, properties: { sessionExpiryInterval: 3600, userProperties: [['site', 'north']] } };
 */
export interface Client5Options
  extends Omit<ClientOptions, 'protocol' | 'will'>, Omit<Session5Options, keyof ClientOptions> {
  /**
   * CONNECT's properties (session expiry, receive maximum, request problem information, user
   * properties, authentication method and data). Maximum Packet Size is `maxPacketSize`, Topic
   * Alias Maximum is `topicAliasMaximum`.
   */
  properties?: Omit<ConnectProperties, 'maximumPacketSize' | 'topicAliasMaximum'> | undefined;
  /** Last will, with MQTT 5's will properties (delay, message expiry, content type...). */
  will?: Will5 | undefined;
}

/**
 * The last will of an MQTT 5 connection: published by the broker if the connection ends without
 * DISCONNECT (or with DISCONNECT 0x04), after `properties.willDelayInterval` seconds.
 *
 * @example
 * const will: Will5 = { topic: 'dev/1/online', payload: 'no', qos: 1, retain: true, properties: { willDelayInterval: 30 } };
 */
export interface Will5 {
  /** A topic name. */
  topic: string;
  /** A string (sent as UTF-8) or bytes. */
  payload: string | Uint8Array;
  /** Default 0. */
  qos?: QoS | undefined;
  /** Default false. */
  retain?: boolean | undefined;
  /** Will delay, message expiry, content type, response topic, correlation data, user properties... */
  properties?: WillProperties | undefined;
}

/** CONNECT in MQTT 5: the 3.1.1 fields, the will's properties, and the CONNECT properties. */
function connect5(options: ClientOptions): Uint8Array {
  const o = options as Client5Options;
  const p = connectPacket(o as ClientOptions);
  return encodeConnect({
    ...p,
    type: CONNECT,
    will: p.will && { ...p.will, properties: o.will?.properties },
    properties: {
      ...o.properties,
      maximumPacketSize: o.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE,
      topicAliasMaximum: o.topicAliasMaximum || undefined,
    },
  });
}

/**
 * The reason code to disconnect with, by the code of a protocol error we found in what the broker
 * sent (the error's own `reasonCode` first: 0x94 Topic Alias
 * invalid, 0x99 Payload format invalid...) [MQTT-4.13.1].
 */
const DISCONNECT_WITH: Readonly<Record<string, number>> = /* @__PURE__ */ Object.freeze({
  [MALFORMED]: 0x81,
  [INVALID_UTF8]: 0x81,
  [PROTOCOL_ERROR]: 0x82,
  [UNEXPECTED_PACKET]: 0x82,
  [PACKET_TOO_LARGE]: 0x95,
});

/**
 * MQTT 5's session, parser and CONNECT, as `MqttClient`'s `protocol` option takes them (and
 * `RobustClient`, which passes its options on): what `MqttClient5` uses. `onSession` is told
 * each session made.
 *
 * @example
 * const client = new MqttClient({ socket, timers, host, protocol: mqtt5() }); // MQTT 5 without MqttClient5's extra methods
 */
export function mqtt5(onSession?: (session: Session5) => void): Protocol {
  return {
    session: (o, write) => {
      const session = new Session5(o as Session5Options, write);
      onSession?.(session);
      return session;
    },
    parser: (maxPacketSize) => new Parser5(clientDecoders, { maxPacketSize }) as unknown as Parser,
    connect: connect5,
    // A protocol error we found: DISCONNECT with its reason code, then the socket closes [MQTT-4.13.1].
    abort: (e, socket) => {
      const rc = e && DISCONNECT_WITH[e.code];
      if (rc && socket)
        try {
          socket.write(encodeDisconnect({ type: DISCONNECT, reasonCode: e.reasonCode ?? rc }));
        } catch {
          // the socket failed: it closes next
        }
    },
  };
}

/**
 * One MQTT 5.0 connection over an injected socket (see `MqttClient` of `@umqtt/simple`).
 *
 * @example
 * const client = new MqttClient5({ socket, timers, host: 'localhost' });
 * client.onClose = (e) => e?.reasonCode === 0x8e && console.log('another client took our session over');
 * await client.connect();
 * client.subscribe([{ topic: 'cmd/#', qos: 1, noLocal: true }], 0, { subscriptionIdentifier: 7 });
 */
export class MqttClient5 extends MqttClient {
  /** Called for each received message, with its MQTT 5 properties. */
  declare onMessage: ((message: Message5) => void) | undefined;
  /**
   * Called with the outcome of each QoS 1/2 publish, subscribe and unsubscribe (see
   * `MqttClient.onStatus`): `codes` are the reason codes of a refusal or a SUBACK, `ack` what the
   * acknowledgement said besides (the QoS a publish went out at, a reason string, user properties).
   */
  declare onStatus: ((id: number, status: Status, codes?: number[], ref?: unknown, ack?: Ack5) => void) | undefined;
  readonly #s: Session5;
  /** Requests awaiting their response, by correlation data (as text). */
  /** Made by the first request (RAM on a device that makes none). */
  #pending: Map<string, (m: Message5) => void> | undefined;
  #requests = 0;

  /**
   * Creates an idle client; nothing happens until `connect()`.
   *
   * @param options - {@link Client5Options}
   */
  constructor(options: Client5Options) {
    let session: Session5 | undefined;
    super({ ...(options as ClientOptions), protocol: mqtt5((s) => (session = s)) });
    this.#s = session!;
    // While requests wait, a message is first offered to them (and still handed to onMessage).
    let app: ((message: Message5) => void) | undefined;
    const offer = (m: Message5) => {
      const data = m.properties?.correlationData;
      const waiting = data && this.#pending?.get(key(data));
      if (waiting) waiting(m);
      app?.(m);
    };
    Object.defineProperty(this, 'onMessage', {
      get: () => (this.#pending?.size ? offer : app),
      set: (fn: typeof app) => (app = fn),
    });
  }

  /** The broker's CONNACK properties on this connection: its limits, assigned client identifier, reason string, user properties. */
  get connack(): ConnackProperties | undefined {
    return this.#s.connack;
  }

  /** The properties of the broker's DISCONNECT, when it ended the connection with one (reason string, server reference). */
  get disconnected(): DisconnectProperties | undefined {
    return this.#s.disconnected;
  }

  /**
   * Publishes (see `MqttClient.publish`), with the PUBLISH's properties. A QoS above the
   * broker's Maximum QoS, or retain where it keeps none, throws `UMQTT_NOT_SUPPORTED`.
   */
  override publish(topic: string, payload: string | Uint8Array, opts?: Publish5Options): number {
    return super.publish(topic, payload, opts);
  }

  /**
   * Subscribes (see `MqttClient.subscribe`); a list may carry MQTT 5's subscription options
   * (noLocal, retainAsPublished, retainHandling), and `properties` a subscription identifier
   * (delivered with each message it matched) and user properties.
   */
  override subscribe(
    filters: string | string[] | Subscription[],
    qos: QoS = 0,
    properties?: SubscribeProperties,
  ): number {
    this.#s.subscribeProperties = properties;
    try {
      return super.subscribe(filters, qos);
    } finally {
      this.#s.subscribeProperties = undefined;
    }
  }

  /**
   * Request/response (MQTT 5): publishes `payload` to `topic` with `responseTopic` and fresh
   * correlation data, and resolves with the first message carrying the same correlation data (it
   * reaches `onMessage` too). Subscribe to `responseTopic` first. Rejects with
   * `UMQTT_REQUEST_TIMEOUT` after `timeout` ms (default 10000), and at once on misuse.
   */
  request(
    topic: string,
    payload: string | Uint8Array,
    opts: Publish5Options & { responseTopic: string; timeout?: number | undefined },
  ): Promise<Message5> {
    const correlationData = encodeUtf8(`${this.options.clientId ?? ''}#${++this.#requests}`);
    const k = key(correlationData);
    const timers = this.options.timers;
    return new Promise<Message5>((resolve, reject) => {
      const timer = timers.setTimeout(() => {
        this.#pending!.delete(k);
        reject(
          error(REQUEST_TIMEOUT, `no response on ${opts.responseTopic} within ${opts.timeout ?? 10_000} ms`, 'request'),
        );
      }, opts.timeout ?? 10_000);
      (this.#pending ??= new Map()).set(k, (m: Message5) => {
        timers.clearTimeout(timer);
        this.#pending!.delete(k);
        resolve(m);
      });
      try {
        this.publish(topic, payload, {
          ...opts,
          properties: { ...opts.properties, responseTopic: opts.responseTopic, correlationData },
        });
      } catch (e) {
        timers.clearTimeout(timer);
        this.#pending!.delete(k);
        reject(e as UmqttError);
      }
    });
  }

  /**
   * Answers a request (a message with a response topic): publishes `payload` to its response
   * topic with its correlation data. Returns the packet id (0 for QoS 0), or -1 when the message
   * asked for no response.
   */
  respond(request: Message5, payload: string | Uint8Array, opts?: Publish5Options): number {
    const to = request.properties?.responseTopic;
    if (!to) return -1;
    return this.publish(to, payloadBytes(payload), {
      ...opts,
      properties: { ...opts?.properties, correlationData: request.properties?.correlationData },
    });
  }

  /**
   * Sends DISCONNECT with a reason code (0x04: "disconnect with will message", the broker
   * publishes the will) and properties (a new session expiry interval, a reason string), then closes.
   */
  override disconnect(reasonCode = 0, properties?: DisconnectProperties): void {
    this.#s.disconnectWith = [reasonCode, properties];
    try {
      super.disconnect();
    } finally {
      this.#s.disconnectWith = undefined;
    }
  }
}

/** Correlation data as a Map key. */
const key = (data: Uint8Array): string => String.fromCharCode(...data);
