// @umqtt/simple against a scripted peer at byte level, on a fake clock: what the driver owns
// (CONNECT, the socket's open, writes, backpressure and onWritable, payload ownership,
// callbacks, errors routed to the connect() promise or onClose). The protocol state it drives
// (packet ids, QoS stages, the window, timeouts, keepalive, incoming QoS 2) is tested on plain
// values in packages/session.
import { describe, expect, test } from 'vitest';
import { Parser, encodeAck, encodePublish, encodeSuback, serverDecoders, type QoS } from '@umqtt/codec';
import { settle, toHex, type ScriptedSocket } from '@umqtt/testkit';
import { CONNECT_C1, SLACK, connected, setup } from './client.test-support.js';

describe('connect', () => {
  test('sends CONNECT only once the socket is open, and resolves on CONNACK', async () => {
    const t = setup();
    const done = t.client.connect();
    expect(t.client.state).toBe('connecting');
    await settle();
    expect(t.broker.socket.take()).toBe(''); // nothing before the socket is writable
    t.broker.socket.open();
    await settle();
    expect(t.broker.socket.take()).toBe(CONNECT_C1);
    t.broker.socket.send('20 02 00 00');
    await expect(done).resolves.toBe(false); // no session present (a clean session)
    expect(t.client.state).toBe('connected');
  });

  test('user name, password, will, clean session off, keepalive', async () => {
    const { connect } = await connected({
      clean: false,
      keepAlive: 10,
      username: 'u',
      password: 'p',
      will: { topic: 'w', payload: 'bye', qos: 1, retain: true },
    });
    // flags: user 0x80 | password 0x40 | will retain 0x20 | will QoS 1 0x08 | will 0x04 = 0xec
    expect(connect).toBe('10 1c 00 04 4d 51 54 54 04 ec 00 0a 00 02 63 31 00 01 77 00 03 62 79 65 00 01 75 00 01 70');
  });

  // Every return code's error: the session's tests (connect.test.ts); here one, through the driver.
  test('a CONNACK refusal rejects connect() with its code, closes the socket, and is recorded', async () => {
    const t = setup();
    const done = t.client.connect();
    t.broker.socket.open();
    t.broker.socket.send('20 02 00 04');
    await expect(done).rejects.toMatchObject({ code: 'UMQTT_CONNACK_CREDENTIALS', reasonCode: 4, place: 'connect' });
    expect(t.broker.socket.closed).toBe(true);
    expect(t.client.state).toBe('closed');
    expect(t.closes).toEqual([]); // one reporting path: the promise
    expect(t.client.issues.at(-1)?.error.code).toBe('UMQTT_CONNACK_CREDENTIALS');
  });

  test('socket failure while connecting rejects with the cause', async () => {
    const t = setup();
    const done = t.client.connect();
    t.broker.socket.fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await expect(done).rejects.toThrow(/ECONNREFUSED/);
  });

  test('connect twice is refused', async () => {
    const { client } = await connected();
    await expect(client.connect()).rejects.toMatchObject({ code: 'UMQTT_ALREADY_CONNECTED' });
  });

  test('the whole conversation works with the broker answering 1 byte at a time', async () => {
    const { client, sock, messages, statuses, sessionPresent } = await connected({}, 1);
    expect(sessionPresent).toBe(false);
    client.publish('a', 'hi', { qos: 1 });
    await settle();
    sock.take();
    sock.send('40 02 00 01 30 05 00 01 61 68 69 d0 00', 1);
    expect(statuses).toEqual([[1, 'delivered']]);
    expect(messages.map((m) => [m.topic, new TextDecoder().decode(m.payload)])).toEqual([['a', 'hi']]);
  });
});

describe('publish', () => {
  // Bad topics, QoS, sizes and ids are the session's to refuse (its outgoing.test.ts); the driver
  // checks the payload's type and hands maxPacketSize to the session.
  test('misuse throws at once with a clear error', async () => {
    const { client } = await connected({ maxPacketSize: 100 });
    expect(() => client.publish('a', 42 as unknown as string)).toThrow(
      expect.objectContaining({
        code: 'UMQTT_INVALID_ARGUMENT',
        place: 'publish',
        message: expect.stringMatching(/payload must be/),
      }),
    );
    expect(() => client.publish('a', new Uint8Array(101), { qos: 1 })).toThrow(
      expect.objectContaining({ code: 'UMQTT_PAYLOAD_TOO_LARGE' }),
    );
    expect(() => client.publish('a/+', 'x')).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', place: 'publish' }),
    );
    expect(client.inflight + client.queued).toBe(0); // nothing half-registered
  });

  test('calls before connect and after close fail clearly', async () => {
    const t = setup();
    expect(() => t.client.publish('a', 'x')).toThrow(
      expect.objectContaining({ code: 'UMQTT_NOT_CONNECTED', place: 'publish' }),
    );
    expect(() => t.client.subscribe('a')).toThrow(/needs a connection; the client is idle/);
    const { client } = await connected();
    client.disconnect();
    expect(() => client.publish('a', 'x')).toThrow(/the client is closed/);
    expect(() => client.ping()).toThrow(expect.objectContaining({ code: 'UMQTT_NOT_CONNECTED' }));
  });
});

/** Records every array the client hands to `sock.write()`, with a copy of its bytes at that moment. */
function recordWrites(sock: ScriptedSocket): [Uint8Array, Uint8Array][] {
  const writes: [Uint8Array, Uint8Array][] = [];
  const write = sock.write.bind(sock);
  sock.write = (bytes) => (writes.push([bytes, bytes.slice()]), write(bytes));
  return writes;
}

/** Index of the first byte where `a` and `b` differ (their common length if one is shorter), or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function concat(arrays: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  arrays.reduce((o, a) => (out.set(a, o), o + a.length), 0);
  return out;
}

describe('payload ownership (copy option, Socket.write contract)', () => {
  test('by default the payload is copied: changing it after publish() changes nothing sent', async () => {
    const { client, sock } = await connected();
    const writes = recordWrites(sock);
    const payload = new Uint8Array(5000).fill(7);
    client.publish('a', payload, { qos: 1 });
    payload.fill(0);
    await settle();
    expect(writes.map(([bytes]) => bytes)).not.toContain(payload);
    expect(sock.take()).toBe(
      toHex(encodePublish({ type: 3, topic: 'a', payload: new Uint8Array(5000).fill(7), qos: 1, id: 1 })),
    );
  });

  test.each([
    // payload size, QoS, retain, topic length; remaining length = 2 + topic + (QoS ? 2 : 0) + payload
    [4095, 0, false, 1], // under 4 KiB: copied into the packet all the same
    [4096, 0, true, 1], // remaining length 4099: 2 bytes
    [16378, 1, false, 1], // 16383: the largest in 2 bytes
    [16379, 2, false, 1], // 16384: 3 bytes
    [4096, 1, true, 200], // its PUBLISH without payload already needs 2 bytes
    [2_097_152 - 206, 2, false, 200], // 2,097,152: 4 bytes
  ] as const)(
    'copy: false, %i B payload, QoS %i, retain %s, topic of %i B: sent without a copy, the same bytes as a copy',
    async (size, qos, retain, topicLength) => {
      const { client, sock, statuses } = await connected({ maxPacketSize: 4 << 20 });
      const topic = 't'.repeat(topicLength);
      const writes = recordWrites(sock);
      const payload = Uint8Array.from({ length: size }, (_, i) => i * 7);
      const id = client.publish(topic, payload, { qos: qos as QoS, retain, copy: false });
      await settle();
      expect(
        firstDifference(
          concat(writes.map(([bytes]) => bytes)),
          encodePublish({ type: 3, topic, payload, qos, retain, id: id || undefined }),
        ),
      ).toBe(-1);
      expect(writes.some(([bytes]) => bytes === payload)).toBe(size >= 4096);
      if (qos) sock.send(qos === 1 ? '40 02 00 01' : '50 02 00 01 70 02 00 01');
      expect(statuses.at(-1)).toEqual(qos ? [1, 'delivered'] : undefined);
    },
  );

  test('copy: false with DUP and a packet id, and behind the in-flight window', async () => {
    const { client, sock } = await connected({ maxInflight: 1 });
    const writes = recordWrites(sock);
    const first = new Uint8Array(8192).fill(1);
    const second = new Uint8Array(8192).fill(2);
    client.publish('a', first, { qos: 1, copy: false });
    client.publish('b', second, { qos: 1, id: 300, dup: true, copy: false });
    await settle();
    expect(concat(writes.map(([bytes]) => bytes))).toEqual(
      encodePublish({ type: 3, topic: 'a', payload: first, qos: 1, id: 1 }),
    );
    expect(client.queued).toBe(1);
    writes.length = 0;
    sock.send('40 02 00 01');
    await settle();
    expect(concat(writes.map(([bytes]) => bytes))).toEqual(
      encodePublish({ type: 3, topic: 'b', payload: second, qos: 1, id: 300, dup: true }),
    );
    expect(writes.map(([bytes]) => bytes)).toContain(second);
  });

  test('the client never changes or reuses an array it handed to write()', async () => {
    const t = setup({ keepAlive: 10 });
    t.broker.capacity = 300; // full after 300 bytes: the client waits for onWritable, then joins what waited
    const done = t.client.connect();
    const sock = t.broker.socket;
    const writes = recordWrites(sock);
    sock.open();
    sock.send('20 02 00 00');
    await done;
    // The broker's side: acknowledges whatever the client sent, from the bytes as they were written.
    const parser = new Parser(serverDecoders);
    let parsed = 0;
    const answer = () => {
      parser.push(concat(writes.slice(parsed).map(([, copy]) => copy)));
      parsed = writes.length;
      for (let p = parser.read(); p; p = parser.read()) {
        if (p.type === 3 && p.qos) sock.send(encodeAck({ type: p.qos === 1 ? 4 : 5, id: p.id! }));
        if (p.type === 6) sock.send(encodeAck({ type: 7, id: p.id }));
        if (p.type === 8) sock.send(encodeSuback({ type: 9, id: p.id, granted: p.subscriptions.map((f) => f.qos) }));
        if (p.type === 12) sock.send('d0 00');
      }
    };
    const handedOver = new Uint8Array(6000).fill(5);
    t.client.subscribe(['x', 'y/#'], 2);
    for (let i = 0; i < 40; i++) t.client.publish('a', `small ${i}`, { qos: (i % 3) as QoS }); // pooled packets
    t.client.publish('b', new Uint8Array(6000).fill(6), { qos: 1 });
    t.client.publish('b', handedOver, { qos: 2, copy: false });
    t.client.publish('b', handedOver, { copy: false }); // the same array twice: allowed, it never changes
    sock.send(encodePublish({ type: 3, topic: 'x', payload: new Uint8Array(3), qos: 1, id: 500 }));
    sock.send(encodePublish({ type: 3, topic: 'x', payload: new Uint8Array(3), qos: 2, id: 501 }));
    sock.send('62 02 01 f5'); // PUBREL 501
    t.clock.advance(10_000); // PINGREQ
    for (let n = 0; n < 30; n++) {
      await settle();
      answer();
      sock.drain();
    }
    expect(t.statuses.filter(([, status]) => status === 'delivered')).toHaveLength(1 + 26 + 2);
    t.client.disconnect();
    expect(sock.closed).toBe(true);
    expect(writes.some(([bytes]) => bytes.length > 300)).toBe(true); // small packets were joined

    for (const [bytes, copy] of writes) expect(bytes).toEqual(copy); // nothing changed after write()
    expect(handedOver.every((b) => b === 5)).toBe(true);
    // and no two of the client's own arrays share a byte: memory handed to the socket is never reused
    const own = writes.map(([bytes]) => bytes).filter((bytes) => bytes !== handedOver);
    const regions = own.map((b) => ({ buffer: b.buffer, from: b.byteOffset, to: b.byteOffset + b.length }));
    regions.sort((a, b) => a.from - b.from);
    for (const [k, r] of regions.entries())
      for (const q of regions.slice(k + 1)) if (q.buffer === r.buffer) expect(q.from).toBeGreaterThanOrEqual(r.to);
    expect(new Set(regions.map((r) => r.buffer)).size).toBeLessThan(regions.length); // pooled packets share buffers
  });
});

describe('flow control', () => {
  test('beyond the window messages wait locally, in order, and go out as acks arrive', async () => {
    const { client, sock, statuses } = await connected({ maxInflight: 2 });
    const writable: number[] = [];
    client.onWritable = () => writable.push(client.inflight);
    client.publish('a', '1', { qos: 1 });
    client.publish('a', '2', { qos: 2 });
    expect(client.writable).toBe(false);
    client.publish('a', '3', { qos: 1 });
    await settle();
    expect(sock.take()).toBe('32 06 00 01 61 00 01 31 34 06 00 01 61 00 02 32');
    expect([client.inflight, client.queued]).toEqual([2, 1]);
    sock.send('40 02 00 01');
    await settle();
    expect(sock.take()).toBe('32 06 00 01 61 00 03 33');
    expect(writable).toEqual([]); // window full again
    sock.send('50 02 00 02 70 02 00 02');
    await settle();
    expect(writable).toEqual([1]);
    expect(client.writable).toBe(true);
    sock.send('40 02 00 03');
    expect(statuses.map(([id, s]) => `${id}:${s}`)).toEqual([
      '1:delivered',
      '2:received',
      '2:delivered',
      '3:delivered',
    ]);
  });

  test('writes respect the socket: nothing more is written until onWritable, then it flushes', async () => {
    const t = setup();
    t.broker.capacity = 40;
    const done = t.client.connect();
    const sock = t.broker.socket;
    sock.open();
    sock.send('20 02 00 00');
    await done;
    await settle();
    sock.take();
    t.client.publish('a', new Uint8Array(50)); // fills the socket
    await settle();
    expect(sock.take().split(' ')).toHaveLength(55);
    expect(t.client.writable).toBe(false);
    t.client.publish('a', 'x');
    await settle();
    expect(sock.take()).toBe('');
    let told = 0;
    t.client.onWritable = () => told++;
    sock.drain();
    expect(sock.take()).toBe('30 04 00 01 61 78');
    expect(told).toBe(1);
  });

  test('writable counts what this turn published against the socket room: a QoS 0 loop stops, then goes on at onWritable', async () => {
    const t = await connected({ keepAlive: 0 });
    const sock = t.sock;
    sock.capacity = 100;
    sock.drain(); // 100 bytes of room
    let told = 0;
    t.client.onWritable = () => told++;
    const writes = sock.writes;
    let n = 0;
    // 25-byte packets
    while (t.client.writable && n < 1000) {
      t.client.publish('a', new Uint8Array(20));
      n++;
    }
    expect(n).toBe(4); // 4 x 25 = the socket's 100 bytes, not an endless loop into memory
    expect(told).toBe(0);
    await settle();
    expect(sock.take().split(' ')).toHaveLength(100); // all four written, in one write
    expect(sock.writes - writes).toBe(1);
    expect(t.client.writable).toBe(false); // the socket said it is full
    sock.drain();
    expect(told).toBe(1);
    expect(t.client.writable).toBe(true);
    // room left after a write counts too: 60 bytes taken of 100, two more 25-byte packets fit
    sock.capacity = 160;
    t.client.publish('a', new Uint8Array(20));
    await settle();
    expect(t.client.writable).toBe(true);
    let more = 0;
    while (t.client.writable && more < 1000) {
      t.client.publish('a', new Uint8Array(20));
      more++;
    }
    expect(more).toBe(6); // 160 - 25 = 135 bytes of room: the sixth packet reaches it
  });

  test('onWritable fires when a full socket drains with nothing left to write', async () => {
    const t = setup({ maxInflight: 2, keepAlive: 0 });
    t.broker.capacity = 30;
    const done = t.client.connect();
    const sock = t.broker.socket;
    sock.open();
    sock.send('20 02 00 00');
    await done;
    await settle();
    sock.take();
    let told = 0;
    t.client.onWritable = () => told++;
    t.client.publish('t', 'c', { qos: 1 });
    t.client.publish('t', 'd', { qos: 1 }); // window full, and the write fills the socket
    await settle();
    expect(t.client.writable).toBe(false);
    sock.send('40 02 00 01 40 02 00 02'); // both acknowledged while the socket is still full
    expect(told).toBe(0);
    sock.drain(); // nothing waits to be written
    expect(t.client.writable).toBe(true);
    expect(told).toBe(1);
  });

  test('a socket that takes nothing for socketTimeout kills the connection', async () => {
    const t = setup({ socketTimeout: 2000, keepAlive: 0 });
    t.broker.capacity = 10;
    const done = t.client.connect();
    const sock = t.broker.socket;
    sock.open();
    sock.send('20 02 00 00');
    await done;
    t.client.publish('a', new Uint8Array(20));
    await settle();
    t.clock.advance(2000 + SLACK);
    expect(t.closes[0]).toMatchObject({ code: 'UMQTT_WRITE_TIMEOUT', place: 'write' });
  });
});

describe('subscribe and receive', () => {
  test('an exception in onMessage is recorded, the message still acknowledged, the connection kept', async () => {
    const { client, sock } = await connected();
    client.onMessage = () => {
      throw new Error('app bug');
    };
    sock.send('32 07 00 01 62 00 05 68 69');
    await settle();
    expect(sock.take()).toBe('40 02 00 05');
    expect(client.state).toBe('connected');
    expect(client.issues.at(-1)).toMatchObject({ place: 'message', error: { code: 'UMQTT_CALLBACK_ERROR' } });
  });
});

describe('hostile or broken broker', () => {
  test.each([
    ['malformed bytes', '3f 00', 'UMQTT_MALFORMED'],
    ['a packet a client never receives (SUBSCRIBE)', '82 06 00 01 00 01 61 00', 'UMQTT_UNEXPECTED_PACKET'],
    ['SUBACK for a QoS 1 message (an id awaiting PUBACK)', '90 03 00 01 00', 'UMQTT_PROTOCOL_ERROR'],
    ['oversized packet (announced)', '30 ff ff ff 7f', 'UMQTT_PACKET_TOO_LARGE'],
  ])('%s: protocol error, connection closed, in-flight aborted, no throw', async (_, bytes, code) => {
    const { sock, closes, client, statuses } = await connected({ maxPacketSize: 1024 });
    client.publish('a', 'x', { qos: 1 });
    expect(() => sock.send(bytes)).not.toThrow();
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code, place: 'read' });
    expect(sock.closed).toBe(true);
    expect(statuses).toEqual([[1, 'aborted']]);
  });

  test('connection reset: onClose with the cause; the client can connect again', async () => {
    const { sock, closes, client, broker } = await connected();
    sock.fail(new Error('read ECONNRESET'));
    expect(closes[0]).toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'read' });
    expect(client.state).toBe('closed');
    const again = client.connect();
    broker.socket.open();
    broker.socket.send('20 02 00 00');
    await expect(again).resolves.toBe(false);
  });

  test('disconnect sends DISCONNECT, closes, reports no error', async () => {
    const { sock, closes, client } = await connected();
    client.publish('a', 'x');
    client.disconnect();
    expect(sock.take()).toBe('30 04 00 01 61 78 e0 00');
    expect(sock.closed).toBe(true);
    expect(closes).toEqual([undefined]);
  });
});
