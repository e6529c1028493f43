// The package a user installs: `npm pack` holds the bundle, the schema and the docs and nothing of
// the repository's tests, goldens, out/ or secrets; installed from the tarball into an empty folder
// (its dependencies from the registry) it runs init, validate and build as `npx pi-seed` would.
// (The tarball is packed from the bundle `npm test` just built; `prepack` builds it for a release.)
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir, testWithTools } from './helpers.js';

const run = (command: string, args: string[], cwd: string) => spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });

test('package.json: a bin, a files list, prepack builds the bundle, engines', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  assert.equal(pkg.bin, { 'pi-seed': 'bin/pi-seed.js' });
  assert.ok(Array.isArray(pkg.files) && pkg.files.includes('dist/bundle/'));
  assert.match(pkg.scripts.prepack, /npm run build/);
  assert.is(pkg.scripts.prepare, undefined, 'no install-time build: an installed package has no dev tools');
  assert.match(pkg.engines.node, /^>=20/);
});

testWithTools('the packed tarball installs into an empty folder and runs init, validate and build', ['npm'], () => {
  const dir = tempDir('pi-seed-pack-');
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO);
  assert.is(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path);
  for (const needed of ['bin/pi-seed.js', 'dist/bundle/pi-seed.cjs', 'dist/bundle/pi-seed.cjs.map', 'schemas/cluster.schema.json', 'README.md', 'package.json']) assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
  for (const path of files) assert.not.match(path, /^(test|out|examples|src|templates|scripts|bench|\.ci|\.cache)\/|secrets|\.key$/, `${path} does not belong in the package`);

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  const install = run('npm', ['install', join(dir, info!.filename)], app);
  assert.is(install.status, 0, `npm install: ${install.stdout}${install.stderr}`);
  const bin = join(app, 'node_modules', '.bin', 'pi-seed');
  for (const args of [['init'], ['validate'], ['build'], ['--version']]) {
    const result = run(bin, args, app);
    assert.is(result.status, 0, `pi-seed ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  }
  assert.ok(existsSync(join(app, 'out', 'cp01', 'user-data')));
  assert.is(statSync(join(app, 'cluster.secrets.yaml')).mode & 0o777, 0o600);
  assert.is(run(bin, ['--version'], app).stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
});

test.run();
