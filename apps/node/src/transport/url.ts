// Broker URLs as MQTT tools write them: mqtt://user:pass@host:port, mqtts://... for TLS.

export interface BrokerAddress {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
}

const SCHEMES: Readonly<Record<string, { tls: boolean; port: number }>> = Object.freeze({
  mqtt: { tls: false, port: 1883 },
  tcp: { tls: false, port: 1883 },
  mqtts: { tls: true, port: 8883 },
  ssl: { tls: true, port: 8883 },
  tls: { tls: true, port: 8883 },
});

/** Parses a broker URL; throws an Error that names the problem when it is not usable. */
export function parseBrokerUrl(url: string): BrokerAddress {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new Error(`broker URL "${url}" has no scheme: expected e.g. mqtt://host:1883`);
  }
  const known = SCHEMES[scheme];
  if (known === undefined) {
    throw new Error(
      `broker URL "${url}" has unsupported scheme "${scheme}:": use ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(', ')}`,
    );
  }
  const portText = portOf(url.slice(scheme.length + 3));
  if (portText !== undefined && portText !== '' && !isPort(portText)) {
    throw new Error(`broker URL "${url}" has a bad port "${portText}": expected 1..65535`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`broker URL "${url}" is not a valid URL`);
  }
  const port = parsed.port === '' ? known.port : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error(`broker URL "${url}" has no host`);

  const address: BrokerAddress = { host, port, tls: known.tls };
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
