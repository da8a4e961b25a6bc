import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAedes, type AedesHandle } from './aedes.js';
import { CONNACK_ACCEPTED, connectPacket, exchange } from './raw-mqtt.js';
import { once } from './wait.js';

let broker: AedesHandle | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe('startAedes', () => {
  it('listens on a free loopback port and answers CONNECT with CONNACK accepted', async () => {
    broker = await startAedes();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect([...(await exchange(broker))]).toEqual(CONNACK_ACCEPTED);
  });

  it('refuses bad credentials with return code 4 through authenticate', async () => {
    broker = await startAedes({
      authenticate: (_client, username, password) => username === 'u' && password?.toString() === 'right',
    });
    const good = connectPacket({ clientId: 'a', username: 'u', password: 'right' });
    const bad = connectPacket({ clientId: 'b', username: 'u', password: 'wrong' });
    expect([...(await exchange(broker, { send: good }))]).toEqual(CONNACK_ACCEPTED);
    expect([...(await exchange(broker, { send: bad }))]).toEqual([0x20, 0x02, 0x00, 0x04]);
  });

  it('close() ends connected clients and stops listening', async () => {
    const started = await startAedes();
    const socket = connect(started);
    socket.on('error', () => {});
    socket.write(connectPacket());
    await once((cb) => socket.once('data', cb));
    const closed = once((cb) => socket.once('close', cb));
    await started.close();
    await closed;
    const again = connect(started);
    const error = await once<NodeJS.ErrnoException>((cb) => again.once('error', cb));
    expect(error.code).toBe('ECONNREFUSED');
  });
});
