// Golden files: each example's committed output (test/golden/<example>/, and out/ for the seed)
// is exactly what the generator produces now. `npm run golden` regenerates them for review.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, runCli } from './helpers.js';

const examples = readdirSync(join(REPO, 'examples')).filter((e) => existsSync(join(REPO, 'examples', e, 'cluster.yaml'))).sort();

test('the examples span the support matrix', () => {
  assert.ok(examples.length >= 6, `only ${examples.length} examples`);
  for (const name of ['seed', 'seed-2022', 'jammy', 'pi5-resolute', 'single-node', 'large']) assert.ok(examples.includes(name), name);
});

for (const example of examples.filter((e) => e !== 'seed')) {
  test(`golden output of examples/${example} is current`, async () => {
    const result = await runCli(['diff', '--config', join(REPO, 'examples', example, 'cluster.yaml'), '--out', join(REPO, 'test', 'golden', example)]);
    assert.is(result.code, 0, `test/golden/${example} is stale; run \`npm run golden\`, review and commit:\n${result.stdout.slice(0, 4000)}${result.stderr}`);
  });
}

test('no golden folder without its example', () => {
  for (const dir of readdirSync(join(REPO, 'test', 'golden'))) assert.ok(examples.includes(dir), `test/golden/${dir} has no examples/${dir}`);
});

test.run();
