// The containerd step of the bootstrap (templates/containerd-systemd-cgroup.sh), run on real
// configs: Debian's containerd 1.x `config default` (version 2), checked with containerd's own
// `config dump`; and containerd 2.x's default (version 3, which has no SystemdCgroup line),
// checked by parsing the TOML.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { REPO, testWithTools, tempDir } from './helpers.js';

const SCRIPT = join(packageRoot(), 'templates', 'containerd-systemd-cgroup.sh');

function configure(path: string): void {
  const result = spawnSync('sh', [SCRIPT, path], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
}

/** The runc options table of a config, parsed by Python's tomllib (3.11+). */
function runcOptions(path: string, version: 2 | 3): Record<string, unknown> {
  const plugin = version === 2 ? "p['plugins']['io.containerd.grpc.v1.cri']['containerd']" : "p['plugins']['io.containerd.cri.v1.runtime']['containerd']";
  const result = spawnSync('python3', ['-c', `import json, sys, tomllib; p = tomllib.load(open(sys.argv[1], 'rb')); print(json.dumps(${plugin}['runtimes']['runc']['options']))`, path], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

testWithTools("containerd 1.x (config version 2): Debian's real default, checked by containerd config dump", ['containerd'], () => {
  const dir = tempDir();
  const config = join(dir, 'config.toml');
  const defaults = spawnSync('containerd', ['config', 'default'], { encoding: 'utf8' });
  assert.is(defaults.status, 0, defaults.stderr);
  writeFileSync(config, defaults.stdout);
  assert.match(defaults.stdout, /SystemdCgroup = false/, 'the stock default has the cgroupfs driver');
  configure(config);
  const dump = spawnSync('containerd', ['--config', config, 'config', 'dump'], { encoding: 'utf8' });
  assert.is(dump.status, 0, dump.stderr);
  const section = dump.stdout.split(/\n(?=\s*\[)/).find((s) => s.includes('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'));
  assert.ok(section, 'runc options table present');
  assert.match(section, /SystemdCgroup = true/);
  assert.not.match(dump.stdout, /SystemdCgroup = false/);
  // Only that one line changed.
  const before = defaults.stdout.split('\n');
  const after = readFileSync(config, 'utf8').split('\n');
  assert.is(after.length, before.length);
  assert.equal(before.filter((line, i) => line !== after[i]).map((l) => l.trim()), ['SystemdCgroup = false']);
});

testWithTools('containerd 2.x (config version 3): SystemdCgroup is inserted into the runc options table', ['python3'], () => {
  const config = join(tempDir(), 'config.toml');
  copyFileSync(join(REPO, 'test', 'fixtures', 'containerd-2.x-default.toml'), config);
  assert.not.match(readFileSync(config, 'utf8'), /SystemdCgroup/);
  configure(config);
  const options = runcOptions(config, 3);
  assert.is(options.SystemdCgroup, true);
  assert.is(options.BinaryName, '', 'the rest of the table is kept');
  assert.is(readFileSync(config, 'utf8').match(/SystemdCgroup/g)!.length, 1);
});

testWithTools('containerd 2.x without a runc options table: the table is added', ['python3'], () => {
  const config = join(tempDir(), 'config.toml');
  const text = readFileSync(join(REPO, 'test', 'fixtures', 'containerd-2.x-default.toml'), 'utf8');
  writeFileSync(config, text.replace(/\n\s*\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.runc\.options\][^[]*/, '\n'));
  configure(config);
  assert.is(runcOptions(config, 3).SystemdCgroup, true);
});

test('running the step twice changes nothing more (idempotent)', () => {
  const config = join(tempDir(), 'config.toml');
  copyFileSync(join(REPO, 'test', 'fixtures', 'containerd-2.x-default.toml'), config);
  configure(config);
  const once = readFileSync(config, 'utf8');
  configure(config);
  assert.is(readFileSync(config, 'utf8'), once);
});

test('a config of an unknown version is refused, not silently left as it was', () => {
  const config = join(tempDir(), 'config.toml');
  writeFileSync(config, 'version = 9\n[plugins]\n');
  const result = spawnSync('sh', [SCRIPT, config], { encoding: 'utf8' });
  assert.is.not(result.status, 0);
  assert.match(result.stderr, /unknown containerd config version/);
});

test.run();
