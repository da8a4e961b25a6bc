// Test certificates made with the openssl command (OpenSSL 3): a CA, a server
// certificate for localhost / 127.0.0.1 signed by it, a client certificate signed by it, an
// unrelated second CA and a client certificate signed by that one.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, run } from './command.js';

export interface Certificates {
  dir: string;
  caFile: string;
  /** The CA certificate, PEM. */
  caCert: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** A CA that signed only `otherClient*`: trusting only it must fail verification. */
  otherCaFile: string;
  /** A client certificate (CN umqtt-client, clientAuth) signed by the CA, and its key. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A client certificate signed by the other CA, and its key: a broker trusting the CA refuses it. */
  otherClientCertFile: string;
  otherClientKeyFile: string;
  /** Removes the generated files (and the directory when it was created here). */
  remove(): Promise<void>;
}

// Our own config, so the result does not depend on the system's openssl.cnf.
const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = ['-days', '7'];

/** Generates the certificates into `dir` (default: a new temporary directory). */
export async function generateCertificates(dir?: string): Promise<Certificates> {
  const openssl = findExecutable('openssl');
  if (openssl === undefined) throw new Error('generateCertificates: openssl not found on PATH');
  const target = dir ?? (await mkdtemp(join(tmpdir(), 'umqtt-certs-')));
  const file = (name: string) => join(target, name);
  const config = file('openssl.cnf');
  await writeFile(config, CONFIG);

  const makeCa = (name: string, cn: string) =>
    run(openssl, [
      'req',
      '-x509',
      ...KEY,
      ...DAYS,
      '-config',
      config,
      '-extensions',
      'ca_ext',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.crt`),
    ]);
  await Promise.all([makeCa('ca', 'umqtt test CA'), makeCa('other-ca', 'umqtt unrelated CA')]);
  /** A key and a certificate for `cn`, signed by the CA `ca` with the extensions `ext`. */
  const issue = async (name: string, cn: string, ca: string, ext: string) => {
    await run(openssl, [
      'req',
      '-new',
      ...KEY,
      '-config',
      config,
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    ]);
    await run(openssl, [
      'x509',
      '-req',
      ...DAYS,
      '-in',
      file(`${name}.csr`),
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-CA',
      file(`${ca}.crt`),
      '-CAkey',
      file(`${ca}.key`),
      '-extfile',
      config,
      '-extensions',
      ext,
      '-out',
      file(`${name}.crt`),
    ]);
  };
  await Promise.all([
    issue('server', 'localhost', 'ca', 'server_ext'),
    issue('client', 'umqtt-client', 'ca', 'client_ext'),
    issue('other-client', 'umqtt-other-client', 'other-ca', 'client_ext'),
  ]);

  const generated = [
    'openssl.cnf',
    'ca.key',
    'ca.crt',
    'other-ca.key',
    'other-ca.crt',
    ...['server', 'client', 'other-client'].flatMap((name) => [`${name}.key`, `${name}.csr`, `${name}.crt`]),
  ];
  return {
    dir: target,
    caFile: file('ca.crt'),
    caCert: await readFile(file('ca.crt'), 'utf8'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    otherCaFile: file('other-ca.crt'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    otherClientCertFile: file('other-client.crt'),
    otherClientKeyFile: file('other-client.key'),
    async remove() {
      if (dir === undefined) await rm(target, { recursive: true, force: true });
      else await Promise.all(generated.map((name) => rm(file(name), { force: true })));
    },
  };
}
