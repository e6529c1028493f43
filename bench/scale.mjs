// P2 scale and P3 memory: generated clusters of 10, 100 and 1000 nodes (one control plane,
// the rest workers, on a /21 LAN) against the 3-node seed example, each built into a fresh
// output folder and then rebuilt into the same folder (the everyday "build on save" case).
// Targets: 1000-node rebuild ≤ 6× the 3-node rebuild (issue 13; 12× before); peak RSS of the 1000-node build < 200 MB.
// Run: npm run build && node bench/scale.mjs [runs]
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, clusterFolder, generatedCluster, median, peakRssKiB, seedConfig, timeCommand } from './lib.mjs';

const runs = Number(process.argv[2] ?? 3);
const sizes = [3, 10, 100, 1000];
const rows = [];
for (const size of sizes) {
  const config = size === 3 ? seedConfig() : clusterFolder(generatedCluster(size));
  const out = join(config, '..', 'out');
  const build = [process.execPath, CLI, 'build', '--config', config, '--out', out];
  const fresh = [];
  for (let i = 0; i < runs; i++) {
    rmSync(out, { recursive: true, force: true });
    const started = process.hrtime.bigint();
    const result = spawnSync(build[0], build.slice(1), { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${build.join(' ')} failed`);
    fresh.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  const rebuild = timeCommand(build, runs);
  rmSync(out, { recursive: true, force: true });
  const rss = peakRssKiB(build);
  rows.push({ size, fresh: median(fresh), rebuild: median(rebuild), rss });
}
const base = rows[0];
console.log(`P2 scale / P3 memory (${runs} runs each, median)`);
console.log('  nodes   fresh build   ×3-node   rebuild   ×3-node   peak RSS');
for (const r of rows) {
  console.log(
    `  ${String(r.size).padStart(5)}   ${r.fresh.toFixed(2).padStart(9)} s   ${(r.fresh / base.fresh).toFixed(1).padStart(6)}×   ${r.rebuild.toFixed(2).padStart(5)} s   ${(r.rebuild / base.rebuild).toFixed(1).padStart(6)}×   ${r.rss === null ? 'n/a' : `${(r.rss / 1024).toFixed(0)} MB`}`,
  );
}
const big = rows[rows.length - 1];
console.log(`  target P2: 1000-node rebuild ≤ 6× the 3-node one: ${big.rebuild / base.rebuild <= 6 ? 'met' : 'NOT met'} (${(big.rebuild / base.rebuild).toFixed(1)}×)`);
console.log(`  target P3: peak RSS < 200 MB: ${big.rss !== null && big.rss < 200 * 1024 ? 'met' : 'NOT met'} (${big.rss === null ? 'GNU time missing' : `${(big.rss / 1024).toFixed(0)} MB`})`);
