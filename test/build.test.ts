// The build command end to end: the committed example output is current, builds are
// deterministic and atomic, bad input writes nothing, exit codes follow the contract.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport } from '../src/commands/build.js';
import { parseSecretBundle, readSecrets } from '../src/secrets/cluster-secrets.js';
import { REPO, SEED_CONFIG, builtSeedWorkspace, readTree, runCli, seedWorkspace, tempDir, userDataWriteFiles } from './helpers.js';

test('the committed out/ is what the example builds to (golden files)', async () => {
  const result = await runCli(['diff', '--config', join(REPO, 'cluster.yaml'), '--out', join(REPO, 'out')]);
  assert.is(result.code, 0, `out/ is stale; run \`npm run example\` and commit out/:\n${result.stdout}${result.stderr}`);
});

test('two builds give byte-identical output', async () => {
  const { dir, config } = seedWorkspace();
  assert.is((await runCli(['build', '--config', config, '--out', join(dir, 'a')])).code, 0);
  assert.is((await runCli(['build', '--config', config, '--out', join(dir, 'b')])).code, 0);
  const a = readTree(join(dir, 'a'));
  const b = readTree(join(dir, 'b'));
  assert.equal([...a.keys()], [...b.keys()]);
  for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path)!), `${path} differs between builds`);
  assert.equal(
    [...a.keys()].filter((p) => !p.endsWith('pi-seed-node.key')),
    ['.gitignore', 'mas01/cmdline.txt', 'mas01/meta-data', 'mas01/network-config', 'mas01/user-data', 'ssh_config', 'work01/cmdline.txt', 'work01/meta-data', 'work01/network-config', 'work01/user-data', 'work02/cmdline.txt', 'work02/meta-data', 'work02/network-config', 'work02/user-data'],
  );
});

test('each role carries its own half: no join service, no Python; secrets only in the key files', async () => {
  const { out, config } = await builtSeedWorkspace();
  const secrets = readSecrets(join(config, '..', 'cluster.secrets.yaml'));
  const files = (node: string) => new Map(userDataWriteFiles(join(out, node, 'user-data')).map((f) => [f.path, f.content]));
  const master = files('mas01');
  for (const path of ['/etc/pi-seed/kubeadm-cluster.yaml', '/etc/pi-seed/manifests/pi-seed-namespace.yaml', '/usr/local/sbin/pi-seed-nodes', '/etc/systemd/system/pi-seed-nodes.timer']) assert.ok(master.has(path), `mas01 lacks ${path}`);
  assert.match(master.get('/usr/local/sbin/pi-seed-bootstrap')!, /^publish_join_scripts\(\) \{$/m);
  assert.not.match(master.get('/usr/local/sbin/pi-seed-bootstrap')!, /^fetch_join_script\(\) \{$/m);
  for (const worker of ['work01', 'work02']) {
    const w = files(worker);
    assert.is(w.get('/etc/pi-seed/cluster-ca.crt'), secrets.certificateAuthorities.cluster.certificate, `${worker} pins the cluster CA`);
    assert.match(w.get('/usr/local/sbin/pi-seed-bootstrap')!, /^fetch_join_script\(\) \{$/m);
    assert.not.match(w.get('/usr/local/sbin/pi-seed-bootstrap')!, /^publish_join_scripts\(\) \{$/m, `${worker} carries the control plane's half`);
    assert.not.ok([...w.keys()].some((p) => p.includes('kubeadm') || p.includes('manifests') || p.includes('pi-seed-nodes')), `${worker} carries control plane files`);
    // Its key file: its own token, nothing else.
    const key = parseSecretBundle(readFileSync(join(out, worker, 'pi-seed-node.key'), 'utf8'));
    assert.equal(key.entries, [{ name: 'token', content: `${secrets.bootstrapTokens[worker]}\n` }]);
  }
  for (const node of ['mas01', 'work01', 'work02']) {
    const text = readFileSync(join(out, node, 'user-data'), 'utf8');
    assert.not.match(text, /python|pi_seed_join|join\.json|PRIVATE KEY/i, `${node}: user-data`);
    for (const token of Object.values(secrets.bootstrapTokens)) assert.not.ok(text.includes(token.split('.')[1]!), `${node}: a token secret in user-data`);
  }
  const cpKey = parseSecretBundle(readFileSync(join(out, 'mas01', 'pi-seed-node.key'), 'utf8'));
  assert.equal(cpKey.entries.map((e) => e.name), ['pki/ca.crt', 'pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key', 'pki/etcd/ca.crt', 'pki/etcd/ca.key', 'pki/sa.key', 'pki/sa.pub', 'kubeadm-init.yaml', 'cluster-access.yaml', 'tokens']);
  assert.match(cpKey.entries.find((e) => e.name === 'kubeadm-init.yaml')!.content, new RegExp(`token: ${secrets.bootstrapTokens.work01!.replace('.', '\\.')}\n\\s+description: pi-seed join token for work01`));
});

test('the build report names what changed, says when nothing did, and stays one line for big clusters', async () => {
  const { dir, config } = seedWorkspace();
  const out = join(dir, 'o');
  const first = await runCli(['build', '--config', config, '--out', out]);
  assert.is(first.stderr.split('\n').filter((l) => l.startsWith('wrote')).join('\n'), `wrote ${out}/.gitignore, ${out}/mas01/, ${out}/ssh_config, ${out}/work01/, ${out}/work02/`);
  const again = await runCli(['build', '--config', config, '--out', out]);
  assert.match(again.stderr, `${out}/: up to date, nothing written`);
  writeFileSync(join(out, 'work02', 'cmdline.txt'), 'edited by hand\n');
  const repaired = await runCli(['build', '--config', config, '--out', out]);
  assert.match(repaired.stderr, `wrote ${out}/work02/ (4 already up to date)`);
  const many = { changed: Array.from({ length: 12 }, (_, i) => ({ name: `n${i}`, folder: true })), unchanged: 988 };
  assert.is(writeReport('out', many), 'wrote 12 entries in out/: out/n0/, out/n1/, out/n2/ and 9 more (988 already up to date)\n');
});

test('every generated text file is LF-only and ends with a newline', async () => {
  const { dir, config } = seedWorkspace();
  await runCli(['build', '--config', config, '--out', join(dir, 'o')]);
  for (const [path, bytes] of readTree(join(dir, 'o'))) {
    const text = bytes.toString('utf8');
    assert.not.ok(text.includes('\r'), `${path} has CR`);
    assert.ok(text.endsWith('\n'), `${path} lacks a final newline`);
    assert.not.ok(/[ \t]+\n/.test(text), `${path} has trailing white space`);
  }
});

test('secrets: created once with mode 0600, reused, kept out of every diffable file', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  const first = await runCli(['build', '--config', config, '--out', join(dir, 'o1')]);
  assert.is(first.code, 0);
  const secretsPath = join(dir, 'cluster.secrets.yaml');
  assert.is(statSync(secretsPath).mode & 0o777, 0o600);
  const secrets = readSecrets(secretsPath);
  assert.not.ok(secrets.publicTestKeys, 'a real build makes real secrets');
  assert.equal(Object.keys(secrets.bootstrapTokens), ['work01', 'work02']);
  await runCli(['build', '--config', config, '--out', join(dir, 'o2')]);
  assert.ok(readTree(join(dir, 'o1')).get('mas01/user-data')!.equals(readTree(join(dir, 'o2')).get('mas01/user-data')!));
  assert.is(readFileSync(join(dir, 'o2', 'mas01', 'pi-seed-node.key'), 'utf8'), readFileSync(join(dir, 'o1', 'mas01', 'pi-seed-node.key'), 'utf8'));
  for (const [path, bytes] of readTree(join(dir, 'o1'))) {
    const text = bytes.toString('utf8');
    if (path.endsWith('pi-seed-node.key')) {
      assert.is(statSync(join(dir, 'o1', path)).mode & 0o777, 0o600, `${path} must be 0600`);
      continue;
    }
    assert.not.match(text, /PRIVATE KEY/, `${path} contains a private key`);
    for (const [worker, token] of Object.entries(secrets.bootstrapTokens)) assert.not.ok(text.includes(token.split('.')[1]!), `${path} contains ${worker}'s token`);
  }
  assert.match(readFileSync(join(dir, 'o1', '.gitignore'), 'utf8'), /^\*\/pi-seed-node\.key$/m);
  // Each worker's key file holds its own token only; the control plane's holds the CA keys.
  const entries = (node: string) => parseSecretBundle(readFileSync(join(dir, 'o1', node, 'pi-seed-node.key'), 'utf8')).entries;
  assert.is(entries('mas01').find((e) => e.name === 'pki/ca.key')!.content, `${secrets.certificateAuthorities.cluster.privateKey.trimEnd()}\n`);
  assert.equal(entries('work01'), [{ name: 'token', content: `${secrets.bootstrapTokens.work01}\n` }]);
  assert.equal(entries('work02'), [{ name: 'token', content: `${secrets.bootstrapTokens.work02}\n` }]);
  assert.is.not(secrets.bootstrapTokens.work01, secrets.bootstrapTokens.work02);
});

test('--node builds only that node and leaves the others alone', async () => {
  const { dir, config } = seedWorkspace();
  const out = join(dir, 'o');
  const result = await runCli(['build', '--config', config, '--out', out, '--node', 'work01']);
  assert.is(result.code, 0, result.stderr);
  assert.equal(readdirSync(out).sort(), ['.gitignore', 'ssh_config', 'work01']);
});

test('an invalid config writes nothing and exits 1', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, readFileSync(SEED_CONFIG, 'utf8').replace('address: 192.168.1.102', 'address: 192.168.1.101'));
  const out = join(dir, 'out');
  const result = await runCli(['build', '--config', config, '--out', out]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /duplicate-address/);
  assert.match(result.stderr, /cluster\.yaml:\d+:\d+/);
  assert.not.ok(existsSync(out), 'nothing written');
  assert.not.ok(existsSync(join(dir, 'cluster.secrets.yaml')), 'no secrets created for an invalid config');
});

test('an invalid config leaves an existing output untouched', async () => {
  const { dir, config } = seedWorkspace();
  const out = join(dir, 'o');
  await runCli(['build', '--config', config, '--out', out]);
  const before = readTree(out);
  writeFileSync(config, readFileSync(config, 'utf8').replace('subnet: 192.168.1.0/24', 'subnet: 192.168.1.0/33'));
  assert.is((await runCli(['build', '--config', config, '--out', out])).code, 1);
  assert.equal(readTree(out), before);
});

test('usage errors exit 2; unknown nodes exit 1 with a suggestion', async () => {
  const { dir, config } = seedWorkspace();
  assert.is((await runCli(['build', '--no-such-flag'])).code, 2);
  assert.is((await runCli([])).code, 2);
  assert.is((await runCli(['build', '--config', config, '--all', '--node', 'mas01', '--out', join(dir, 'o')])).code, 2);
  const unknown = await runCli(['build', '--config', config, '--node', 'mas1', '--out', join(dir, 'o')]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /did you mean "mas01"/);
  assert.not.ok(existsSync(join(dir, 'o')));
});

test('a missing config file is a clear error, not a stack trace', async () => {
  const dir = tempDir();
  const result = await runCli(['validate', '--config', join(dir, 'nope.yaml')]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /cannot read .*nope\.yaml \(ENOENT\)/);
  assert.match(result.stderr, /pi-seed init/);
  assert.not.match(result.stderr, /\n\s+at /);
});

test('diff shows a unified diff and exits 1 when the output is stale; build fixes it', async () => {
  const { dir, config } = seedWorkspace();
  const out = join(dir, 'o');
  await runCli(['build', '--config', config, '--out', out]);
  writeFileSync(config, readFileSync(config, 'utf8').replace('timezone: Asia/Tokyo', 'timezone: Europe/Paris'));
  const stale = await runCli(['diff', '--config', config, '--out', out]);
  assert.is(stale.code, 1);
  assert.match(stale.stdout, /^-timezone: Asia\/Tokyo$/m);
  assert.match(stale.stdout, /^\+timezone: Europe\/Paris$/m);
  // The instance-id is the board's identity, not a digest of its files (docs/day-2.md): copying
  // the new files onto a running board must not re-run cloud-init's first boot.
  assert.not.match(stale.stdout, /instance-id/, 'an edit of cluster.yaml keeps every instance-id');
  assert.match(stale.stderr, /would change/);
  const check = await runCli(['build', '--check', '--config', config, '--out', out]);
  assert.is(check.code, 1);
  assert.is((await runCli(['build', '--config', config, '--out', out])).code, 0);
  assert.is((await runCli(['diff', '--config', config, '--out', out])).code, 0);
});

test('removing a node removes its folder on a full build, and diff reports it first', async () => {
  const { dir, config } = seedWorkspace();
  const out = join(dir, 'o');
  await runCli(['build', '--config', config, '--out', out]);
  mkdirSync(join(out, 'notes'));
  writeFileSync(join(out, 'notes', 'mine.txt'), 'kept\n');
  const text = readFileSync(config, 'utf8');
  writeFileSync(config, text.slice(0, text.indexOf('  - name: work02')) + text.slice(text.indexOf('addons:')));
  const diff = await runCli(['diff', '--config', config, '--out', out]);
  assert.is(diff.code, 1);
  assert.match(diff.stdout, /removed: .*work02/);
  assert.is((await runCli(['build', '--config', config, '--out', out])).code, 0);
  assert.not.ok(existsSync(join(out, 'work02')));
  assert.ok(existsSync(join(out, 'notes', 'mine.txt')), 'folders pi-seed did not write are kept');
  assert.not.match(readFileSync(join(out, 'mas01', 'user-data'), 'utf8'), /work02/);
});

test('init writes a valid starter, refuses to overwrite without --force, ignores secrets in git', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  assert.is((await runCli(['init', '--config', config])).code, 0);
  const validate = await runCli(['validate', '--config', config, '--strict']);
  assert.is(validate.code, 0, validate.stderr);
  assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^cluster\.secrets\.yaml$/m);
  writeFileSync(config, 'mine\n');
  const again = await runCli(['init', '--config', config]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /--force/);
  assert.is(readFileSync(config, 'utf8'), 'mine\n');
  assert.is((await runCli(['init', '--config', config, '--force'])).code, 0);
  assert.match(readFileSync(config, 'utf8'), /apiVersion: pi-seed\/v1/);
  assert.is(readFileSync(join(dir, '.gitignore'), 'utf8').match(/cluster\.secrets\.yaml/g)!.length, 1, 'listed once');
});

test('--strict turns warnings into errors', async () => {
  const relaxed = await runCli(['validate', '--config', SEED_CONFIG]);
  assert.is(relaxed.code, 0);
  assert.match(relaxed.stderr, /warning\[small-worker\]/);
  const strict = await runCli(['validate', '--config', SEED_CONFIG, '--strict']);
  assert.is(strict.code, 1);
  assert.match(strict.stderr, /error\[small-worker\]/);
});

test.run();
