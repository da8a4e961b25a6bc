// Broker URLs as MQTT tools write them: mqtt://user:pass@host:port, mqtts://... for TLS,
// ws://host:port/path and wss://... for MQTT over WebSocket.
import { INVALID_URL, nodeError } from '../errors.js';

/**
 * A parsed broker URL.
 *
 * @example
 * const address: BrokerAddress = parseBrokerUrl('wss://user:secret@broker.example/mqtt');
 * // { scheme: 'wss', host: 'broker.example', port: 443, tls: true, websocket: true, path: '/mqtt', username: 'user', password: 'secret' }
 */
export interface BrokerAddress {
  /** The scheme, with its aliases resolved: `tcp:` is `mqtt`, `ssl:` and `tls:` are `mqtts`. */
  scheme: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  /** Host name or address (an IPv6 address without its brackets). */
  host: string;
  /** Port: the URL's, or the scheme's default (1883, 8883, 80, 443). */
  port: number;
  /** TLS: mqtts:// or wss://. */
  tls: boolean;
  /** MQTT over WebSocket: ws:// or wss://. */
  websocket: boolean;
  /** The path and query as written (`/` when there is none): the WebSocket endpoint for ws:// and wss://. */
  path: string;
  /** User name from the URL, percent-decoded. */
  username?: string;
  /** Password from the URL, percent-decoded. */
  password?: string;
}

const SCHEMES: Readonly<Record<string, { scheme: BrokerAddress['scheme']; port: number }>> = Object.freeze({
  mqtt: { scheme: 'mqtt', port: 1883 },
  tcp: { scheme: 'mqtt', port: 1883 },
  mqtts: { scheme: 'mqtts', port: 8883 },
  ssl: { scheme: 'mqtts', port: 8883 },
  tls: { scheme: 'mqtts', port: 8883 },
  ws: { scheme: 'ws', port: 80 },
  wss: { scheme: 'wss', port: 443 },
});

/**
 * Parses a broker URL; throws a UmqttError ({@link INVALID_URL}) that names the problem when it
 * is not usable. Default ports are those of mosquitto and MQTT.js: 1883 (mqtt), 8883 (mqtts),
 * 80 (ws), 443 (wss).
 *
 * @example
 * const { host, port, tls } = parseBrokerUrl('mqtts://broker.example'); // 'broker.example', 8883, true
 */
export function parseBrokerUrl(url: string): BrokerAddress {
  const bad = (problem: string) => nodeError(INVALID_URL, `broker URL "${url}" ${problem}`, 'connect');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw bad('has no scheme: expected e.g. mqtt://host:1883');
  const known = SCHEMES[scheme];
  if (known === undefined)
    throw bad(
      `has unsupported scheme "${scheme}:": use ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(', ')}`,
    );
  const portText = portOf(url.slice(scheme.length + 3));
  if (portText !== undefined && portText !== '' && !isPort(portText))
    throw bad(`has a bad port "${portText}": expected 1..65535`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('is not a valid URL');
  }
  const port = parsed.port === '' ? known.port : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('has no host');

  const websocket = known.scheme === 'ws' || known.scheme === 'wss';
  const address: BrokerAddress = {
    scheme: known.scheme,
    host,
    port,
    tls: known.scheme === 'mqtts' || known.scheme === 'wss',
    websocket,
    path: `${parsed.pathname || '/'}${parsed.search}`,
  };
  if (parsed.username !== '') address.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') address.password = decodeURIComponent(parsed.password);
  return address;
}

/** The text after the host's colon in "user:pass@host:port/...", if any. */
function portOf(rest: string): string | undefined {
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0 || hostPort.lastIndexOf(']') > colon) return undefined;
  return hostPort.slice(colon + 1);
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
}
