import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import type { SocketFactory } from '@umqtt/simple';
import { adaptNodeSocket, type NodeSocket } from './adapt.js';

type Pem = string | Uint8Array;

/**
 * TLS settings of a connection (mqtts:// and wss://). Certificate verification is on unless
 * `rejectUnauthorized` is false.
 *
 * @example
 * const tls: TlsOptions = {
 *   ca: readFileSync('ca.crt'), // trust this CA (default: Node's bundled roots)
 *   cert: readFileSync('device.crt'), key: readFileSync('device.key'), // a client certificate
 *   servername: 'broker.example', // SNI, and the name the certificate must carry
 *   alpn: ['x-amzn-mqtt-ca'], // AWS IoT Core: MQTT with a client certificate on port 443
 * };
 */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. Default: Node's bundled root CAs. */
  ca?: Pem | Pem[] | undefined;
  /** Client certificate (chain), PEM, for brokers that require one. */
  cert?: Pem | undefined;
  /** The client certificate's private key, PEM. */
  key?: Pem | undefined;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string | undefined;
  /** Server name sent in the handshake (SNI) and verified against the certificate. Default: the host (SNI only for a name, not an IP address). */
  servername?: string | undefined;
  /** ALPN protocol names offered, in order of preference (e.g. `['x-amzn-mqtt-ca']`, `['mqtt']`). */
  alpn?: string[] | undefined;
  /** Default true. False accepts any certificate, so anyone on the path can pose as the broker: for tests only. */
  rejectUnauthorized?: boolean | undefined;
}

const pem = (value: Pem) => (typeof value === 'string' ? value : Buffer.from(value));

/** node:tls connection options from {@link TlsOptions} (shared by the TLS and wss:// transports). */
export function tlsConnectionOptions(tls: TlsOptions): ConnectionOptions {
  const base: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if (tls.ca !== undefined) base.ca = Array.isArray(tls.ca) ? tls.ca.map(pem) : pem(tls.ca);
  if (tls.cert !== undefined) base.cert = pem(tls.cert);
  if (tls.key !== undefined) base.key = pem(tls.key);
  if (tls.passphrase !== undefined) base.passphrase = tls.passphrase;
  if (tls.servername !== undefined) base.servername = tls.servername;
  if (tls.alpn !== undefined) base.ALPNProtocols = tls.alpn;
  return base;
}

/**
 * TLS sockets over node:tls for `@umqtt/simple` and `@umqtt/robust`. A certificate that fails
 * verification reaches onError (and so the `connect()` promise) with Node's code, e.g.
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE` or `ERR_TLS_CERT_ALTNAME_INVALID`.
 *
 * @example
 * const client = new MqttClient({ socket: createTlsSocketFactory({ ca: readFileSync('ca.crt') }), timers: nodeTimers, host: 'broker.example', port: 8883 });
 */
export function createTlsSocketFactory(tlsOptions: TlsOptions = {}): SocketFactory {
  const base = tlsConnectionOptions(tlsOptions);
  return (options): NodeSocket => {
    // node:tls sends no SNI unless told (unlike https): the host name, as mosquitto_pub does.
    const servername = base.servername ?? (isIP(options.host) ? undefined : options.host);
    const socket = connect({ ...base, host: options.host, port: options.port, ...(servername && { servername }) });
    return adaptNodeSocket(socket, options, 'secureConnect');
  };
}
