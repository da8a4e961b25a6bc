// Just enough MQTT 3.1.1 by hand to check that a broker is up and answers, without
// depending on the codec under test.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface RawConnectOptions {
  clientId?: string;
  username?: string;
  password?: string;
  keepalive?: number;
  clean?: boolean;
}

/** CONNACK, session present 0, return code 0 (accepted). */
export const CONNACK_ACCEPTED: readonly number[] = Object.freeze([0x20, 0x02, 0x00, 0x00]);
/** CONNACK with return code 5: not authorized. Mosquitto answers a bad password with it. */
export const CONNACK_NOT_AUTHORIZED: readonly number[] = Object.freeze([0x20, 0x02, 0x00, 0x05]);

const field = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};

/** A CONNECT packet, MQTT 3.1.1. Defaults: client id "", clean session, keepalive 60. */
export function connectPacket(options: RawConnectOptions = {}): Uint8Array {
  const { clientId = '', username, password, keepalive = 60, clean = true } = options;
  let flags = clean ? 0x02 : 0;
  const payload = field(clientId);
  if (username !== undefined) {
    flags |= 0x80;
    payload.push(...field(username));
  }
  if (password !== undefined) {
    flags |= 0x40;
    payload.push(...field(password));
  }
  const body = [...field('MQTT'), 0x04, flags, keepalive >> 8, keepalive & 0xff, ...payload];
  if (body.length > 127) throw new RangeError('connectPacket: keep it under 128 bytes');
  return Uint8Array.from([0x10, body.length, ...body]);
}

export interface ExchangeOptions {
  /** Bytes to send. Default: `connectPacket()`. */
  send?: Uint8Array;
  /** How many bytes to wait for. Default 4 (a CONNACK). */
  expect?: number;
  /** Connect with TLS using these options instead of plain TCP. */
  tls?: ConnectionOptions;
  /** Default 5000 ms. */
  timeout?: number;
}

/**
 * Connects, sends a CONNECT (or `send`), and resolves with the first `expect` bytes the
 * broker answers (fewer if it closes first). Rejects on a socket error or timeout.
 */
export function exchange(
  target: { host: string; port: number },
  { send = connectPacket(), expect = 4, tls, timeout = 5000 }: ExchangeOptions = {},
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = tls
      ? tlsConnect({ ...tls, host: target.host, port: target.port }, () => socket.write(send))
      : netConnect(target, () => socket.write(send));
    let received = Buffer.alloc(0);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(new Uint8Array(received.subarray(0, expect)));
    };
    const timer = setTimeout(
      () => finish(new Error(`exchange: no ${expect}-byte answer within ${timeout} ms`)),
      timeout,
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= expect) finish();
    });
    socket.on('error', finish);
    socket.on('close', () => finish());
  });
}
