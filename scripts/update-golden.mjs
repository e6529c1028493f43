// Regenerates the committed outputs: out/ for the seed example (the README's build) and
// test/golden/<example>/ for every other example. Review the diff before committing.
import { readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const run = (args) => {
  const result = spawnSync(process.execPath, ['bin/pi-seed.js', ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run(['build', '--config', 'cluster.yaml', '--out', 'out']);
for (const example of readdirSync('examples').sort()) {
  if (example === 'seed' || !existsSync(`examples/${example}/cluster.yaml`)) continue;
  run(['build', '--config', `examples/${example}/cluster.yaml`, '--out', `test/golden/${example}`]);
}
