// P4 convergence: in the join simulation (network namespaces; needs root), the workers boot
// first and poll; the control plane boots; the time from the join scripts being published in
// the API server to the last worker joined is measured. Target ≤ 10 s. Workers back off
// exponentially with jitter, capped at 60 s on a Pi; the simulation caps it at 2 s
// (PI_SEED_FETCH_BACKOFF_CAP_SECONDS), so this measures the flow, not the cap.
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
  copyFileSync(join(REPO, 'examples', 'seed', 'cluster.secrets.yaml'), join(dir, 'cluster.secrets.yaml'));
  const built = spawnSync(process.execPath, [CLI, 'build', '--config', join(dir, 'cluster.yaml'), '--out', join(dir, 'out')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const sim = new SimCluster(join(dir, 'out'), nodes);
  try {
    sim.setup({ name: 'desk', address: '192.168.1.50', prefix: 24 });
    const workers = ['work01', 'work02'].map((w) => sim.boot(w));
    await waitFor('workers polling', () => ['work01', 'work02'].every((w) => /waiting for the control plane/.test(sim.readSafe(w, 'var/log/pi-seed.log'))), 60_000);
    sim.boot('mas01');
    // Published: the control plane's publish phase has its marker.
    await waitFor('join scripts published', () => existsSync(join(sim.root('mas01'), 'var/lib/pi-seed/publish.done')), 120_000);
    const up = Date.now();
    await waitFor('workers joined', () => ['work01', 'work02'].every((w) => existsSync(join(sim.doubles, 'joined', w))), 60_000);
    results.push((Date.now() - up) / 1000);
    for (const run of workers) await run.exit;
  } finally {
    sim.teardown();
  }
}
const m = median(results);
console.log(`P4 convergence (${rounds} rounds): join scripts published → last worker joined`);
console.log(`  each: ${results.map((r) => `${r.toFixed(1)} s`).join(', ')}`);
console.log(`  median ${m.toFixed(1)} s   (target ≤ 10 s: ${m <= 10 ? 'met' : 'NOT met'})`);
