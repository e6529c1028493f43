// A damaged or foreign cluster.secrets.yaml is reported like any other problem by every command
// that reads it: the file, what is wrong, what to do; exit status 1; no stack trace; nothing written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, builtSeedWorkspace, readTree, runCli } from './helpers.js';

const { dir, config, out } = await builtSeedWorkspace('pi-seed-secrets-');
const secretsPath = join(dir, 'cluster.secrets.yaml');
const good = readFileSync(secretsPath, 'utf8');
assert.match(good, /^clusterKey: [0-9a-f]{64}$/m);
const card = join(dir, 'system-boot');
mkdirSync(card);
writeFileSync(join(card, 'config.txt'), '[all]\ncmdline=cmdline.txt\n');
writeFileSync(join(card, 'cmdline.txt'), 'console=tty1 root=LABEL=writable rootwait\n');

const DAMAGE: Array<{ name: string; text: string; code: string; what: RegExp }> = [
  { name: 'truncated mid-key', text: good.slice(0, good.indexOf('clusterKey: ') + 20), code: 'secrets-damaged', what: /clusterKey must be 64 lower-case hex digits/ },
  { name: 'edited key', text: good.replace(/clusterKey: .*/, 'clusterKey: not-a-key'), code: 'secrets-damaged', what: /clusterKey must be/ },
  { name: 'empty', text: '', code: 'secrets-damaged', what: /not a mapping/ },
  { name: 'not YAML', text: 'clusterKey: [unclosed\n', code: 'secrets-unreadable', what: /not YAML/ },
  { name: 'a list', text: '- a\n- b\n', code: 'secrets-damaged', what: /not a mapping/ },
  { name: 'another version', text: `apiVersion: pi-seed/v9\nkind: ClusterSecrets\n${good}`, code: 'secrets-foreign', what: /apiVersion "pi-seed\/v9", not pi-seed\/v1/ },
  { name: 'another kind', text: `apiVersion: pi-seed/v1\nkind: Secret\n${good}`, code: 'secrets-foreign', what: /kind "Secret"/ },
];

const COMMANDS: Array<[string, string[]]> = [
  ['build', ['build', '--config', config, '--out', out]],
  ['build --tar', ['build', '--config', config, '--tar', join(dir, 'seeds.tar')]],
  ['write', ['write', '--config', config, '--node', 'mas01', '--to', card]],
  ['bake', ['bake', '--config', config, '--image', join(dir, 'missing.img'), '--all']],
  ['status', ['status', '--config', config]],
];

for (const damage of DAMAGE) {
  test(`a ${damage.name} secrets file: every command reports it and writes nothing`, async () => {
    writeFileSync(secretsPath, damage.text, { mode: 0o600 });
    const before = readTree(dir);
    for (const [name, args] of COMMANDS) {
      const result = await runCli(args);
      assert.is(result.code, 1, `${name}: exit ${result.code}\n${result.stderr}`);
      assert.match(result.stderr, new RegExp(`(^|\\n)error\\[${damage.code}\\]: `), `${name}: ${result.stderr}`);
      assert.ok(result.stderr.includes(secretsPath), `${name} names the file: ${result.stderr}`);
      assert.match(result.stderr, damage.what, name);
      assert.match(result.stderr, /= hint: /, name);
    }
    assert.equal(readTree(dir), before, 'nothing was written');
    assert.not.ok(existsSync(join(dir, 'seeds.tar')));
  });
}

test('the installed CLI prints the same one problem, with no stack trace', () => {
  writeFileSync(secretsPath, good.slice(0, 40), { mode: 0o600 });
  const result = spawnSync(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), 'build', '--config', config, '--out', out], { encoding: 'utf8' });
  assert.is(result.status, 1);
  assert.match(result.stderr, /(^|\n)error\[secrets-damaged\]: /);
  assert.not.match(result.stderr, /\n\s+at |internal error/);
  writeFileSync(secretsPath, good, { mode: 0o600 });
});

test.run();
