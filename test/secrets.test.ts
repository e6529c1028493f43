// cluster.secrets.yaml v2: the cluster's CAs, service-account key and workers' bootstrap tokens,
// made from injected randomness; a damaged, foreign or old (v1) file is reported like any other
// problem by every command that reads it; the node key file bundle format.
import 'reflect-metadata';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import yaml from 'js-yaml';
import { ProblemError } from '../src/emit/problem-error.js';
import {
  caCertHash,
  createSecrets,
  formatSecretBundle,
  generationOf,
  loadOrCreateSecrets,
  parseSecretBundle,
  parseSecrets,
  pkiFiles,
  secretsText,
  tokenId,
} from '../src/secrets/cluster-secrets.js';
import { newBootstrapToken } from '../src/secrets/tokens.js';
import { seededRandom } from '../src/secrets/seeded-random.js';
import { SEED_CONFIG, readTree, runCli, tempDir } from './helpers.js';

const NOW = new Date('2031-05-06T07:08:09Z');
const DAY = 86_400_000;
const WORKERS = ['work01', 'work02'];
const secrets = await createSecrets(seededRandom('one'), WORKERS, NOW);
const CAS = [
  ['cluster', 'kubernetes'],
  ['frontProxy', 'front-proxy-ca'],
  ['etcd', 'etcd-ca'],
] as const;

test('keys and tokens are a function of the random source (certificates are signed with fresh nonces)', async () => {
  const again = await createSecrets(seededRandom('one'), WORKERS, NOW);
  const other = await createSecrets(seededRandom('two'), WORKERS, NOW);
  for (const [key] of CAS) {
    assert.is(again.certificateAuthorities[key].privateKey, secrets.certificateAuthorities[key].privateKey, key);
    assert.is.not(other.certificateAuthorities[key].privateKey, secrets.certificateAuthorities[key].privateKey, key);
    // Same key, same serial: the certificates differ only in their ECDSA signature.
    const a = new X509Certificate(again.certificateAuthorities[key].certificate);
    const b = new X509Certificate(secrets.certificateAuthorities[key].certificate);
    assert.is(a.serialNumber, b.serialNumber);
    assert.ok(a.publicKey.equals(b.publicKey));
  }
  assert.equal(again.serviceAccount, secrets.serviceAccount);
  assert.equal(again.bootstrapTokens, secrets.bootstrapTokens);
  assert.not.equal(other.bootstrapTokens, secrets.bootstrapTokens);
  const keys = new Set(CAS.map(([k]) => secrets.certificateAuthorities[k].privateKey).concat(secrets.serviceAccount.privateKey));
  assert.is(keys.size, 4, 'every key is its own');
});

for (const [key, cn] of CAS) {
  test(`the ${key} CA: CN ${cn}, P-256, a critical CA:true, key usages, subject key id, 10 years from a day back`, () => {
    const pem = secrets.certificateAuthorities[key].certificate;
    const cert = new x509.X509Certificate(pem);
    assert.is(cert.subject, `CN=${cn}`);
    assert.is(cert.issuer, `CN=${cn}`);
    assert.is((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.ok(bc.ca && bc.critical);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.ok(ku.critical);
    assert.is(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature);
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.is(cert.notBefore.getTime(), Math.floor(NOW.getTime() / 1000) * 1000 - DAY, 'backdated one day');
    assert.ok(cert.notAfter.getTime() >= NOW.getTime() + 10 * 365.25 * DAY - DAY, `valid until ${cert.notAfter.toISOString()}`);
    assert.ok(new X509Certificate(pem).ca);
  });
}

test('a CA made now already holds now (a Pi with a clock a few hours behind still accepts it)', async () => {
  const made = await createSecrets(seededRandom('now'), [], new Date());
  const cert = new X509Certificate(made.certificateAuthorities.cluster.certificate);
  assert.ok(new Date(cert.validFrom).getTime() < Date.now() - 23 * 3600 * 1000);
});

test('each private key belongs to its certificate or public key (sign, then verify independently)', () => {
  const data = Buffer.from('pi-seed');
  for (const [key] of CAS) {
    const ca = secrets.certificateAuthorities[key];
    const signature = sign('sha256', data, createPrivateKey(ca.privateKey));
    assert.ok(verify('sha256', data, new X509Certificate(ca.certificate).publicKey, signature), key);
    assert.not.ok(verify('sha256', data, new X509Certificate(secrets.certificateAuthorities[key === 'etcd' ? 'cluster' : 'etcd'].certificate).publicKey, signature));
  }
  const sa = secrets.serviceAccount;
  assert.match(sa.privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(sa.publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.ok(verify('sha256', data, createPublicKey(sa.publicKey), sign('sha256', data, createPrivateKey(sa.privateKey))));
});

test('caCertHash is sha256 of the DER SubjectPublicKeyInfo, as kubeadm pins it', () => {
  const pem = secrets.certificateAuthorities.cluster.certificate;
  const spki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  assert.is(caCertHash(pem), `sha256:${createHash('sha256').update(spki).digest('hex')}`);
  // And by another library's reading of the certificate.
  const raw = Buffer.from(new x509.X509Certificate(pem).publicKey.rawData);
  assert.is(caCertHash(pem), `sha256:${createHash('sha256').update(raw).digest('hex')}`);
  assert.is.not(caCertHash(pem), caCertHash(secrets.certificateAuthorities.etcd.certificate));
});

test('bootstrap tokens: kubeadm\'s pattern, distinct ids, one per worker', async () => {
  const many = Array.from({ length: 300 }, (_, i) => `w${i}`);
  const made = await createSecrets(seededRandom('tokens'), many, NOW);
  const tokens = Object.values(made.bootstrapTokens);
  assert.is(tokens.length, 300);
  for (const t of tokens) assert.match(t, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.is(new Set(tokens.map(tokenId)).size, 300);
  assert.is(tokenId(tokens[0]!), tokens[0]!.slice(0, 6));
  assert.throws(() => tokenId('ABCDEF.0123456789abcdef'));
});

test('token characters come by rejection, not modulo: bytes 252..255 are skipped', () => {
  // 252, 0, 253, 1, 254, 2, 255, 3, 252, 4, ...: a modulo would read 252 as 0 ('a'), and so on.
  let k = 0;
  const biased = (n: number) => Buffer.from(Array.from({ length: n }, () => (k++ % 2 === 0 ? 252 + (((k - 1) / 2) % 4) : ((k - 2) / 2) % 36)));
  assert.is(newBootstrapToken(biased, []), 'abcdef.ghijklmnopqrstuv');
  const duplicateId = newBootstrapToken(seededRandom('dup'), []);
  const again = newBootstrapToken(seededRandom('dup'), [duplicateId]);
  assert.is.not(tokenId(again), tokenId(duplicateId), 'a taken id is drawn again');
});

test('the file text reads back to the same secrets, and pkiFiles names kubeadm\'s paths', () => {
  const text = secretsText(secrets);
  assert.equal(parseSecrets('x', text), secrets);
  assert.equal(
    pkiFiles(secrets).map((f) => f.path),
    ['pki/ca.crt', 'pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key', 'pki/etcd/ca.crt', 'pki/etcd/ca.key', 'pki/sa.key', 'pki/sa.pub'],
  );
  for (const f of pkiFiles(secrets)) assert.ok(f.content.endsWith('-----\n'), f.path);
  assert.is(pkiFiles(secrets)[0]!.content, secrets.certificateAuthorities.cluster.certificate);
  assert.not.match(text, /clusterKey/);
  assert.not.match(text, /generations/, 'no node past its first generation: no generations key');
  const replaced = { ...secrets, generations: { work01: 3 } };
  assert.equal(parseSecrets('x', secretsText(replaced)), replaced);
  assert.is(generationOf(replaced, 'work01'), 3);
  assert.is(generationOf(replaced, 'work02'), 1);
});

// --- damaged, foreign and old files --------------------------------------------------------------

const good = secretsText(secrets);
const doc = () => yaml.load(good) as Record<string, any>;
const dump = (d: unknown) => yaml.dump(d, { lineWidth: -1 });
const other = await createSecrets(seededRandom('other'), WORKERS, NOW);

const DAMAGE: Array<{ name: string; text: string; code: string; what: RegExp }> = [
  { name: 'truncated in a certificate', text: good.slice(0, good.indexOf('BEGIN CERTIFICATE') + 200), code: 'secrets-damaged', what: /certificateAuthorities\.cluster\.certificate does not parse|is missing/ },
  { name: 'truncated after the tokens', text: good.slice(0, good.indexOf('certificateAuthorities:')), code: 'secrets-damaged', what: /certificateAuthorities is missing/ },
  { name: 'truncated in the last key', text: good.slice(0, good.length - 60), code: 'secrets-damaged', what: /serviceAccount\.(private|public)Key (is not a PEM|does not parse)/ },
  { name: 'an edited token', text: good.replace(/work01: [a-z0-9.]+/, 'work01: hello.world'), code: 'secrets-damaged', what: /bootstrapTokens\.work01 is not a token/ },
  { name: 'two tokens with one id', text: dump({ ...doc(), bootstrapTokens: { work01: 'abcdef.0123456789abcdef', work02: 'abcdef.aaaaaaaaaaaaaaaa' } }), code: 'secrets-damaged', what: /same token id/ },
  { name: 'a CA key from another file', text: dump({ ...doc(), certificateAuthorities: { ...doc().certificateAuthorities, etcd: { ...doc().certificateAuthorities.etcd, privateKey: other.certificateAuthorities.etcd.privateKey } } }), code: 'secrets-damaged', what: /certificateAuthorities\.etcd\.privateKey is not the key of its certificate/ },
  { name: 'swapped CAs', text: dump({ ...doc(), certificateAuthorities: { ...doc().certificateAuthorities, cluster: doc().certificateAuthorities.etcd } }), code: 'secrets-damaged', what: /certificateAuthorities\.cluster\.certificate is not the CA "kubernetes"/ },
  { name: 'a mismatched service-account key', text: dump({ ...doc(), serviceAccount: { ...doc().serviceAccount, publicKey: other.serviceAccount.publicKey } }), code: 'secrets-damaged', what: /serviceAccount\.publicKey is not the public half/ },
  { name: 'garbage in a key', text: good.replace(/(privateKey: \|\n\s+-----BEGIN PRIVATE KEY-----\n\s+)\S+/, '$1AAAA'), code: 'secrets-damaged', what: /does not parse as a PRIVATE KEY/ },
  { name: 'generations not a mapping', text: dump({ ...doc(), generations: [2] }), code: 'secrets-damaged', what: /generations is not a mapping/ },
  { name: 'a generation of 1 (the default, never written)', text: dump({ ...doc(), generations: { work01: 1 } }), code: 'secrets-damaged', what: /generations\.work01 is not a whole number from 2 up/ },
  { name: 'a fractional generation', text: dump({ ...doc(), generations: { work01: 2.5 } }), code: 'secrets-damaged', what: /generations\.work01 is not a whole number/ },
  { name: 'a generation as text', text: dump({ ...doc(), generations: { work01: '2' } }), code: 'secrets-damaged', what: /generations\.work01 is not a whole number/ },
  { name: 'empty', text: '', code: 'secrets-damaged', what: /not a mapping/ },
  { name: 'not YAML', text: 'bootstrapTokens: [unclosed\n', code: 'secrets-unreadable', what: /not YAML/ },
  { name: 'a list', text: '- a\n- b\n', code: 'secrets-damaged', what: /not a mapping/ },
  { name: 'without apiVersion', text: good.replace(/^apiVersion: .*\n/m, ''), code: 'secrets-damaged', what: /apiVersion is missing/ },
  { name: 'another version', text: good.replace('apiVersion: pi-seed/v2', 'apiVersion: pi-seed/v9'), code: 'secrets-foreign', what: /apiVersion "pi-seed\/v9", not pi-seed\/v2/ },
  { name: 'another kind', text: good.replace('kind: ClusterSecrets', 'kind: Secret'), code: 'secrets-foreign', what: /kind "Secret"/ },
  { name: 'v1 file (clusterKey only)', text: `clusterKey: ${'ab'.repeat(32)}\n`, code: 'secrets-old-format', what: /old secrets file \(pi-seed\/v1, one clusterKey\) for the join service/ },
  { name: 'v1 file with apiVersion', text: `apiVersion: pi-seed/v1\nkind: ClusterSecrets\nclusterKey: ${'ab'.repeat(32)}\n`, code: 'secrets-old-format', what: /old secrets file/ },
];

for (const damage of DAMAGE) {
  test(`parseSecrets: ${damage.name} is ${damage.code}`, () => {
    try {
      parseSecrets('/x/cluster.secrets.yaml', damage.text);
      assert.unreachable('accepted');
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      assert.is(err.problem.code, damage.code);
      assert.match(err.problem.message, damage.what);
      assert.ok(err.problem.message.includes('/x/cluster.secrets.yaml'));
      assert.ok(err.problem.hint);
    }
  });
}

test('the v1 message says what to do: move it aside, build, write every card again (new CA)', () => {
  try {
    parseSecrets('s', `clusterKey: ${'ab'.repeat(32)}\n`);
  } catch (err) {
    const hint = (err as ProblemError).problem.hint!;
    assert.match(hint, /move it aside/);
    assert.match(hint, /pi-seed build/);
    assert.match(hint, /new CA/);
    assert.match(hint, /every card/);
    return;
  }
  assert.unreachable();
});

// --- through the CLI ---------------------------------------------------------------------------

function workspace(): { dir: string; config: string; out: string } {
  const dir = tempDir('pi-seed-secrets-');
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  return { dir, config, out: join(dir, 'out') };
}

const ws = workspace();
const secretsPath = join(ws.dir, 'cluster.secrets.yaml');
const first = await runCli(['build', '--config', ws.config, '--out', ws.out]);

test('the first build creates the file, 0600, and says so; the next build reuses it unchanged', async () => {
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, /created .*cluster\.secrets\.yaml \(mode 0600\)/);
  assert.is(statSync(secretsPath).mode & 0o777, 0o600);
  const text = readFileSync(secretsPath, 'utf8');
  const again = await runCli(['build', '--config', ws.config, '--out', ws.out]);
  assert.is(again.code, 0, again.stderr);
  assert.not.match(again.stderr, /created|added a join token/);
  assert.is(readFileSync(secretsPath, 'utf8'), text);
});

test('a secrets file readable by others is made 0600 when read', async () => {
  chmodSync(secretsPath, 0o644);
  const result = await runCli(['build', '--config', ws.config, '--out', ws.out]);
  assert.is(result.code, 0, result.stderr);
  assert.is(statSync(secretsPath).mode & 0o777, 0o600);
});

test('a new worker gets a token; everything already there stays byte for byte; a removed worker keeps its token', async () => {
  const w = workspace();
  assert.is((await runCli(['build', '--config', w.config, '--out', w.out])).code, 0);
  const path = join(w.dir, 'cluster.secrets.yaml');
  const before = parseSecrets(path, readFileSync(path, 'utf8'));
  const withWork03 = readFileSync(w.config, 'utf8').replace(/(\n {2}- name: work02\n(?: {4}.*\n)+)/, '$1  - name: work03\n    role: worker\n    address: 192.168.1.104\n    board: pi4\n    memory: 4GB\n');
  assert.match(withWork03, /work03/);
  writeFileSync(w.config, withWork03.replace(/\n {2}- name: work01\n(?: {4}.*\n)+/, '\n'));
  const result = await runCli(['build', '--config', w.config, '--out', w.out]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /added a join token for work03 to /);
  const after = parseSecrets(path, readFileSync(path, 'utf8'));
  assert.equal(after.certificateAuthorities, before.certificateAuthorities);
  assert.equal(after.serviceAccount, before.serviceAccount);
  assert.is(after.bootstrapTokens.work01, before.bootstrapTokens.work01, 'kept for day 2 to clean up');
  assert.is(after.bootstrapTokens.work02, before.bootstrapTokens.work02);
  assert.match(after.bootstrapTokens.work03!, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.is(readFileSync(join(w.out, 'work03', 'pi-seed-node.key'), 'utf8').split('==> token <==\n')[1], `${after.bootstrapTokens.work03}\n`);
});

test('loadOrCreateSecrets: null without a file unless asked to create; tokens for new workers stay in memory without create', async () => {
  const w = workspace();
  assert.is(await loadOrCreateSecrets(w.config, seededRandom('l'), false, WORKERS, NOW), null);
  const made = (await loadOrCreateSecrets(w.config, seededRandom('l'), true, WORKERS, NOW))!;
  assert.ok(made.created);
  const text = readFileSync(made.path, 'utf8');
  const dry = (await loadOrCreateSecrets(w.config, seededRandom('m'), false, [...WORKERS, 'work09'], NOW))!;
  assert.equal(dry.added, ['work09']);
  assert.ok(dry.secrets.bootstrapTokens.work09);
  assert.is(readFileSync(made.path, 'utf8'), text, 'nothing written');
});

const card = join(ws.dir, 'system-boot');
mkdirSync(card);
writeFileSync(join(card, 'config.txt'), '[all]\ncmdline=cmdline.txt\n');
writeFileSync(join(card, 'cmdline.txt'), 'console=tty1 root=LABEL=writable rootwait\n');
const goodFile = readFileSync(secretsPath, 'utf8');
const COMMANDS: Array<[string, string[]]> = [
  ['build', ['build', '--config', ws.config, '--out', ws.out]],
  ['build --tar', ['build', '--config', ws.config, '--tar', join(ws.dir, 'seeds.tar')]],
  ['write', ['write', '--config', ws.config, '--node', 'mas01', '--to', card]],
  ['bake', ['bake', '--config', ws.config, '--image', join(ws.dir, 'missing.img'), '--all']],
  ['status', ['status', '--config', ws.config, '--server', '127.0.0.1:1']],
  ['kubeconfig', ['kubeconfig', '--config', ws.config, '--out', join(ws.dir, 'kube', 'config')]],
];

for (const damage of DAMAGE.filter((d) => /truncated in a cert|v1 file \(|another version|not YAML|mismatched/.test(d.name))) {
  test(`a secrets file ${damage.name}: every command reports it and writes nothing`, async () => {
    writeFileSync(secretsPath, damage.text, { mode: 0o600 });
    const before = readTree(ws.dir);
    for (const [name, args] of COMMANDS) {
      const result = await runCli(args);
      assert.is(result.code, 1, `${name}: exit ${result.code}\n${result.stderr}`);
      assert.match(result.stderr, new RegExp(`(^|\\n)error\\[${damage.code}\\]: `), `${name}: ${result.stderr}`);
      assert.ok(result.stderr.includes(secretsPath), `${name} names the file: ${result.stderr}`);
      assert.match(result.stderr, damage.what, name);
      assert.match(result.stderr, /= hint: /, name);
    }
    assert.equal(readTree(ws.dir), before, 'nothing was written');
    assert.not.ok(existsSync(join(ws.dir, 'seeds.tar')));
    writeFileSync(secretsPath, goodFile, { mode: 0o600 });
  });
}

// --- the node key file bundle --------------------------------------------------------------------

test('a bundle reads back as written: node, names and contents', () => {
  const entries = [
    { name: 'pki/ca.crt', content: secrets.certificateAuthorities.cluster.certificate },
    { name: 'tokens', content: '' },
    { name: 'token', content: 'abcdef.0123456789abcdef\n' },
  ];
  const text = formatSecretBundle('mas01', entries);
  assert.match(text, /^# pi-seed secrets for mas01\. .*\n(#.*\n)*pi-seed-node-secrets: v2\n==> pki\/ca\.crt <==\n-----BEGIN CERTIFICATE-----\n/);
  assert.equal(parseSecretBundle(text), { node: 'mas01', entries });
});

const BAD_ENTRIES: Array<[string, { name: string; content: string }, RegExp]> = [
  ['a parent path', { name: '../etc/passwd', content: 'x\n' }, /not a safe relative path/],
  ['an absolute path', { name: '/etc/passwd', content: 'x\n' }, /not a safe relative path/],
  ['an empty segment', { name: 'pki//ca.crt', content: 'x\n' }, /not a safe relative path/],
  ['a dot segment', { name: 'pki/./ca.crt', content: 'x\n' }, /not a safe relative path/],
  ['a space', { name: 'pki/ca crt', content: 'x\n' }, /not a safe relative path/],
  ['no final newline', { name: 'token', content: 'abc' }, /does not end with a newline/],
  ['a header inside', { name: 'token', content: 'a\n==> other <==\nb\n' }, /looks like an entry header/],
  ['a carriage return', { name: 'token', content: 'a\r\n' }, /carriage return/],
];

for (const [what, entry, message] of BAD_ENTRIES) {
  test(`formatSecretBundle refuses an entry with ${what}`, () => {
    assert.throws(() => formatSecretBundle('work01', [entry]), message);
  });
}

test('formatSecretBundle refuses a name twice; parseSecretBundle refuses a bundle without its header or with text before the first entry', () => {
  assert.throws(() => formatSecretBundle('work01', [{ name: 'token', content: 'a\n' }, { name: 'token', content: 'b\n' }]), /twice/);
  assert.throws(() => parseSecretBundle('==> token <==\nabc\n'), /expected a comment/);
  assert.throws(() => parseSecretBundle('# x\npi-seed-node-secrets: v2\nstray\n==> token <==\na\n'), /expected "==> NAME <=="/);
  assert.throws(() => parseSecretBundle('# x\npi-seed-node-secrets: v2\n==> ../x <==\na\n'), /not a safe relative path/);
});

test('a worker\'s key file holds its token only; the control plane\'s the PKI and the token ids, never a token secret', () => {
  const work01 = readFileSync(join(ws.out, 'work01', 'pi-seed-node.key'), 'utf8');
  const stored = parseSecrets(secretsPath, goodFile);
  assert.equal(parseSecretBundle(work01).entries, [{ name: 'token', content: `${stored.bootstrapTokens.work01}\n` }]);
  const mas01 = parseSecretBundle(readFileSync(join(ws.out, 'mas01', 'pi-seed-node.key'), 'utf8'));
  const names = mas01.entries.map((e) => e.name);
  for (const f of pkiFiles(stored)) assert.ok(names.includes(f.path), f.path);
  assert.is(mas01.entries.find((e) => e.name === 'tokens')!.content, `work01 ${tokenId(stored.bootstrapTokens.work01!)}\nwork02 ${tokenId(stored.bootstrapTokens.work02!)}\n`);
  assert.is(statSync(join(ws.out, 'mas01', 'pi-seed-node.key')).mode & 0o777, 0o600);
  // The public files carry the CA certificate at most, never a key or a token.
  for (const [path, bytes] of readTree(ws.out)) {
    if (path.endsWith('pi-seed-node.key')) continue;
    const text = bytes.toString('utf8');
    assert.not.match(text, /PRIVATE KEY/, path);
    for (const token of Object.values(stored.bootstrapTokens)) assert.not.ok(text.includes(token.split('.')[1]!), `${path} holds a token secret`);
  }
});

test.run();
