// P4 convergence: in the join simulation (network namespaces; needs root), the workers boot
// first and poll; the master boots; the time from the join service first answering to the last
// worker joined is measured. Target ≤ 10 s, with no fixed sleep on the critical path (workers
// back off exponentially with full jitter, capped at 10 s by join.json).
// Run: npm run build && node bench/convergence.mjs [rounds]
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, median, tempDir } from './lib.mjs';

const { SimCluster, canUseNetns, waitFor } = await import(join(REPO, 'dist', 'test', 'sim', 'cluster-sim.js'));
const why = canUseNetns();
if (why) {
  console.log(`P4 convergence: cannot run here (${why}); it needs root and ip netns`);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

const rounds = Number(process.argv[2] ?? 3);
const nodes = [
  { name: 'mas01', address: '192.168.1.101', prefix: 24 },
  { name: 'work01', address: '192.168.1.102', prefix: 24 },
  { name: 'work02', address: '192.168.1.103', prefix: 24 },
];
const results = [];
for (let round = 0; round < rounds; round++) {
  const dir = tempDir();
  copyFileSync(join(REPO, 'examples', 'seed', 'cluster.yaml'), join(dir, 'cluster.yaml'));
  const built = spawnSync(process.execPath, [CLI, 'build', '--config', join(dir, 'cluster.yaml'), '--out', join(dir, 'out')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const sim = new SimCluster(join(dir, 'out'), nodes);
  try {
    sim.setup({ name: 'desk', address: '192.168.1.50', prefix: 24 });
    const workers = ['work01', 'work02'].map((w) => sim.boot(w));
    await waitFor('workers polling', () => ['work01', 'work02'].every((w) => existsSync(join(sim.root(w), 'var/lib/pi-seed/kubernetes.done'))), 60_000);
    sim.boot('mas01');
    // The join service answers once /v1/nonce does; probe from the desktop namespace.
    const probe = `fetch('http://192.168.1.101:7080/v1/nonce',{method:'POST',body:'{}',headers:{'content-type':'application/json'}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`;
    await waitFor('join service answering', () => sim.exec('desk', [process.execPath, '-e', probe], 5000).code === 0, 120_000);
    const up = Date.now();
    await waitFor('workers joined', () => ['work01', 'work02'].every((w) => existsSync(join(sim.doubles, 'joined', w))), 60_000);
    results.push((Date.now() - up) / 1000);
    for (const run of workers) await run.exit;
  } finally {
    sim.teardown();
  }
}
const m = median(results);
console.log(`P4 convergence (${rounds} rounds): join service answering → last worker joined`);
console.log(`  each: ${results.map((r) => `${r.toFixed(1)} s`).join(', ')}`);
console.log(`  median ${m.toFixed(1)} s   (target ≤ 10 s: ${m <= 10 ? 'met' : 'NOT met'})`);
