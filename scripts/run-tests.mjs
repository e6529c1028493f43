// Runs the uvu suites compiled into dist/test and ends with the plain summary line CI reads:
// "N passed, N failed" (uvu's own "Total/Passed" block is not recognised by CI).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const pattern = args[0] ?? '\\.test\\.js$';
// PI_SEED_TEST_DIR: another folder of compiled suites (test/summary.test.ts checks this script on one).
const dir = process.env.PI_SEED_TEST_DIR ?? 'dist/test';
const result = spawnSync(process.execPath, ['node_modules/uvu/bin.js', dir, pattern], {
  encoding: 'utf8',
  env: process.env,
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(result.stdout ?? '');
process.stderr.write(result.stderr ?? '');

// uvu colours its summary on a terminal (and the numbers sit between colour codes): strip them.
// eslint-disable-next-line no-control-regex
const out = `${result.stdout ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
// uvu's Total counts the tests that ran; skipped ones are counted apart.
const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
if (!Number.isFinite(total) || !Number.isFinite(passed)) {
  // uvu crashed before printing its summary (a syntax error, a throw at import time).
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const failed = total - passed;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(result.status === 0 && failed === 0 ? 0 : 1);
