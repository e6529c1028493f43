// The summary line CI reads ("N passed, N failed, N skipped") counts what uvu ran, skipped and
// failed, also when uvu colours its own summary (FORCE_COLOR, as on a terminal).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from './helpers.js';

const SUITE = `import { test } from ${JSON.stringify(join(REPO, 'node_modules', 'uvu', 'dist', 'index.mjs'))};
test('passes', () => {});
test.skip('is skipped', () => {});
test('fails', () => { throw new Error('planted failure'); });
test.run();
`;

for (const colour of ['0', '1']) {
  test(`one pass, one skip, one failure: "1 passed, 1 failed, 1 skipped", exit 1 (FORCE_COLOR=${colour})`, () => {
    const dir = tempDir('pi-seed-summary-');
    writeFileSync(join(dir, 'planted.test.mjs'), SUITE);
    const result = spawnSync(process.execPath, ['scripts/run-tests.mjs', '\\.test\\.mjs$'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PI_SEED_TEST_DIR: dir, FORCE_COLOR: colour } });
    assert.is(result.status, 1);
    assert.is(result.stdout.trim().split('\n').pop(), '1 passed, 1 failed, 1 skipped');
  });
}

test.run();
