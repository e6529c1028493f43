// The shipped CLI is a bundle (dist/bundle/, see scripts/bundle.mjs) of the same sources the
// other tests import from dist/src; this checks the two agree, and that generated code is current.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SEED_CONFIG, readTree, runCli, tempDir } from './helpers.js';

test('the bundled CLI builds byte-identical output to the sources', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  writeFileSync(join(dir, 'cluster.secrets.yaml'), `clusterKey: ${'cd'.repeat(32)}\n`, { mode: 0o600 });
  const bundled = spawnSync(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), 'build', '--config', config, '--out', join(dir, 'bundle')], { encoding: 'utf8' });
  assert.is(bundled.status, 0, bundled.stderr);
  assert.is((await runCli(['build', '--config', config, '--out', join(dir, 'sources')])).code, 0);
  assert.equal(readTree(join(dir, 'bundle')), readTree(join(dir, 'sources')));
});

test('the bundled CLI reports errors and usage the same way', () => {
  const usage = spawnSync(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), 'build', '--frob'], { encoding: 'utf8' });
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /Unknown argument: frob/);
  const help = spawnSync(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), '--help'], { encoding: 'utf8' });
  assert.is(help.status, 0);
  assert.match(help.stdout, /pi-seed build/);
});

test('the precompiled templates are current with templates/', () => {
  const result = spawnSync(process.execPath, ['scripts/build-templates.mjs', '--check'], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
});

test.run();
