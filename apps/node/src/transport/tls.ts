import { connect, type ConnectionOptions } from 'node:tls';
import type { SocketFactory } from '@umqtt/simple';
import { adaptNodeSocket } from './adapt.js';

type Pem = string | Uint8Array;

export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. Default: Node's bundled root CAs. */
  ca?: Pem;
  /** Client certificate and key, PEM, for brokers that require them. */
  cert?: Pem;
  key?: Pem;
  /** Name to verify the broker's certificate against (and SNI). Default: the host. */
  servername?: string;
  /** Default true. Turning it off accepts any certificate: for tests only. */
  rejectUnauthorized?: boolean;
}

const pem = (value: Pem) => (typeof value === 'string' ? value : Buffer.from(value));

/** TLS sockets over node:tls. A certificate that fails verification reaches onError. */
export function createTlsSocketFactory(tlsOptions: TlsOptions = {}): SocketFactory {
  const base: ConnectionOptions = { rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true };
  if (tlsOptions.ca !== undefined) base.ca = pem(tlsOptions.ca);
  if (tlsOptions.cert !== undefined) base.cert = pem(tlsOptions.cert);
  if (tlsOptions.key !== undefined) base.key = pem(tlsOptions.key);
  if (tlsOptions.servername !== undefined) base.servername = tlsOptions.servername;
  return (options) =>
    adaptNodeSocket(connect({ ...base, host: options.host, port: options.port }), options, 'secureConnect');
}
