// Moddable's ECMA-419 TCP socket -> the Socket/SocketFactory that @umqtt/simple consumes.
//
// Two differences to bridge:
// - Moddable's socket takes an IP address only: a host name goes through the DNS resolver first.
// - Its write() throws when the bytes do not fit in the free send buffer; @umqtt/simple's
//   write() queues everything it is given and only wants to hear how much more fits. So bytes
//   beyond the free space wait here, in order, and go out on the next onWritable.
import type { SocketFactory } from '@umqtt/simple';
import type { Resolver, TCP, TCPConstructor } from './moddable.js';

const IP = /^[\d.]+$|:/;

/**
 * Opens MQTT connections over Moddable's ECMA-419 TCP socket.
 *
 * @example
 * import TCP from "embedded:io/socket/tcp";
 * import UDP from "embedded:io/socket/udp";
 * import Resolver from "embedded:network/dns/resolver/udp";
 * const socket = tcpSocketFactory(TCP, new Resolver({ servers: ["1.1.1.1"], socket: { io: UDP } }));
 */
export function tcpSocketFactory(TCPSocket: TCPConstructor, dns?: Resolver): SocketFactory {
  return (o) => {
    let tcp: TCP | undefined;
    /** close() was called or onError was passed on: no more callbacks. */
    let done = false;
    /** Free send buffer of the TCP socket, as it last told. */
    let room = 0;
    /** Bytes accepted by write() that the TCP socket has not taken yet. */
    let queue: Uint8Array[] = [];
    let queued = 0;

    const fail = (why?: unknown) => {
      if (done) return;
      done = true;
      o.onError(why);
    };
    // "Must not call any callback synchronously from inside the factory."
    const failLater = (why: unknown) => void Promise.resolve().then(() => fail(why));

    const flush = () => {
      while (queued && room > 0 && tcp) {
        const bytes = queue[0]!;
        const n = bytes.length < room ? bytes.length : room;
        // An exact ArrayBuffer suits every ECMA-419 implementation: partial or offset views are copied.
        const part =
          n < bytes.length || bytes.byteOffset || bytes.byteLength !== bytes.buffer.byteLength
            ? bytes.slice(0, n)
            : bytes;
        const left = tcp.write(part.buffer as ArrayBuffer);
        if (n < bytes.length) queue[0] = bytes.subarray(n);
        else queue.shift();
        queued -= n;
        room = left ?? 0; // undefined: the socket failed; onError follows
      }
    };

    const open = (address: string) => {
      if (done) return;
      try {
        tcp = new TCPSocket({
          address,
          port: o.port,
          nodelay: true,
          onReadable: (count) => {
            if (!done) o.onReadable(count);
          },
          onWritable: (count) => {
            if (done) return;
            room = count;
            try {
              flush();
            } catch (e) {
              return fail(e); // never throw into the native callback
            }
            if (!queued) o.onWritable(room);
          },
          onError: () => fail(),
        });
      } catch (e) {
        failLater(e);
      }
    };

    if (IP.test(o.host)) open(o.host);
    else if (!dns) failLater(`no DNS resolver for ${o.host}`);
    else
      dns.resolve({
        host: o.host,
        onResolved: (_host, address) => open(address),
        onError: () => failLater(`cannot resolve ${o.host}`),
      });

    return {
      read: () => tcp?.read(),
      write(bytes) {
        queue.push(bytes);
        queued += bytes.length;
        flush();
        return room - queued;
      },
      close() {
        done = true;
        queue = [];
        queued = 0;
        const t = tcp;
        tcp = undefined;
        t?.close();
      },
    };
  };
}
