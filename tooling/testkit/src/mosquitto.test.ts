import { access } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type Certificates } from './certs.js';
import { mosquittoOrSkip, startMosquitto, type MosquittoHandle } from './mosquitto.js';
import { CONNACK_ACCEPTED, CONNACK_NOT_AUTHORIZED, connectPacket, exchange } from './raw-mqtt.js';

const skip = mosquittoOrSkip();
const CONNACK_SESSION_PRESENT = [0x20, 0x02, 0x01, 0x00];

describe.skipIf(skip !== undefined)('startMosquitto', () => {
  let broker: MosquittoHandle | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('comes up on a free port, answers CONNACK, and restarts on the same port', async () => {
    broker = await startMosquitto();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect([...(await exchange(broker))]).toEqual(CONNACK_ACCEPTED);
    const port = broker.port;
    await broker.restart();
    expect(broker.port).toBe(port);
    expect([...(await exchange(broker))]).toEqual(CONNACK_ACCEPTED);
    expect(broker.log()).toMatch(/mosquitto version [\d.]+ running[\s\S]*running/);
  });

  it('checks passwords: right one accepted, wrong one refused with return code 5', async () => {
    broker = await startMosquitto({ users: { alice: 'secret', bob: 'other' } });
    const as = (username: string, password: string) =>
      exchange(broker!, { send: connectPacket({ username, password }) });
    expect([...(await as('alice', 'secret'))]).toEqual(CONNACK_ACCEPTED);
    expect([...(await as('bob', 'other'))]).toEqual(CONNACK_ACCEPTED);
    expect([...(await as('alice', 'wrong'))]).toEqual(CONNACK_NOT_AUTHORIZED);
    expect([...(await exchange(broker))]).toEqual(CONNACK_NOT_AUTHORIZED); // anonymous
  });

  it('keeps a persistent session across restart when persistence is on', async () => {
    broker = await startMosquitto({ persistence: true });
    const send = connectPacket({ clientId: 'keeper', clean: false });
    expect([...(await exchange(broker, { send }))]).toEqual(CONNACK_ACCEPTED);
    await broker.restart();
    expect([...(await exchange(broker, { send }))]).toEqual(CONNACK_SESSION_PRESENT);
  });

  it('loses the session across restart without persistence', async () => {
    broker = await startMosquitto();
    const send = connectPacket({ clientId: 'keeper', clean: false });
    await exchange(broker, { send });
    expect([...(await exchange(broker, { send }))]).toEqual(CONNACK_SESSION_PRESENT);
    await broker.restart();
    expect([...(await exchange(broker, { send }))]).toEqual(CONNACK_ACCEPTED);
  });

  it('dies on kill() without saving its sessions, and start() brings it back on the same port', async () => {
    broker = await startMosquitto({ persistence: true });
    const send = connectPacket({ clientId: 'keeper', clean: false });
    await exchange(broker, { send });
    await broker.kill();
    await expect(exchange(broker, { send })).rejects.toThrow();
    await broker.start();
    expect([...(await exchange(broker, { send }))]).toEqual(CONNACK_ACCEPTED); // persistence is saved only on a clean stop
  });

  it('removes its temp dir on stop, and reports a bad config with its log', async () => {
    const started = await startMosquitto();
    await started.stop();
    await expect(access(started.dir)).rejects.toThrow();
    await expect(startMosquitto({ extraConfig: ['no_such_option 1'] })).rejects.toThrow(/no_such_option/);
  });
});

describe.skipIf(skip !== undefined)('startMosquitto with TLS (generateCertificates)', () => {
  let certs: Certificates;
  let broker: MosquittoHandle;
  beforeAll(async () => {
    certs = await generateCertificates();
    broker = await startMosquitto({
      tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    await certs?.remove();
  });

  it('accepts a TLS client that trusts the CA, by IP and by name', async () => {
    expect(broker.url).toBe(`mqtts://127.0.0.1:${broker.port}`);
    expect([...(await exchange(broker, { tls: { ca: certs.caCert } }))]).toEqual(CONNACK_ACCEPTED);
    const byName = { host: 'localhost', port: broker.port };
    expect([...(await exchange(byName, { tls: { ca: certs.caCert } }))]).toEqual(CONNACK_ACCEPTED);
  });

  it('is rejected by a client that trusts only an unrelated CA', async () => {
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(certs.otherCaFile, 'utf8');
    await expect(exchange(broker, { tls: { ca } })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('is rejected for a name the certificate does not carry', async () => {
    await expect(exchange(broker, { tls: { ca: certs.caCert, servername: 'example.com' } })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });
});
