// The first boot's faults, simulated with strict stand-ins (test/doubles/): a kubeadm init that
// times out after writing admin.conf, a join interrupted after kubelet.conf, an init that never
// succeeds, a clock that NTP has not set yet (or never sets), an add-on manifest whose bytes are
// not the pinned ones, a containerd too old for the Kubernetes minor, a kubelet that apt cannot
// install, and a cluster with no workers. Each converges, or fails in the right phase with the
// reason the real program gives. Needs root and `ip netns` (see simulation.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, builtSeedWorkspace, runCli, tempDir } from './helpers.js';
import { SimCluster, canUseNetns, waitFor, type SimNode } from './sim/cluster-sim.js';

const why = canUseNetns();
if (why) {
  if (process.env.CI === 'true') throw new Error(`the fault simulation must run in CI but cannot: ${why}`);
  console.warn(`\n!!! SKIPPED: first-boot fault simulation (network namespaces): ${why}\n`);
}
const scenario = why ? test.skip : test;

const NODES: SimNode[] = [
  { name: 'mas01', address: '192.168.1.101', prefix: 24 },
  { name: 'work01', address: '192.168.1.102', prefix: 24 },
  { name: 'work02', address: '192.168.1.103', prefix: 24 },
];
const DESKTOP: SimNode = { name: 'desk', address: '192.168.1.50', prefix: 24 };

function calls(sim: SimCluster, prefix: string): string[] {
  const log = join(sim.doubles, 'calls.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith(prefix)) : [];
}

const marker = (sim: SimCluster, node: string, phase: string) => existsSync(join(sim.root(node), 'var/lib/pi-seed', `${phase}.done`));
const logOf = (sim: SimCluster, node: string) => sim.read(node, 'var/log/pi-seed.log');

/** A seed-example cluster in namespaces, handed to `body`, always torn down. */
async function withSeedCluster(body: (sim: SimCluster, out: string) => Promise<void>): Promise<void> {
  const { out } = await builtSeedWorkspace('pi-seed-faults-');
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    await body(sim, out);
  } finally {
    sim.teardown();
  }
}

scenario('kubeadm init that times out after writing admin.conf is reset and tried again, and the cluster forms', async () => {
  await withSeedCluster(async (sim) => {
    sim.fault('init-wait-control-plane', 1);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    assert.is(calls(sim, 'kubeadm init').length, 2, 'one failed try, one good one');
    assert.is(calls(sim, 'kubeadm reset -f').length, 1, 'a reset between the tries');
    const log = logOf(sim, 'mas01');
    assert.match(log, /kubeadm init failed \(try 1 of 3, exit 1\): .*wait-control-plane/);
    assert.match(log, /kubeadm init: try 2 of 3/);
    assert.ok(marker(sim, 'mas01', 'kubeadm-init') && marker(sim, 'mas01', 'flannel'));
    // The node registered only with the successful try, so the workers now join as usual.
    const worker = sim.boot('work01');
    assert.is(await worker.exit, 0, worker.output);
  });
});

scenario('an init that fails every time ends after 3 tries in a failed phase with kubeadm\'s reason, and stays stopped', async () => {
  await withSeedCluster(async (sim) => {
    sim.fault('init-wait-control-plane', 10);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, 'it gives up cleanly (no restart loop)');
    assert.is(calls(sim, 'kubeadm init').length, 3);
    assert.match(master.output, /phase kubeadm-init failed: kubeadm init failed \(try 3 of 3, exit 1\): .*could not initialize a Kubernetes cluster.*Giving up after 3 tries/, master.output);
    assert.not.ok(marker(sim, 'mas01', 'kubeadm-init'));
    assert.not.ok(existsSync(join(sim.root('mas01'), 'var/lib/pi-seed/bootstrap.done')));
    const state = JSON.parse(sim.read('mas01', 'var/lib/pi-seed/phases.json'));
    assert.is(state.nodes.mas01.phase, 'failed');
    assert.match(state.nodes.mas01.error, /could not initialize a Kubernetes cluster/, state.nodes.mas01.error);
    // Booting again does not start a fourth try.
    const again = sim.boot('mas01');
    assert.is(await again.exit, 0);
    assert.is(calls(sim, 'kubeadm init').length, 3);
  });
});

scenario('an init interrupted by a power cut (admin.conf and static pods left, no marker) is reset first', async () => {
  await withSeedCluster(async (sim) => {
    const k8s = join(sim.root('mas01'), 'etc/kubernetes');
    mkdirSync(join(k8s, 'manifests'), { recursive: true });
    writeFileSync(join(k8s, 'admin.conf'), 'apiVersion: v1\nkind: Config\n');
    writeFileSync(join(k8s, 'manifests', 'kube-apiserver.yaml'), 'kind: Pod\n');
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    const kubeadm = calls(sim, 'kubeadm ').filter((l) => !l.startsWith('kubeadm version'));
    assert.equal(kubeadm.map((l) => l.split(' ').slice(0, 2).join(' ')), ['kubeadm reset', 'kubeadm init']);
  });
});

scenario('a preflight failure is reported with kubeadm\'s own check and cause', async () => {
  await withSeedCluster(async (sim) => {
    sim.fault('init-preflight', 1);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    assert.match(logOf(sim, 'mas01'), /kubeadm init failed \(try 1 of 3, exit 1\): .*\[ERROR Mem\]: the system RAM \(906 MB\) is less than the minimum 1700 MB/);
    assert.is(calls(sim, 'kubeadm init').length, 2);
  });
});

scenario('a join interrupted in its TLS bootstrap (no kubelet.conf yet) is reset and joins on the next try, with a fresh script', async () => {
  await withSeedCluster(async (sim) => {
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    sim.fault('join-kubelet-start', 1);
    const worker = sim.boot('work01');
    assert.is(await worker.exit, 0, worker.output);
    assert.is(calls(sim, 'kubeadm join').length, 2);
    assert.is(calls(sim, 'kubeadm reset -f').length, 1);
    assert.match(logOf(sim, 'work01'), /kubeadm join failed \(try 1 of 3, exit 1\): .*kubelet-start/);
    assert.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
    // The stand-in's preflight is as strict as the real one: a second join without the reset fails.
    const again = sim.exec('work01', ['kubeadm', 'join', '192.168.1.101:6443', '--node-name', 'work01']);
    assert.is(again.code, 1);
    assert.match(again.stderr, /\[ERROR FileAvailable--etc-kubernetes-kubelet\.conf\]: \/etc\/kubernetes\/kubelet\.conf already exists/);
  });
});

scenario('nothing is downloaded before NTP has set the clock; the wait is logged and shown in pi-seed status', async () => {
  const { config, out } = await builtSeedWorkspace('pi-seed-faults-');
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    sim.setClock('work01', false);
    const worker = sim.boot('work01');
    await waitFor('the worker waiting for the clock', () => /waiting for the clock/.test(readSafe(join(sim.root('work01'), 'var/log/pi-seed.log'))), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const status = sim.exec('desk', [process.execPath, join(REPO, 'bin', 'pi-seed.js'), 'status', '--config', config, '--json']);
    assert.is(status.code, 0, status.stderr);
    assert.is(JSON.parse(status.stdout).nodes.find((n: { name: string }) => n.name === 'work01').phase, 'waiting-for-clock');
    const aptBefore = calls(sim, 'apt-get').length;
    sim.setClock('work01', true);
    assert.is(await worker.exit, 0, worker.output);
    assert.ok(calls(sim, 'apt-get').length > aptBefore, 'apt ran once the clock was set');
    // Only the master's apt calls happened before: the worker's first apt-get came after the sync.
    const log = logOf(sim, 'work01');
    assert.ok(log.indexOf('clock synchronised after') < log.indexOf('phase packages: start'), log);
  } finally {
    sim.teardown();
  }
});

scenario('a clock that never synchronises fails the clock phase with a plain reason, before any apt run', async () => {
  await withSeedCluster(async (sim) => {
    sim.setClock('mas01', false);
    sim.extraEnv.PI_SEED_CLOCK_WAIT_SECONDS = '3';
    const master = sim.boot('mas01');
    assert.is.not(await master.exit, 0, 'the unit fails, so systemd tries again later');
    assert.match(master.output, /phase clock failed: the clock is not synchronised after 3 s .*UDP 123.*TCP 4460.*network\.ntp/, master.output);
    assert.is(calls(sim, 'apt-get').length, 0, 'apt never ran on a wrong clock');
  });
});

scenario('apt-get on an unsynchronised clock fails as the real one does (the stand-in is strict)', async () => {
  await withSeedCluster(async (sim) => {
    sim.setClock('mas01', false);
    const result = sim.exec('mas01', ['apt-get', 'update']);
    assert.is(result.code, 100);
    assert.match(result.stderr, /is not valid yet/);
  });
});

scenario('a manifest whose bytes are not the pinned ones is never applied', async () => {
  await withSeedCluster(async (sim) => {
    // The real pins, against the stand-in server's bytes: as if upstream or a proxy changed the file.
    sim.pinServedManifests = false;
    const master = sim.boot('mas01');
    assert.is.not(await master.exit, 0);
    assert.match(master.output, /phase flannel failed: https:\/\/raw\.githubusercontent\.com\/flannel-io\/flannel\/v0\.28\.9\/Documentation\/kube-flannel\.yml has SHA-256 [0-9a-f]{64} but pi-seed pinned e875824b/, master.output);
    assert.is(calls(sim, 'kubectl apply').length, 0, 'nothing was applied');
    assert.not.ok(existsSync(join(sim.root('mas01'), 'var/lib/pi-seed/kube-flannel.yml')));
  });
});

scenario('containerd older than the Kubernetes minor needs stops its phase with the fix (retrying cannot help)', async () => {
  await withSeedCluster(async (sim) => {
    writeFileSync(join(sim.doubles, 'containerd-version'), '1.7.12\n');
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, 'no restart loop');
    assert.not.ok(existsSync(join(sim.root('mas01'), 'var/lib/pi-seed/containerd.done')));
    assert.match(master.output, /phase containerd failed: containerd 1\.7\.12 is installed but Kubernetes 1\.37 needs containerd 2\.2\.0 or later/, master.output);
    assert.is(calls(sim, 'kubeadm init').length, 0);
  });
});

scenario('a kubelet apt cannot install (a release day) fails with apt\'s own reason in the log and the report', async () => {
  await withSeedCluster(async (sim) => {
    sim.fault('kubelet-not-installable');
    const master = sim.boot('mas01');
    assert.is.not(await master.exit, 0);
    assert.match(master.output, /phase kubernetes failed: apt-get install failed \(exit 100\): .*kubelet : Depends: kubernetes-cni/, master.output);
    const state = JSON.parse(sim.read('mas01', 'var/lib/pi-seed/phases.json'));
    assert.match(state.nodes.mas01.error, /kubernetes-cni/);
  });
});

scenario('a cluster without workers removes the control plane\'s exclude-from-external-load-balancers label', async () => {
  const dir = tempDir('pi-seed-faults-solo-');
  const config = join(dir, 'cluster.yaml');
  copyFileSync(join(REPO, 'examples', 'single-node', 'cluster.yaml'), config);
  const out = join(dir, 'out');
  const built = await runCli(['build', '--config', config, '--out', out]);
  assert.is(built.code, 0, built.stderr);
  const sim = new SimCluster(out, [{ name: 'solo', address: '192.168.50.2', prefix: 24 }]);
  try {
    sim.setup({ name: 'desk', address: '192.168.50.50', prefix: 24 });
    const run = sim.boot('solo');
    assert.is(await run.exit, 0, run.output);
    assert.match(readFileSync(join(sim.doubles, 'labels', 'solo'), 'utf8'), /^node\.kubernetes\.io\/exclude-from-external-load-balancers-$/m);
    const order = calls(sim, 'kubectl ').map((l) => l.split(' ').slice(0, 2).join(' '));
    assert.ok(order.indexOf('kubectl label') < order.indexOf('kubectl apply'), 'before the add-ons');
  } finally {
    sim.teardown();
  }
});

function readSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

test.run();
