// Exit codes, the one error type of the command line, and the mapping from what went wrong
// (a UmqttError, a Node socket or TLS error) to one line that names the problem and says what
// to do about it.
import {
  INVALID_ARGUMENT,
  INVALID_TOPIC,
  INVALID_UTF8,
  MALFORMED,
  PACKET_TOO_LARGE,
  UNEXPECTED_PACKET,
  UmqttError,
} from '@umqtt/codec';
import {
  CONNACK_CODES,
  CONNECTION_LOST,
  CONNECT_TIMEOUT,
  KEEPALIVE_TIMEOUT,
  PROTOCOL_ERROR,
  TOO_LARGE,
  WRITE_TIMEOUT,
} from '@umqtt/simple';
import { REASON_NAMES } from '@umqtt/codec/v5';
import { BROKER_DISCONNECT, CONNACK_REFUSED, NOT_SUPPORTED } from '@umqtt/simple/v5';
import { AEDES_MISSING, CLUSTER_MISSING, INVALID_URL, REDIS_UNREACHABLE, SOCKET_CLOSED } from '../errors.js';

/** Exit codes of every umqtt command (documented in apps/node/README.md and `umqtt --help`). */
export const EXIT = Object.freeze({
  /** Done: every message delivered (pub), the count reached or stopped by a signal (sub, broker). */
  OK: 0,
  /** Failed after connecting: connection lost, messages not delivered; or an unexpected error. */
  FAILED: 1,
  /** Bad command line or input: unknown option, invalid URL, QoS, topic, unreadable file. */
  USAGE: 2,
  /** Cannot connect: unknown host, connection refused, network unreachable, TLS failure, port in use. */
  CANNOT_CONNECT: 3,
  /** The broker refused: CONNACK 1..5 (bad credentials, not authorized...) or every subscription. */
  REFUSED: 4,
  /** Timed out: no CONNACK in time, `sub -W` elapsed, a message not acknowledged in time. */
  TIMEOUT: 5,
  /** Interrupted (SIGINT/SIGTERM) while `pub` still had messages without a final status. */
  INTERRUPTED: 130,
});

/** A failure the command line reports as one line: `problem; hint`, and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    readonly problem: string,
    readonly hint?: string,
    readonly original?: unknown,
  ) {
    super(hint ? `${problem}; ${hint}` : problem);
    this.name = 'CliError';
  }
}

export const usage = (problem: string, hint?: string) => new CliError(EXIT.USAGE, problem, hint);

/** Where the command was connecting to, for messages. */
export interface Target {
  host: string;
  port: number;
  tls: boolean;
}

/** Resolver error codes: the host name does not resolve (now). */
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
/** The network path fails. */
const UNREACHABLE = new Set([
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPIPE',
  'EADDRNOTAVAIL',
]);
/** Certificate verification failures reported by node:tls (OpenSSL's X509 errors). */
const CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const CONNACK: Readonly<Record<string, [string, string]>> = {
  [CONNACK_CODES[1]!]: ['unacceptable protocol version (CONNACK 1)', 'the broker does not speak MQTT 3.1.1'],
  [CONNACK_CODES[2]!]: [
    'client id rejected (CONNACK 2)',
    'choose another client id with -i (at most 23 letters and digits is always accepted)',
  ],
  [CONNACK_CODES[3]!]: ['server unavailable (CONNACK 3)', 'try again later'],
  [CONNACK_CODES[4]!]: ['bad user name or password (CONNACK 4)', 'check -u/-P or the user:password in the URL'],
  [CONNACK_CODES[5]!]: [
    'not authorized (CONNACK 5)',
    'give a user name and password the broker accepts (-u/-P), or ask its administrator for access',
  ],
};

/** An MQTT 5 reason code in words: `0x87 (not authorized)`. */
export function reasonName(rc: number): string {
  return `0x${rc.toString(16).padStart(2, '0')} (${(REASON_NAMES[rc] ?? 'unknown reason').toLowerCase()})`;
}

/** The broker's reason string in a refusal's message (`... (0x9f): try later`). */
const reasonStringOf = (message: string): string | undefined => /\(0x[0-9a-f]+\): (.*)$/.exec(message)?.[1];

/** What to do about the broker's DISCONNECT, by reason code. */
const DISCONNECT_HINTS: Readonly<Record<number, string>> = {
  0x8b: 'the broker is shutting down: run again when it is back',
  0x8e: 'another client connected with the same client id: give each client its own -i',
  0x87: 'the broker does not allow this: check its ACL, or -u/-P',
  0x97: 'the broker is over a quota: send less, or more slowly',
  0x9c: 'the broker names another server to use (see -d)',
  0x9d: 'the broker moved: it names the server to use (see -d)',
};

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const address = (t: Target) => `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;

/**
 * Why a connection attempt failed, from the socket's own error (`raw`: what node:net or
 * node:tls reported) or the client's error. Returns undefined when `raw` says nothing known.
 */
export function explainSocketError(raw: unknown, t: Target): CliError | undefined {
  const code = codeOf(raw);
  if (code === undefined) return undefined;
  const at = address(t);
  const detail = `${code}: ${messageOf(raw)}`;
  if (DNS.has(code))
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `cannot resolve host "${t.host}" (${code})`,
      'check the host name given with -h or in the URL',
      raw,
    );
  if (code === 'ECONNREFUSED')
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `connection refused by ${at} (ECONNREFUSED)`,
      `is a broker running there? Check -h/-p or the URL, or start one with: umqtt broker -p ${t.port}`,
      raw,
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH')
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `TLS: the broker's certificate does not carry the name "${t.host}" (${code})`,
      'connect by a name the certificate carries, or skip verification with --insecure (unsafe)',
      raw,
    );
  if (CERT.has(code))
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `TLS: the broker's certificate failed verification (${detail})`,
      'give the CA that signed it with --cafile FILE, or skip verification with --insecure (unsafe)',
      raw,
    );
  if (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `TLS handshake with ${at} failed (${detail})`,
      t.tls
        ? 'is it a TLS port? Plain MQTT is mqtt:// (usually port 1883), TLS is mqtts:// (usually 8883)'
        : 'check the TLS options',
      raw,
    );
  if (code === SOCKET_CLOSED || code === 'ECONNRESET')
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `${at} ${code === 'ECONNRESET' ? 'reset' : 'closed'} the connection before answering CONNECT${code === 'ECONNRESET' ? ' (ECONNRESET)' : ''}`,
      t.tls
        ? 'is it an MQTT broker with TLS on that port?'
        : 'is it an MQTT broker? If it expects TLS, use mqtts:// or --cafile',
      raw,
    );
  if (UNREACHABLE.has(code))
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `cannot reach ${at} (${detail})`,
      'check the host, the port and the network',
      raw,
    );
  if (code === 'EADDRINUSE')
    return new CliError(EXIT.CANNOT_CONNECT, `address ${at} is already in use`, 'choose another port with -p', raw);
  if (code === 'EACCES' || code === 'EPERM')
    return new CliError(
      EXIT.CANNOT_CONNECT,
      `not allowed to use ${at} (${code})`,
      'ports below 1024 need privileges: choose another with -p',
      raw,
    );
  return undefined;
}

/** How an established connection ended, in words, from the socket's own error. */
function lost(raw: unknown): string | undefined {
  const code = codeOf(raw);
  if (code === SOCKET_CLOSED) return 'the broker closed the connection';
  if (code === 'ECONNRESET') return 'the connection was reset (ECONNRESET)';
  return undefined;
}

/**
 * Maps anything thrown or reported by a command to a CliError. `raw` is the last error the
 * socket itself reported (the client wraps it in UMQTT_CONNECTION_LOST, keeping only its text);
 * `messages`, how many flowed before an established connection was lost.
 */
export function explain(e: unknown, t: Target | undefined, raw?: unknown, messages?: number): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof UmqttError) {
    const refused = CONNACK[e.code];
    const rc = e.reasonCode;
    if (refused)
      return new CliError(
        EXIT.REFUSED,
        `the broker${t ? ` at ${address(t)}` : ''} refused the connection: ${
          rc !== undefined && rc >= 0x80 ? refused[0].replace(/CONNACK \d/, `CONNACK ${reasonName(rc)}`) : refused[0]
        }`,
        refused[1],
        e,
      );
    if (e.code === CONNACK_REFUSED)
      return new CliError(
        EXIT.REFUSED,
        `the broker${t ? ` at ${address(t)}` : ''} refused the connection: CONNACK ${reasonName(rc ?? 0x80)}`,
        reasonStringOf(e.message) ? `it says: ${reasonStringOf(e.message)}` : 'the reason code says why (MQTT 5)',
        e,
      );
    if (e.code === BROKER_DISCONNECT)
      return new CliError(
        EXIT.FAILED,
        `the broker${t ? ` at ${address(t)}` : ''} ended the connection${messages === undefined ? '' : ` after ${messages} message(s)`}: DISCONNECT ${reasonName(rc ?? 0)}`,
        DISCONNECT_HINTS[rc ?? 0] ?? 'the reason code says why (MQTT 5)',
        e,
      );
    if (e.code === NOT_SUPPORTED) return new CliError(EXIT.REFUSED, e.message, 'the broker said so in its CONNACK', e);
    if (e.code === CONNECT_TIMEOUT)
      return new CliError(
        EXIT.TIMEOUT,
        `no answer to CONNECT from ${t ? address(t) : 'the broker'} in time (${e.message})`,
        t?.tls
          ? 'is it an MQTT broker with TLS on that port?'
          : 'is it an MQTT broker? If it expects TLS, use mqtts://',
        e,
      );
    if (e.code === CONNECTION_LOST && t) {
      const known = explainSocketError(raw, t);
      if (e.place === 'connect')
        return (
          known ??
          new CliError(
            EXIT.CANNOT_CONNECT,
            `cannot connect to ${address(t)}: ${e.message}`,
            'check the host, the port and the network',
            e,
          )
        );
      return new CliError(
        EXIT.FAILED,
        `connection to ${address(t)} lost${messages === undefined ? '' : ` after ${messages} message(s)`}: ${lost(raw) ?? known?.problem ?? e.message}`,
        'run again when the broker is back (pub --store waits for it)',
        e,
      );
    }
    if (e.code === KEEPALIVE_TIMEOUT || e.code === WRITE_TIMEOUT)
      return new CliError(
        EXIT.FAILED,
        `connection${t ? ` to ${address(t)}` : ''} died: ${e.message}`,
        'check the network; a longer -k keepalive may help on slow links',
        e,
      );
    if (e.code === INVALID_TOPIC || e.code === INVALID_ARGUMENT || e.code === INVALID_UTF8 || e.code === TOO_LARGE)
      return new CliError(EXIT.USAGE, e.message, 'see --help', e);
    if (e.code === AEDES_MISSING)
      return new CliError(
        EXIT.FAILED,
        'the broker needs the aedes package, an optional dependency of @umqtt/node, which is not installed',
        'install it beside umqtt: npm install aedes (npm install -g aedes for a global umqtt)',
        e,
      );
    if (e.code === CLUSTER_MISSING)
      return new CliError(
        EXIT.FAILED,
        e.message.replace(/: npm install .*$/, ''),
        'install them beside umqtt: npm install mqemitter-redis aedes-persistence-redis',
        e,
      );
    if (e.code === REDIS_UNREACHABLE)
      return new CliError(EXIT.CANNOT_CONNECT, e.message, 'is Redis running there? Check --redis', e);
    if (e.code === INVALID_URL && e.place === 'broker') return new CliError(EXIT.USAGE, e.message, 'see --help', e);
    if (
      e.code === PROTOCOL_ERROR ||
      e.code === MALFORMED ||
      e.code === UNEXPECTED_PACKET ||
      e.code === PACKET_TOO_LARGE
    )
      return new CliError(
        EXIT.FAILED,
        // MQTT 5: the reason code umqtt sent in its DISCONNECT before closing
        `the broker broke the MQTT protocol: ${e.message}${rc === undefined ? '' : `; umqtt disconnected with ${reasonName(rc)}`}`,
        rc === undefined
          ? 'is it an MQTT 3.1.1 broker?'
          : 'is it an MQTT 5 broker? The reason code says what was wrong',
        e,
      );
    return new CliError(EXIT.FAILED, `${e.code}: ${e.message}`, 'run with --verbose for details', e);
  }
  if (t) {
    const known = explainSocketError(e, t);
    if (known) return known;
  }
  return new CliError(
    EXIT.FAILED,
    `unexpected error: ${messageOf(e)}`,
    'run with --verbose for the stack trace, and please report it',
    e,
  );
}

/** Longest quoted value shown whole in a message; longer ones are cut, saying their length. */
const SHOWN = 80;

/** Cuts quoted values ("...") longer than 80 characters: a 70,000-byte topic is not echoed whole. */
export function cutLong(text: string): string {
  return text.replace(
    new RegExp(`"([^"]{${SHOWN + 1},})"`, 'g'),
    (_, value: string) => `"${value.slice(0, SHOWN)}..." (${value.length} characters)`,
  );
}

/** The one line printed for a failure (problem and what to do, newlines flattened, long values cut). */
export function errorLine(command: string, e: CliError): string {
  return `umqtt${command ? ` ${command}` : ''}: ${cutLong(e.message.replace(/\s*\n\s*/g, ' '))}`;
}

/** The stack traces printed with --verbose: the CliError's original and the socket error. */
export function details(e: CliError): string[] {
  const out: string[] = [];
  let cur: unknown = e.original ?? e;
  for (let depth = 0; cur && depth < 3; depth++) {
    out.push(cur instanceof Error ? (cur.stack ?? String(cur)) : String(cur));
    cur = cur instanceof CliError ? cur.original : undefined;
  }
  return out;
}
