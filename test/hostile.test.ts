// Hostile and broken input: each gets a clear error, exit status 1 or 2, no stack trace, and
// nothing written; and no value from cluster.yaml can reach a shell script unquoted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { planCluster } from '../src/plan/plan.js';
import { bootstrapScript } from '../src/render/node-files.js';
import { packageRoot } from '../src/paths.js';
import { validateText } from '../src/validate/index.js';
import { SEED_CONFIG, runCli, tempDir, testWithTools } from './helpers.js';

async function expectRefused(name: string, content: string | Buffer, extraArgs: string[] = [], codes = [1]) {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, content);
  const out = join(dir, 'out');
  const result = await runCli(['build', '--config', config, '--out', out, ...extraArgs]);
  assert.ok(codes.includes(result.code), `${name}: exit ${result.code}\n${result.stderr}`);
  assert.match(result.stderr, /error/, `${name}: says error`);
  assert.not.match(result.stderr, /\n\s+at .*\.js:\d+/, `${name}: no stack trace`);
  assert.not.ok(existsSync(out), `${name}: wrote output`);
  assert.equal(readdirSync(dir).sort(), ['cluster.yaml'], `${name}: wrote something beside the config`);
  return result;
}

const seed = readFileSync(SEED_CONFIG, 'utf8');

test('empty file', async () => {
  assert.match((await expectRefused('empty', '')).stderr, /empty-file/);
});

test('a YAML list at the top', async () => {
  assert.match((await expectRefused('list', '- apiVersion: pi-seed/v1\n')).stderr, /not-a-mapping/);
});

test('a scalar at the top', async () => {
  assert.match((await expectRefused('scalar', 'hello\n')).stderr, /not-a-mapping/);
});

test('binary garbage', async () => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
  assert.match((await expectRefused('binary', garbage)).stderr, /binary-file|not-utf8/);
});

test('invalid UTF-8 without NUL bytes', async () => {
  assert.match((await expectRefused('latin1', Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]))).stderr, /not-utf8/);
});

test('a 50 MB file is refused before parsing', async () => {
  const big = Buffer.alloc(50 * 1024 * 1024, 'a: b\n');
  const started = process.hrtime.bigint();
  assert.match((await expectRefused('50MB', big)).stderr, /file-too-large/);
  // Not a timing assertion: a sanity bound that proves it was not parsed (parsing takes minutes).
  assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 30);
});

test('YAML alias bomb', async () => {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n') + '\n';
  assert.match((await expectRefused('alias bomb', bomb)).stderr, /yaml-syntax/);
});

test('duplicate keys', async () => {
  assert.match((await expectRefused('duplicate', seed.replace('cluster:\n', 'cluster:\n  name: x\n'))).stderr, /duplicate-key/);
});

test('wrong types everywhere', async () => {
  const wrong = `apiVersion: 1\ncluster: []\nkubernetes: 3\nnetwork: "x"\nos: [1]\nadmin: true\njoin: {port: "80"}\nnodes: {a: 1}\naddons: [demo]\n`;
  const result = await expectRefused('types', wrong);
  for (const path of ['$.apiVersion', '$.cluster', '$.kubernetes', '$.network', '$.os', '$.admin', '$.join.port', '$.nodes', '$.addons']) {
    assert.ok(result.stderr.includes(`at ${path}\n`), `no error at ${path}:\n${result.stderr}`);
  }
});

test('shell metacharacters, quotes, newlines and non-ASCII in values are refused where they matter', async () => {
  const cases: Array<[string, string]> = [
    ['name: mas01', "name: mas01'; reboot; '"],
    ['name: mas01', 'name: "$(reboot)"'],
    ['name: home', 'name: "ho\\nme"'],
    ['domain: example.com', 'domain: "exämple.com"'],
    ['timezone: Asia/Tokyo', 'timezone: "Asia/Tokyo; reboot"'],
    ['layout: jp', 'layout: "jp`reboot`"'],
    ['name: ubuntu', 'name: "root\\nx"'],
    ['interface: eth0', 'interface: "eth0 && reboot"'],
    ['locale: en_US.UTF-8', 'locale: "en_US.UTF-8\'"'],
    ['addresses: 192.168.1.210-192.168.1.215', 'addresses: "192.168.1.210-192.168.1.215;reboot"'],
  ];
  for (const [from, to] of cases) {
    assert.ok(seed.includes(from), from);
    await expectRefused(to, seed.replace(from, to));
  }
});

test('every value reaches the bootstrap script through the quoting helper (static check)', () => {
  for (const file of readdirSync(join(packageRoot(), 'templates')).filter((f) => f.endsWith('.sh.hbs') || f === 'keyboard.hbs')) {
    const text = readFileSync(join(packageRoot(), 'templates', file), 'utf8');
    // Block helpers ({{#if}}, {{else}}, {{/if}}) choose lines; they interpolate nothing.
    const unquoted = [...text.matchAll(/\{\{(?!sh |comment )([^}]*)\}\}/g)].filter((m) => !/^#|^\/|^else$/.test(m[1]!));
    assert.equal(unquoted.map((m) => m[0]), [], `${file} interpolates without the sh or comment helper`);
  }
});

testWithTools('hostile values that bypass validation still reach the script literally (bash reads them back)', ['bash'], () => {
  const spec = validateText('cluster.yaml', seed).spec!;
  const plan = planCluster(spec);
  const evil = ["a'b", '$(touch /tmp/pi-seed-pwned)', '`id`', 'x\ny', '"; reboot; "', '\\', '$HOME', '* ?[]', 'ümlaut', "'"];
  for (const value of evil) {
    // The init node's script: it carries every value (a worker's has no ADMIN_USER or POD_CIDR).
    const node = { ...plan.nodes[0]!, name: value, role: 'control-plane' as const };
    const hostilePlan = { ...plan, initNode: node, controlPlanes: [node], admin: { ...plan.admin, name: value }, kubernetes: { ...plan.kubernetes, minor: value, podCIDR: value } };
    const script = bootstrapScript(hostilePlan, node);
    const config = script.slice(0, script.indexOf('# --- paths'));
    const probe = `${config}\nprintf '%s\\0' "$NODE_NAME" "$NODE_ROLE" "$ADMIN_USER" "$KUBERNETES_MINOR" "$POD_CIDR"`;
    const result = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
    assert.equal(result.stdout.split('\0').slice(0, 5), [value, 'control-plane', value, value, value]);
  }
  assert.not.ok(existsSync('/tmp/pi-seed-pwned'));
});

test('--out with ".." is refused', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, seed);
  const result = await runCli(['build', '--config', config, '--out', `${dir}/a/../out`]);
  assert.is(result.code, 2);
  assert.match(result.stderr, /unsafe-output-path/);
  assert.not.ok(existsSync(join(dir, 'out')));
});

test('--out through a symbolic link is refused, and so is a linked node folder', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, seed);
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  const viaLink = await runCli(['build', '--config', config, '--out', join(dir, 'link')]);
  assert.is(viaLink.code, 2);
  assert.match(viaLink.stderr, /symbolic link/);
  assert.equal(readdirSync(join(dir, 'real')), []);
  mkdirSync(join(dir, 'out'));
  symlinkSync(join(dir, 'real'), join(dir, 'out', 'mas01'));
  const nodeLink = await runCli(['build', '--config', config, '--out', join(dir, 'out')]);
  assert.is(nodeLink.code, 2);
  assert.equal(readdirSync(join(dir, 'real')), []);
});

test('--node with a path is an unknown node', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  writeFileSync(config, seed);
  for (const node of ['../mas01', 'mas01/..', '/etc']) {
    const result = await runCli(['build', '--config', config, '--out', join(dir, 'out'), '--node', node]);
    assert.is(result.code, 1, node);
    assert.match(result.stderr, /unknown-node/);
    assert.not.ok(existsSync(join(dir, 'out')));
  }
});

test('a config that is a folder, or unreadable, is a clear error', async () => {
  const dir = tempDir();
  const result = await runCli(['validate', '--config', dir]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /not a regular file/);
});

test.run();
