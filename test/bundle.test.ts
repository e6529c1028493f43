// The shipped CLI is a bundle (dist/bundle/, see scripts/bundle.mjs) of the same sources the
// other tests import from dist/src; this checks the two agree, and that generated code is current.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SEED_CONFIG, fixtureSecretsFile, readTree, runCli, tempDir } from './helpers.js';

test('the bundled CLI builds byte-identical output to the sources', async () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  copyFileSync(fixtureSecretsFile('seed'), join(dir, 'cluster.secrets.yaml'));
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
  const version = spawnSync(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), '--version'], { encoding: 'utf8' });
  assert.is(version.status, 0, version.stderr);
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
});

test('the bundle runs with its V8 code cache; refused, stale or missing, it gives the same output', () => {
  const dir = tempDir();
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  copyFileSync(fixtureSecretsFile('seed'), join(dir, 'cluster.secrets.yaml'));
  const cli = (out: string, bin: string, nodeFlags: string[] = []) =>
    spawnSync(process.execPath, [...nodeFlags, bin, 'build', '--config', config, '--out', join(dir, out)], { encoding: 'utf8', env: { ...process.env, PI_SEED_CODE_CACHE_REPORT: '1' } });
  const cached = cli('cached', join(REPO, 'bin', 'pi-seed.js'));
  assert.is(cached.status, 0, cached.stderr);
  assert.match(cached.stderr, /^code cache: used$/m);
  // Other V8 flags than the cache was made with: V8 refuses it, and compiles as usual.
  const refused = cli('refused', join(REPO, 'bin', 'pi-seed.js'), ['--no-opt']);
  assert.is(refused.status, 0, refused.stderr);
  assert.match(refused.stderr, /^code cache: rejected$/m);
  assert.equal(readTree(join(dir, 'refused')), readTree(join(dir, 'cached')));
  // A copy of the package whose cache belongs to another bundle: it must be ignored.
  const copy = join(dir, 'pkg');
  mkdirSync(join(copy, 'bin'), { recursive: true });
  mkdirSync(join(copy, 'dist', 'bundle'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'pi-seed.js'), join(copy, 'bin', 'pi-seed.js'));
  copyFileSync(join(REPO, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(REPO, 'templates'), join(copy, 'templates'));
  symlinkSync(join(REPO, 'schemas'), join(copy, 'schemas'));
  const bundle = readFileSync(join(REPO, 'dist', 'bundle', 'pi-seed.cjs'), 'utf8');
  // Same length, different content: V8's own check (the length) would not notice.
  writeFileSync(join(copy, 'dist', 'bundle', 'pi-seed.cjs'), bundle.replace('pi-seed', 'pi_seed'));
  copyFileSync(join(REPO, 'dist', 'bundle', 'pi-seed.cjs.cache'), join(copy, 'dist', 'bundle', 'pi-seed.cjs.cache'));
  const stale = cli('stale', join(copy, 'bin', 'pi-seed.js'));
  assert.is(stale.status, 0, stale.stderr);
  assert.match(stale.stderr, /^code cache: none$/m);
  rmSync(join(copy, 'dist', 'bundle', 'pi-seed.cjs.cache'));
  const none = cli('none', join(copy, 'bin', 'pi-seed.js'));
  assert.is(none.status, 0, none.stderr);
  assert.match(none.stderr, /^code cache: none$/m);
  assert.equal(readTree(join(dir, 'stale')), readTree(join(dir, 'cached')));
  assert.equal(readTree(join(dir, 'none')), readTree(join(dir, 'cached')));
});

// `npm test` does not regenerate src/*.generated.js (only `npm run build` does), so these
// compare the committed files with what templates/ and the schema make now.
test('the precompiled templates are current with templates/', () => {
  const result = spawnSync(process.execPath, ['scripts/build-templates.mjs', '--check'], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
});

test('the currency checks fail on a stale generated file (one changed byte)', () => {
  const dir = tempDir();
  for (const [script, file] of [['scripts/build-templates.mjs', 'src/render/templates.generated.js'], ['scripts/build-validators.mjs', 'src/validate/cluster-validator.generated.js']] as const) {
    const copy = join(dir, file.split('/').pop()!);
    writeFileSync(copy, readFileSync(file, 'utf8').replace('Generated by', 'Generated  by'));
    const result = spawnSync(process.execPath, [script, '--check', '--target', copy], { encoding: 'utf8' });
    assert.is(result.status, 1, `${script} --check passed a stale file`);
    assert.match(result.stderr, /is stale: run `npm run build`/);
  }
});

test('an internal error prints one short message with the TypeScript source location, no stack trace, exit 70', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'bundle'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'pi-seed.js'), join(dir, 'bin', 'pi-seed.js'));
  copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(REPO, 'dist', 'bundle', 'pi-seed.cjs.map'), join(dir, 'dist', 'bundle', 'pi-seed.cjs.map'));
  // A bug planted at the start of main(): the same bundle otherwise, so its source map still fits.
  const bundle = readFileSync(join(REPO, 'dist', 'bundle', 'pi-seed.cjs'), 'utf8');
  const planted = bundle.replace('async function main(argv,io=processIo){', 'async function main(argv,io=processIo){null.planted;');
  assert.is.not(planted, bundle, 'the bundle still has main() where the test plants its bug');
  writeFileSync(join(dir, 'dist', 'bundle', 'pi-seed.cjs'), planted);
  const result = spawnSync(process.execPath, [join(dir, 'bin', 'pi-seed.js'), 'validate'], { encoding: 'utf8', cwd: dir });
  assert.is(result.status, 70);
  assert.match(result.stderr, /^pi-seed: internal error: Cannot read properties of null \(reading 'planted'\) \(at src\/cli\.ts:\d+:\d+\)\nThis is a bug in pi-seed/);
  assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
});

test.run();
