import { readFile } from 'node:fs/promises';
import {
  CONNACK_ACCEPTED,
  connectPacket,
  generateCertificates,
  mosquittoOrSkip,
  startMosquitto,
  type Certificates,
  type MosquittoHandle,
} from '@umqtt/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probe, type Probe } from './probe.test-support.js';
import { createTlsSocketFactory, type TlsOptions } from './tls.js';

describe.skipIf(mosquittoOrSkip() !== undefined)('TLS socket against Mosquitto', () => {
  let certs: Certificates;
  let broker: MosquittoHandle;
  let probes: Probe[] = [];

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
  afterEach(() => {
    for (const opened of probes) opened.socket.close();
    probes = [];
  });

  const open = (options: TlsOptions, host: string = broker.host) => {
    const opened = probe(createTlsSocketFactory(options), { host, port: broker.port });
    probes.push(opened);
    return opened;
  };
  const handshakeError = async (opened: Probe) => {
    const event = await opened.next('error');
    expect(opened.events.map((e) => e.type)).toEqual(['error']);
    return (event as { error: NodeJS.ErrnoException }).error.code;
  };

  it('connects with the right CA (onWritable after the handshake) and reads CONNACK', async () => {
    const client = open({ ca: certs.caCert });
    expect(client.calledInsideFactory).toBe(false);
    await client.next('writable');
    expect(client.events[0]?.type).toBe('writable');
    client.socket.write(connectPacket());
    expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
  });

  it('takes the CA as bytes, and verifies by name', async () => {
    const ca = new Uint8Array(await readFile(certs.caFile));
    const client = open({ ca, servername: 'localhost' }, 'localhost');
    await client.next('writable');
    client.socket.write(connectPacket());
    expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
  });

  it('reports a certificate from an unknown CA through onError', async () => {
    const ca = await readFile(certs.otherCaFile, 'utf8');
    expect(await handshakeError(open({ ca }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('does not trust a private CA by default', async () => {
    expect(await handshakeError(open({}))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('reports a name the certificate does not carry', async () => {
    const client = open({ ca: certs.caCert, servername: 'broker.example' });
    expect(await handshakeError(client)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('accepts any certificate only when rejectUnauthorized is false', async () => {
    const client = open({ rejectUnauthorized: false });
    await client.next('writable');
    client.socket.write(connectPacket());
    expect([...(await client.receivedAtLeast(4))]).toEqual(CONNACK_ACCEPTED);
  });
});
