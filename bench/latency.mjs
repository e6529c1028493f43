// P1: start-up latency. `pi-seed build --all` on the seed example against `node -e 0`, medians
// of several runs measured in the same run (these machines are shared and noisy).
// Target: ratio ≤ 2.0. Run: npm run build && node bench/latency.mjs [runs]
import { join } from 'node:path';
import { CLI, median, seedConfig, timeCommand } from './lib.mjs';

const runs = Number(process.argv[2] ?? 15);
const config = seedConfig();
const out = join(config, '..', 'out');
// Interleave the two commands so both see the same background load.
const node = [];
const build = [];
for (let i = 0; i < runs; i++) {
  node.push(...timeCommand([process.execPath, '-e', '0'], 1));
  build.push(...timeCommand([process.execPath, CLI, 'build', '--all', '--config', config, '--out', out], 1));
}
const ratio = median(build) / median(node);
console.log(`P1 latency (${runs} runs each, median)`);
console.log(`  node -e 0               ${(median(node) * 1000).toFixed(0)} ms`);
console.log(`  pi-seed build --all     ${(median(build) * 1000).toFixed(0)} ms`);
console.log(`  ratio                   ${ratio.toFixed(2)}x   (target <= 2.0x: ${ratio <= 2 ? 'met' : 'NOT met'})`);
