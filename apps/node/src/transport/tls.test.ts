import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
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
import { WebSocketServer } from 'ws';
import { clientTracker } from '../clients.test-support.js';
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

/** What a TLS client offered in its handshake, as the server saw it. */
interface Hello {
  servername: string | false;
  alpn: string[];
}

describe('what the client offers in the TLS handshake (SNI, ALPN), seen by a node:tls server', () => {
  let certs: Certificates;
  const { open, endAll } = clientTracker();
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    certs = await generateCertificates();
  });
  afterEach(endAll);
  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
    await certs?.remove();
  });

  /**
   * Options of a node:tls server that records, per connection, what the client offered: the
   * SNI name (SNICallback) and the ALPN list (ALPNCallback, which picks the first, as AWS IoT
   * Core does with x-amzn-mqtt-ca). `record()` is called at 'secureConnection'.
   */
  const recorder = async (hellos: Hello[]) => {
    let offered: Hello = { servername: false, alpn: [] };
    return {
      options: {
        cert: await readFile(certs.serverCertFile),
        key: await readFile(certs.serverKeyFile),
        ALPNCallback: ({ protocols }: { servername: string; protocols: string[] }) => {
          offered.alpn = protocols;
          return protocols[0];
        },
        SNICallback: (servername: string, done: (e: Error | null) => void) => {
          offered.servername = servername;
          done(null);
        },
      },
      record() {
        hellos.push(offered);
        offered = { servername: false, alpn: [] };
      },
    };
  };

  /** A TLS "broker" that answers any CONNECT with CONNACK and records each hello. */
  async function tlsBroker() {
    const hellos: Hello[] = [];
    const { options, record } = await recorder(hellos);
    const server = createTlsServer(options, (socket: TLSSocket) => {
      record();
      socket.on('error', () => {});
      socket.once('data', () => socket.write(Uint8Array.of(0x20, 0x02, 0x00, 0x00)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const address = server.address();
    return { port: typeof address === 'object' && address ? address.port : 0, hellos };
  }

  it('mqtts:// sends the servername as SNI and offers the ALPN protocols in order', async () => {
    const { port, hellos } = await tlsBroker();
    const client = open(`mqtts://127.0.0.1:${port}`, {
      ca: certs.caCert,
      servername: 'localhost',
      alpn: ['x-amzn-mqtt-ca', 'mqtt'],
    });
    await expect(client.ready).resolves.toBe(false);
    expect(hellos.at(-1)).toEqual({ servername: 'localhost', alpn: ['x-amzn-mqtt-ca', 'mqtt'] });
  });

  it('sends the host name as SNI by default (none for an IP address), and no ALPN unless asked', async () => {
    const { port, hellos } = await tlsBroker();
    await open(`mqtts://localhost:${port}`, { ca: certs.caCert }).ready;
    expect(hellos.at(-1)).toEqual({ servername: 'localhost', alpn: [] });
    await open(`mqtts://127.0.0.1:${port}`, { ca: certs.caCert }).ready;
    expect(hellos.at(-1)).toEqual({ servername: false, alpn: [] });
  });

  it('verifies the certificate against the servername: another name fails even with the right CA', async () => {
    const { port } = await tlsBroker();
    await expect(
      open(`mqtts://127.0.0.1:${port}`, { ca: certs.caCert, servername: 'broker.example' }).ready,
    ).rejects.toMatchObject({ message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID') });
  });

  it('wss:// offers the same SNI and ALPN to an HTTPS WebSocket endpoint', async () => {
    const hellos: Hello[] = [];
    const { options, record } = await recorder(hellos);
    const https = createHttpsServer(options);
    https.on('secureConnection', record);
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (ws) => ws.once('message', () => ws.send(Uint8Array.of(0x20, 0x02, 0x00, 0x00))));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      wss.clients.forEach((c) => c.terminate());
      wss.close();
      return new Promise((resolve) => https.close(() => resolve()));
    });
    const address = https.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const client = open(`wss://127.0.0.1:${port}/mqtt`, {
      ca: certs.caCert,
      servername: 'localhost',
      alpn: ['mqtt'],
    });
    await expect(client.ready).resolves.toBe(false);
    expect(hellos.at(-1)).toEqual({ servername: 'localhost', alpn: ['mqtt'] });
  });
});

describe.skipIf(mosquittoOrSkip() !== undefined)('client certificates against Mosquitto (require_certificate)', () => {
  let certs: Certificates;
  let broker: MosquittoHandle;
  const { open, endAll } = clientTracker();
  beforeAll(async () => {
    certs = await generateCertificates();
    broker = await startMosquitto({
      tls: {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        requireCertificate: true,
      },
      websockets: true,
    });
  });
  afterEach(endAll);
  afterAll(async () => {
    await broker?.stop();
    await certs?.remove();
  });
  const identity = async (which: 'client' | 'otherClient') => ({
    ca: certs.caCert,
    cert: await readFile(which === 'client' ? certs.clientCertFile : certs.otherClientCertFile),
    key: await readFile(which === 'client' ? certs.clientKeyFile : certs.otherClientKeyFile),
  });

  it('connects over mqtts:// and wss:// with a client certificate signed by the CA, and exchanges a message', async () => {
    const tls = open(broker.url, { ...(await identity('client')), servername: 'localhost' });
    const wss = open(broker.wsUrl!, await identity('client'));
    const received = new Promise<string>((resolve) => (tls.onMessage = (m) => resolve(m.payload.toString())));
    await expect(tls.subscribe('tls-test/certs', 1)).resolves.toEqual([1]);
    await expect(wss.publish('tls-test/certs', 'signed', { qos: 1 })).resolves.toBe('delivered');
    expect(await received).toBe('signed');
  });

  it('without a client certificate, or with one from another CA, the handshake fails', async () => {
    const without = open(broker.url, { ca: certs.caCert });
    await expect(without.ready).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
    const foreign = open(broker.url, await identity('otherClient'));
    await expect(foreign.ready).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
    const foreignWs = open(broker.wsUrl!, await identity('otherClient'));
    await expect(foreignWs.ready).rejects.toMatchObject({ code: 'UMQTT_CONNECTION_LOST', place: 'connect' });
  });
});
