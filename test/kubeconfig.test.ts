// pi-seed kubeconfig (an admin kubeconfig with a short-lived certificate from the cluster CA) and
// pi-seed status (Nodes and reports read from the API server, verified against the cluster CA),
// against a small HTTPS server made here with a serving certificate from the cluster CA.
import 'reflect-metadata';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import yaml from 'js-yaml';
import { runStatus } from '../src/commands/status.js';
import { type CertificateAuthority, createSecrets, readSecrets } from '../src/secrets/cluster-secrets.js';
import { SEED_CONFIG, runCli, tempDir } from './helpers.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const dir = tempDir('pi-seed-kubeconfig-');
const config = join(dir, 'cluster.yaml');
copyFileSync(SEED_CONFIG, config);
const built = await runCli(['build', '--config', config, '--out', join(dir, 'out')]);
if (built.code !== 0) throw new Error(built.stderr);
const secrets = readSecrets(join(dir, 'cluster.secrets.yaml'));
const ca = secrets.certificateAuthorities.cluster;
const home = join(dir, 'home');
mkdirSync(home);
process.env.HOME = home;

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

interface Kubeconfig {
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  'current-context': string;
}

test('the default kubeconfig: ~/.kube/pi-seed-<cluster>.yaml, 0600 in a 0700 folder, the export hint on stdout', async () => {
  const before = Date.now();
  const result = await runCli(['kubeconfig', '--config', config]);
  assert.is(result.code, 0, result.stderr);
  const path = join(home, '.kube', 'pi-seed-home.yaml');
  assert.is(result.stdout, `export KUBECONFIG=${path}\n`);
  assert.match(result.stderr, new RegExp(`wrote ${path} \\(mode 0600\\): cluster-admin on home at https://192\\.168\\.1\\.101:6443 until \\d{4}-`));
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.is(statSync(join(home, '.kube')).mode & 0o777, 0o700);
  const kc = yaml.load(readFileSync(path, 'utf8')) as Kubeconfig;
  assert.is(kc.clusters[0]!.name, 'home');
  assert.is(kc.clusters[0]!.cluster.server, 'https://192.168.1.101:6443');
  assert.is(b64(kc.clusters[0]!.cluster['certificate-authority-data']), ca.certificate);
  assert.is(kc['current-context'], kc.contexts[0]!.name);
  assert.equal(kc.contexts[0]!.context, { cluster: 'home', user: kc.users[0]!.name });
  const cert = new X509Certificate(b64(kc.users[0]!.user['client-certificate-data']));
  assert.ok(cert.verify(new X509Certificate(ca.certificate).publicKey), 'signed by the cluster CA');
  assert.not.ok(cert.verify(new X509Certificate(secrets.certificateAuthorities.etcd.certificate).publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(b64(kc.users[0]!.user['client-key-data']))));
  assert.is(cert.subject.split('\n').sort().join(','), 'CN=pi-seed-admin,O=kubeadm:cluster-admins');
  assert.not.ok(cert.ca);
  const ttl = new Date(cert.validTo).getTime() - before;
  assert.ok(ttl > 3600_000 - 5000 && ttl <= 3600_000 + 1000, `1 hour, was ${ttl} ms`);
  const backdate = before - new Date(cert.validFrom).getTime();
  assert.ok(backdate >= 5 * 60_000 - 1000 && backdate <= 5 * 60_000 + 5000, `5 minutes back, was ${backdate} ms`);
  assert.ok(new x509.X509Certificate(cert.raw).getExtension(x509.ExtendedKeyUsageExtension)!.usages.includes(x509.ExtendedKeyUsage.clientAuth));
});

const TTLS: Array<[string, number]> = [
  ['30m', 30 * 60_000],
  ['12h', 12 * 3600_000],
  ['7d', 7 * 86_400_000],
  ['30d', 30 * 86_400_000],
];
for (const [ttl, ms] of TTLS) {
  test(`--ttl ${ttl} is honoured, and --out writes where it says`, async () => {
    const out = join(dir, 'elsewhere', `${ttl}.yaml`);
    const before = Date.now();
    const result = await runCli(['kubeconfig', '--config', config, '--ttl', ttl, '--out', out, '--server', '10.0.0.9:16443']);
    assert.is(result.code, 0, result.stderr);
    const kc = yaml.load(readFileSync(out, 'utf8')) as Kubeconfig;
    assert.is(kc.clusters[0]!.cluster.server, 'https://10.0.0.9:16443');
    const lasts = new Date(new X509Certificate(b64(kc.users[0]!.user['client-certificate-data'])).validTo).getTime() - before;
    assert.ok(Math.abs(lasts - ms) < 5000, `${ttl}: ${lasts} ms`);
    assert.is(statSync(out).mode & 0o777, 0o600);
  });
}

const REFUSED: Array<[string, string[], string]> = [
  ['a TTL over 30 days', ['--ttl', '31d'], 'duration-out-of-range'],
  ['a TTL under a minute', ['--ttl', '0m'], 'duration-out-of-range'],
  ['a TTL without unit', ['--ttl', '60'], 'bad-duration'],
  ['a TTL in weeks', ['--ttl', '1w'], 'bad-duration'],
  ['a server with a path', ['--server', 'host/x'], 'bad-server'],
  ['a server with a bad port', ['--server', 'host:99999'], 'bad-server'],
  ['--out in the build\'s out/', ['--out', join(dir, 'out', 'admin.yaml')], 'kubeconfig-under-out'],
  ['--out deep in out/', ['--out', join(dir, 'out', 'mas01', 'x', 'admin.yaml')], 'kubeconfig-under-out'],
  ['--out in a folder a build wrote under another name', ['--out', join(dir, 'cards', 'kc.yaml')], 'kubeconfig-under-out'],
];
mkdirSync(join(dir, 'cards'));
writeFileSync(join(dir, 'cards', '.gitignore'), readFileSync(join(dir, 'out', '.gitignore')));
for (const [what, args, code] of REFUSED) {
  test(`kubeconfig refuses ${what} (exit 2, ${code}) and writes nothing`, async () => {
    const result = await runCli(['kubeconfig', '--config', config, ...args]);
    assert.is(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`^error\\[${code}\\]: .*\\n  = hint: `));
    assert.not.ok(existsSync(join(dir, 'out', 'admin.yaml')));
    assert.not.ok(existsSync(join(dir, 'cards', 'kc.yaml')));
  });
}

test('kubeconfig without cluster.secrets.yaml: build first', async () => {
  const bare = tempDir('pi-seed-kubeconfig-bare-');
  copyFileSync(SEED_CONFIG, join(bare, 'cluster.yaml'));
  for (const command of ['kubeconfig', 'status']) {
    const result = await runCli([command, '--config', join(bare, 'cluster.yaml'), '--server', '127.0.0.1:1']);
    assert.is(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error\[no-secrets\]: no cluster secrets at .*cluster\.secrets\.yaml: /);
    assert.match(result.stderr, /run `pi-seed build` first/);
    assert.not.ok(existsSync(join(bare, 'cluster.secrets.yaml')));
  }
});

// --- status against a small API server ---------------------------------------------------------

async function servingCert(authority: CertificateAuthority): Promise<{ key: string; cert: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(authority.privateKey).export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=kube-apiserver',
    issuer: new x509.X509Certificate(authority.certificate).subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`, cert: cert.toString('pem') };
}

const NODES = {
  kind: 'NodeList',
  apiVersion: 'v1',
  metadata: {},
  items: [
    {
      metadata: { name: 'mas01', labels: { 'node-role.kubernetes.io/control-plane': '' } },
      status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2031-01-01T00:00:00Z' }], nodeInfo: { kubeletVersion: 'v1.37.1' } },
    },
    {
      metadata: { name: 'work01', labels: { 'node-role.kubernetes.io/worker': '' } },
      status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2031-01-01T00:05:00Z' }], nodeInfo: { kubeletVersion: 'v1.37.1' } },
    },
  ],
};
const report = (node: string, data: Record<string, string>) => ({
  metadata: { name: `report-${node}`, namespace: 'pi-seed', labels: { 'pi-seed.io/report': '', 'pi-seed.io/node': node, 'pi-seed.io/phase': data.phase! } },
  data,
});
const REPORTS = {
  kind: 'ConfigMapList',
  apiVersion: 'v1',
  metadata: {},
  items: [
    report('mas01', { role: 'control-plane', phase: 'ready', detail: '', since: '2031-01-01T00:01:00Z' }),
    report('work01', { role: 'worker', phase: 'failed', detail: 'kubeadm join: \u001b[31mboom\ud800', since: '2031-01-01T00:06:00Z' }),
    // Another node's report under the wrong name counts for nobody.
    { ...report('work02', { role: 'worker', phase: 'joined', detail: '', since: '2031-01-01T00:07:00Z' }), metadata: { name: 'report-mas01-copy', labels: { 'pi-seed.io/report': '', 'pi-seed.io/node': 'work02' } } },
  ],
};

interface Seen {
  paths: string[];
  clients: string[];
}

async function apiServer(authority: CertificateAuthority, handler?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<{ server: string; seen: Seen; close: () => Promise<void> }> {
  const { key, cert } = await servingCert(authority);
  const seen: Seen = { paths: [], clients: [] };
  const server = createHttpsServer({ key, cert, ca: ca.certificate, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    seen.paths.push(req.url ?? '');
    const socket = req.socket as import('node:tls').TLSSocket;
    if (handler?.(req, res)) return;
    if (!socket.authorized) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"kind":"Status","code":401}');
      return;
    }
    seen.clients.push(socket.getPeerCertificate().subject.CN as string);
    const url = new URL(req.url ?? '/', 'https://x');
    const body = url.pathname === '/api/v1/nodes' ? NODES : url.pathname === '/api/v1/namespaces/pi-seed/configmaps' && url.searchParams.get('labelSelector') === 'pi-seed.io/report' ? REPORTS : null;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { kind: 'Status', code: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('status: a table per node of cluster.yaml, in its order, from the Nodes and the reports', async () => {
  const api = await apiServer(ca);
  try {
    const result = await runCli(['status', '--config', config, '--server', api.server]);
    assert.is(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NODE\s+ROLE\s+PHASE\s+READY\s+SINCE\s+DETAIL$/);
    assert.match(lines[1]!, /^mas01\s+control-plane\s+ready\s+yes\s+2031-01-01T00:01:00Z\s+kubelet v1\.37\.1$/);
    assert.match(lines[2]!, /^work01\s+worker\s+failed\s+no\s+2031-01-01T00:06:00Z\s+kubeadm join: \?\[31mboom\?$/);
    assert.match(lines[3]!, /^work02\s+worker\s+unknown\s+-\s+-\s+not registered$/);
    assert.is(lines.length, 4);
    assert.ok(api.seen.clients.every((cn) => cn === 'pi-seed-admin') && api.seen.clients.length === 2, `clients: ${api.seen.clients}`);
  } finally {
    await api.close();
  }
});

test('status --json: cluster, server and each node\'s name, role, phase, ready, kubeletVersion, since, error', async () => {
  const api = await apiServer(ca);
  try {
    const result = await runCli(['status', '--config', config, '--server', api.server, '--json']);
    assert.is(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout), {
      cluster: 'home',
      server: `https://${api.server}`,
      nodes: [
        { name: 'mas01', role: 'control-plane', phase: 'ready', ready: true, kubeletVersion: 'v1.37.1', since: '2031-01-01T00:01:00Z', error: null },
        { name: 'work01', role: 'worker', phase: 'failed', ready: false, kubeletVersion: 'v1.37.1', since: '2031-01-01T00:06:00Z', error: 'kubeadm join: ?[31mboom?' },
        { name: 'work02', role: 'worker', phase: 'unknown', ready: null, kubeletVersion: null, since: null, error: null },
      ],
    });
  } finally {
    await api.close();
  }
});

test('status --watch refreshes until stopped', async () => {
  const api = await apiServer(ca);
  try {
    let out = '';
    const code = await runStatus({ config, json: false, watch: true, server: api.server, intervalSeconds: 0.05, maxRefreshes: 3 }, { out: (t) => (out += t), err: () => {} });
    assert.is(code, 0);
    assert.is(out.match(/^NODE /gm)?.length, 3);
    assert.is(api.seen.paths.filter((p) => p.startsWith('/api/v1/nodes')).length, 3);
  } finally {
    await api.close();
  }
});

test('status refuses a server whose certificate comes from another CA, and says it is not this cluster\'s', async () => {
  const stranger = (await createSecrets((n) => Buffer.alloc(n, 7), [], new Date())).certificateAuthorities.cluster;
  const api = await apiServer(stranger);
  try {
    const result = await runCli(['status', '--config', config, '--server', api.server]);
    assert.is(result.code, 1);
    assert.match(result.stderr, new RegExp(`^error\\[api-server-not-this-cluster\\]: the server at https://${api.server.replace(/\./g, '\\.')} failed TLS verification against the cluster CA`));
    assert.match(result.stderr, /it is not this cluster's API server/);
    assert.is(result.stdout, '');
    assert.equal(api.seen.paths, [], 'no request was sent to it');
  } finally {
    await api.close();
  }
});

test('status names a server that refuses the admin certificate (HTTP 403)', async () => {
  const api = await apiServer(ca, (_req, res) => (res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403}'), true));
  try {
    const result = await runCli(['status', '--config', config, '--server', api.server]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /^error\[api-server-denied\]: https:\/\/127\.0\.0\.1:\d+ refused pi-seed's admin certificate \(HTTP 403\)/);
  } finally {
    await api.close();
  }
});

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('status on a closed port: connection refused, with the URL it tried', async () => {
  const port = await freePort();
  const result = await runCli(['status', '--config', config, '--server', `127.0.0.1:${port}`]);
  assert.is(result.code, 1);
  assert.match(result.stderr, new RegExp(`^error\\[api-server-refused\\]: nothing answers at https://127\\.0\\.0\\.1:${port} \\(connection refused\\)\\n  = hint: `));
});

test('status against a server that accepts and never answers: bounded by the request deadline', async () => {
  const silent: Server = createTcpServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  try {
    let err = '';
    const started = Date.now();
    const code = await runStatus({ config, json: false, watch: false, server: `127.0.0.1:${port}`, timeoutMs: 300 }, { out: () => {}, err: (t) => (err += t) });
    assert.is(code, 1);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.match(err, new RegExp(`^error\\[api-server-timeout\\]: no answer from https://127\\.0\\.0\\.1:${port} within 0.3 s`));
  } finally {
    silent.close();
  }
});

test.run();
