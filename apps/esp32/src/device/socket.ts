// Moddable's ECMA-419 TCP (or TLS) socket -> the Socket/SocketFactory that @umqtt/simple consumes.
//
// What it bridges (Moddable SDK 5.0.0 to 8.2.3, modules/io/socket/lwip/tcp.c):
// - The socket takes an IP address only: a host name goes through the DNS resolver first.
// - Its write() throws past the free send buffer ("would block"); @umqtt/simple's write() queues
//   everything it is given and only wants to hear how much more fits. So bytes beyond the free
//   space wait here, in order, and go out on the next onWritable, one write each time.
// - write() returns the free space left since SDK 5.3.1 and undefined before (also after the
//   socket failed): undefined means "wait for onWritable", which is right in both cases.
import type { SocketFactory } from '@umqtt/simple';
import type { SocketFactoryOptions, TCP, TCPConstructor, TCPOptions } from './moddable.js';

const IP = /^[\d.]+$|:/;
/** The largest write: Moddable's TLS session refuses a record over 2^14 bytes. */
const MAX_WRITE = 16384;

/**
 * Opens MQTT connections over Moddable's ECMA-419 TCP socket, or its TLS socket.
 *
 * @example
 * import TCP from "embedded:io/socket/tcp";
 * import UDP from "embedded:io/socket/udp";
 * import Resolver from "embedded:network/dns/resolver/udp";
 * import Net from "net";
 * const socket = tcpSocketFactory(TCP, { dns: { io: Resolver, servers: () => Net.get("DNS"), socket: { io: UDP } } });
 */
export function tcpSocketFactory(TCPSocket: TCPConstructor, options: SocketFactoryOptions = {}): SocketFactory {
  const { dns, tls } = options;
  // TLS: onWritable reports the TCP socket's room less 96 (a record's overhead), write() returns
  // it less 32 (SDK >= 5.3.1; less 96 before): keep 96 aside after a write too.
  const reserve = tls ? 64 : 0;
  return (o) => {
    let tcp: TCP | undefined;
    let lookup: { close(): void } | undefined;
    /** close() was called or onError was passed on: no more callbacks. */
    let done = false;
    /** Free send buffer of the socket, as it last told. */
    let room = 0;
    /** Bytes accepted by write() that the socket has not taken yet. */
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
        const n = Math.min(queued, room, MAX_WRITE);
        // Views go as they are (the SDK takes any byte view); several waiting arrays go out as
        // one write, since lwIP queues a segment per write and refuses past TCP_SND_QUEUELEN.
        let part = queue.shift()!;
        if (part.length < n) {
          const joined = new Uint8Array(n);
          joined.set(part);
          for (let p = part.length; p < n;) {
            const b = queue.shift()!;
            joined.set(b.subarray(0, n - p), p);
            if (b.length > n - p) queue.unshift(b.subarray(n - p));
            p += b.length;
          }
          part = joined;
        } else if (part.length > n) {
          queue.unshift(part.subarray(n));
          part = part.subarray(0, n);
        }
        queued -= n;
        const left = tcp.write(part);
        room = (left as number) > reserve ? (left as number) - reserve : 0;
      }
    };

    const callbacks = {
      onReadable: (count: number) => {
        if (!done) o.onReadable(count);
      },
      onWritable: (count: number) => {
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
    };

    /**
     * The TCP socket the TLS socket opens: an exception of the TLS layer inside its callbacks (a
     * certificate that fails verification throws in the handshake) ends this connection here
     * instead of reaching the native callback.
     */
    function GuardedTCP(t: TCPOptions & Record<string, (this: TCP, n: number) => void>): TCP {
      for (const k of ['onReadable', 'onWritable', 'onError']) {
        const f = t[k]!;
        t[k] = function (n) {
          try {
            f.call(this, n);
          } catch (e) {
            fail(e);
          }
        };
      }
      return new TCPSocket(t);
    }

    const open = (address: string) => {
      lookup = undefined;
      if (done) return;
      const common = { address, port: o.port, nodelay: true, ...callbacks };
      try {
        tcp = tls
          ? new tls.io({
              ...common,
              host: o.host,
              secure: tls.secure,
              TCP: { io: GuardedTCP as unknown as TCPConstructor },
            })
          : new TCPSocket(common);
      } catch (e) {
        failLater(e);
      }
    };

    if (IP.test(o.host)) open(o.host);
    else if (!dns) failLater(`no DNS resolver for ${o.host}`);
    else {
      const servers = dns.servers();
      // Moddable's resolver with no server never answers (it asks servers[NaN] forever).
      if (!servers?.length) failLater(`no DNS server for ${o.host}`);
      else
        try {
          (lookup = new dns.io({ servers, socket: dns.socket })).resolve({
            host: o.host,
            onResolved: (_host, address) => open(address),
            onError: () => failLater(`cannot resolve ${o.host}`),
          });
        } catch (e) {
          failLater(e);
        }
    }

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
        lookup?.close();
        const t = tcp;
        tcp = undefined;
        t?.close();
      },
    };
  };
}
