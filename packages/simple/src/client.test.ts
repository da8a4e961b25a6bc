// @umqtt/simple against a scripted peer at byte level, on a fake clock: exact bytes out,
// exact bytes in (whole, 1-byte cuts), every flow and failure.
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

  test.each([
    [1, 'UMQTT_CONNACK_PROTOCOL'],
    [2, 'UMQTT_CONNACK_IDENTIFIER'],
    [3, 'UMQTT_CONNACK_UNAVAILABLE'],
    [4, 'UMQTT_CONNACK_CREDENTIALS'],
    [5, 'UMQTT_CONNACK_NOT_AUTHORIZED'],
  ])('CONNACK refusal %i rejects with %s and closes the socket', async (rc, code) => {
    const t = setup();
    const done = t.client.connect();
    t.broker.socket.open();
    t.broker.socket.send(`20 02 00 0${rc}`);
    await expect(done).rejects.toMatchObject({ code, reasonCode: rc, place: 'connect' });
    expect(t.broker.socket.closed).toBe(true);
    expect(t.client.state).toBe('closed');
    expect(t.closes).toEqual([]); // one reporting path: the promise
    expect(t.client.issues.at(-1)?.error.code).toBe(code);
  });

  test('connect timeout on a fake clock', async () => {
    const t = setup({ connectTimeout: 5000 });
    const done = t.client.connect();
    t.broker.socket.open();
    t.clock.advance(4999);
    expect(t.client.state).toBe('connecting');
    t.clock.advance(1 + SLACK);
    await expect(done).rejects.toMatchObject({ code: 'UMQTT_CONNECT_TIMEOUT', place: 'connect' });
    expect(t.broker.socket.closed).toBe(true);
  });

  test('a packet other than CONNACK first is a protocol error', async () => {
    const t = setup();
    const done = t.client.connect();
    t.broker.socket.open();
    t.broker.socket.send('d0 00');
    await expect(done).rejects.toMatchObject({ code: 'UMQTT_PROTOCOL_ERROR', clause: 'MQTT-3.2.0-1' });
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
  test('QoS 0: exact bytes, returns 0', async () => {
    const { client, sock } = await connected();
    expect(client.publish('a', 'hi')).toBe(0);
    await settle();
    expect(sock.take()).toBe('30 05 00 01 61 68 69');
  });

  test('retain flag, binary payload', async () => {
    const { client, sock } = await connected();
    client.publish('a', new Uint8Array([0, 255]), { retain: true });
    await settle();
    expect(sock.take()).toBe('31 05 00 01 61 00 ff');
  });

  test('QoS 1: PUBACK reports delivered', async () => {
    const { client, sock, statuses } = await connected();
    expect(client.publish('a', 'hi', { qos: 1 })).toBe(1);
    await settle();
    expect(sock.take()).toBe('32 07 00 01 61 00 01 68 69');
    expect(client.inflight).toBe(1);
    sock.send('40 02 00 01');
    expect(statuses).toEqual([[1, 'delivered']]);
    expect(client.inflight).toBe(0);
  });

  test('QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP', async () => {
    const { client, sock, statuses } = await connected();
    client.publish('a', 'hi', { qos: 2 });
    await settle();
    expect(sock.take()).toBe('34 07 00 01 61 00 01 68 69');
    sock.send('50 02 00 01');
    await settle();
    expect(sock.take()).toBe('62 02 00 01');
    expect(statuses).toEqual([[1, 'received']]);
    sock.send('50 02 00 01'); // a repeated PUBREC gets PUBREL again
    await settle();
    expect(sock.take()).toBe('62 02 00 01');
    sock.send('70 02 00 01');
    expect(statuses).toEqual([
      [1, 'received'],
      [1, 'delivered'],
    ]);
    expect(client.inflight).toBe(0);
  });

  test('resend with the same id and DUP; release() resumes QoS 2 at PUBREL', async () => {
    const { client, sock, statuses } = await connected();
    expect(client.publish('a', 'hi', { qos: 1, id: 77, dup: true })).toBe(77);
    expect(client.release(78)).toBe(78);
    await settle();
    expect(sock.take()).toBe('3a 07 00 01 61 00 4d 68 69 62 02 00 4e');
    expect(() => client.publish('a', 'x', { qos: 1, id: 77 })).toThrow(/in use/);
    sock.send('40 02 00 4d 70 02 00 4e');
    expect(statuses).toEqual([
      [77, 'delivered'],
      [78, 'delivered'],
    ]);
  });

  test('misuse throws at once with a clear error', async () => {
    const { client } = await connected({ maxPacketSize: 100 });
    expect(() => client.publish('a/+', 'x')).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', place: 'publish' }),
    );
    expect(() => client.publish('a/#', 'x')).toThrow(/MQTT-3.3.2-2/);
    expect(() => client.publish('', 'x')).toThrow(expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC' }));
    expect(() => client.publish('a', 'x', { qos: 3 as 0 })).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_ARGUMENT', clause: 'MQTT-3.3.1-4' }),
    );
    expect(() => client.publish('a', new Uint8Array(101))).toThrow(
      expect.objectContaining({ code: 'UMQTT_PAYLOAD_TOO_LARGE' }),
    );
    expect(() => client.publish('a', 42 as unknown as string)).toThrow(/payload must be/);
    expect(() => client.subscribe('a/#/b')).toThrow(
      expect.objectContaining({ code: 'UMQTT_INVALID_TOPIC', clause: 'MQTT-4.7.1-2' }),
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

  test('copy: false counts the header in maxPacketSize, and never sends a packet over the protocol limit', async () => {
    const { client } = await connected({ maxPacketSize: 5000 });
    expect(() => client.publish('a', new Uint8Array(4995), { copy: false })).toThrow(
      expect.objectContaining({
        code: 'UMQTT_PAYLOAD_TOO_LARGE',
        message: 'packet of 5001 bytes is over maxPacketSize 5000',
      }),
    );
    client.publish('a', new Uint8Array(4994), { copy: false }); // 1 + 2 + 2 + 1 + 4994: exactly 5000
    // Asked for more than MQTT allows, the codec keeps to 268,435,455 bytes after the fixed
    // header, copied or not (the array is never read: it is refused before anything is written).
    const big = await connected({ maxPacketSize: 2 ** 30 });
    const huge = new Uint8Array(268_435_455 - 2); // with 'a' (3 bytes), one byte too many
    for (const copy of [false, true])
      expect(() => big.client.publish('a', huge, { copy })).toThrow(
        expect.objectContaining({
          code: 'UMQTT_INVALID_ARGUMENT',
          place: 'publish',
          message: expect.stringMatching(/packet body: expected at most 268435455 bytes/),
        }),
      );
    expect(big.client.inflight + big.client.queued).toBe(0);
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

  test('maxQueued bounds the local queue', async () => {
    const { client } = await connected({ maxInflight: 1, maxQueued: 2 });
    client.publish('a', '1', { qos: 1 });
    client.publish('a', '2', { qos: 1 });
    client.publish('a', '3', { qos: 1 });
    expect(() => client.publish('a', '4', { qos: 1 })).toThrow(expect.objectContaining({ code: 'UMQTT_QUEUE_FULL' }));
    expect(client.queued).toBe(2);
  });

  test('packet ids are never reused while in use, and run out clearly', async () => {
    const { client, sock } = await connected({ maxInflight: 70000, maxQueued: 70000, messageTimeout: 0 });
    const ids = new Set<number>();
    for (let i = 0; i < 65535; i++) ids.add(client.publish('a', '', { qos: 1 }));
    expect(ids.size).toBe(65535);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(65535);
    expect(() => client.publish('a', '', { qos: 1 })).toThrow(expect.objectContaining({ code: 'UMQTT_NO_PACKET_ID' }));
    await settle();
    sock.take();
    sock.send('40 02 01 00'); // free id 256
    expect(client.publish('a', '', { qos: 1 })).toBe(256);
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
  test('several filters with a QoS each; a refused filter is reported for that filter', async () => {
    const { client, sock, statuses } = await connected();
    expect(
      client.subscribe([
        { topic: 'a/#', qos: 1 },
        { topic: 'b', qos: 0 },
      ]),
    ).toBe(1);
    await settle();
    expect(sock.take()).toBe('82 0c 00 01 00 03 61 2f 23 01 00 01 62 00');
    sock.send('90 04 00 01 01 80');
    expect(statuses).toEqual([[1, 'refused', [1, 0x80]]]);
    client.subscribe('c', 2);
    sock.send('90 03 00 02 02');
    expect(statuses[1]).toEqual([2, 'delivered', [2]]);
  });

  test('unsubscribe', async () => {
    const { client, sock, statuses } = await connected();
    expect(client.unsubscribe(['a/#', 'b'])).toBe(1);
    await settle();
    expect(sock.take()).toBe('a2 0a 00 01 00 03 61 2f 23 00 01 62');
    sock.send('b0 02 00 01');
    expect(statuses).toEqual([[1, 'delivered']]);
  });

  test('inbound QoS 0, 1 (acknowledged) and 2 (delivered exactly once)', async () => {
    const { sock, messages } = await connected();
    sock.send('30 05 00 01 61 68 69'); // QoS 0
    sock.send('33 07 00 01 62 00 05 68 69'); // QoS 1 retained, id 5
    await settle();
    expect(sock.take()).toBe('40 02 00 05');
    sock.send('34 07 00 01 63 00 09 68 69'); // QoS 2, id 9
    sock.send('3c 07 00 01 63 00 09 68 69'); // the same again with DUP before PUBREL
    await settle();
    expect(sock.take()).toBe('50 02 00 09 50 02 00 09');
    sock.send('62 02 00 09');
    await settle();
    expect(sock.take()).toBe('70 02 00 09');
    sock.send('34 07 00 01 63 00 09 68 69'); // id 9 reused after PUBREL: a new message
    expect(messages.map((m) => [m.topic, m.qos, m.retain, m.dup])).toEqual([
      ['a', 0, false, false],
      ['b', 1, true, false],
      ['c', 2, false, false],
      ['c', 2, false, false],
    ]);
  });

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

describe('timeouts and keepalive (fake clock)', () => {
  test('message timeout reports timeout; a late acknowledgement reports unknown id', async () => {
    const { client, sock, statuses, clock } = await connected({ messageTimeout: 5000, keepAlive: 0 });
    client.publish('a', 'x', { qos: 1 });
    client.subscribe('s');
    clock.advance(4999);
    expect(statuses).toEqual([]);
    clock.advance(1 + SLACK);
    expect(statuses).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    // the broker may still hold it: it keeps its place in the window until it is acknowledged
    expect(client.inflight).toBe(1);
    sock.send('40 02 00 01');
    sock.send('90 03 00 02 00');
    expect(statuses.slice(2)).toEqual([
      [1, 'unknown'],
      [2, 'unknown'],
    ]);
    expect(client.inflight).toBe(0);
    expect(client.state).toBe('connected');
    expect(client.publish('a', 'y', { qos: 1 })).toBe(3);
  });

  test('timed-out messages keep their places in the window: never more in flight than the broker allows', async () => {
    const { client, sock, statuses, clock } = await connected({ messageTimeout: 1000, keepAlive: 0, maxInflight: 2 });
    client.publish('a', '1', { qos: 2 });
    client.publish('a', '2', { qos: 1 });
    clock.advance(1000 + SLACK);
    expect(statuses).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    expect(client.writable).toBe(false); // the broker still counts both against its quota
    client.publish('a', '3', { qos: 1 });
    await settle();
    sock.take();
    expect(client.queued).toBe(1);
    sock.send('50 02 00 01'); // late PUBREC: PUBREL, the slot stays taken until PUBCOMP
    await settle();
    expect(sock.take()).toBe('62 02 00 01');
    expect(client.queued).toBe(1);
    sock.send('70 02 00 01'); // late PUBCOMP: the slot frees, the waiting message goes out
    await settle();
    expect(sock.take()).toBe('32 06 00 01 61 00 03 33');
    expect(statuses.slice(2)).toEqual([
      [1, 'received'],
      [1, 'unknown'],
    ]);
  });

  test('PINGREQ after keepAlive of silence; PINGRESP keeps the connection', async () => {
    const { sock, clock, client } = await connected({ keepAlive: 10 });
    clock.advance(9999);
    await settle();
    expect(sock.take()).toBe('');
    clock.advance(1 + SLACK);
    await settle();
    expect(sock.take()).toBe('c0 00');
    sock.send('d0 00');
    clock.advance(10000 + SLACK);
    await settle();
    expect(sock.take()).toBe('c0 00');
    expect(client.state).toBe('connected');
  });

  test('nothing received for 1.5 x keepAlive: the connection is dead (half-open)', async () => {
    const { sock, clock, closes, client } = await connected({ keepAlive: 10 });
    // we keep publishing, the broker stays silent
    for (let i = 0; i < 14; i++) {
      clock.advance(1000);
      client.publish('a', 'x');
    }
    await settle();
    expect(sock.take()).toContain('c0 00'); // a ping went out although we were not silent
    clock.advance(1000 + SLACK);
    expect(closes[0]).toMatchObject({ code: 'UMQTT_KEEPALIVE_TIMEOUT', place: 'keepalive' });
    expect(sock.closed).toBe(true);
  });
});

describe('hostile or broken broker', () => {
  test.each([
    ['malformed bytes', '3f 00', 'UMQTT_MALFORMED'],
    ['a packet a client never receives (SUBSCRIBE)', '82 06 00 01 00 01 61 00', 'UMQTT_UNEXPECTED_PACKET'],
    ['SUBACK for a QoS 1 message (an id awaiting PUBACK)', '90 03 00 01 00', 'UMQTT_PROTOCOL_ERROR'],
    ['a second CONNACK', '20 02 00 00', 'UMQTT_PROTOCOL_ERROR'],
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
