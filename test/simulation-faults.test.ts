// The first boot's faults, simulated with strict stand-ins (test/doubles/): a kubeadm init that
// times out after writing admin.conf, a join interrupted after kubelet.conf, an init that never
// succeeds, a clock that NTP has not set yet (or never sets), an add-on manifest whose bytes are
// not the pinned ones, a containerd too old for the Kubernetes minor, a kubelet that apt cannot
// install, and a cluster with no workers; and for the join: a wrong token, a wrong CA hash, a fake
// control plane, a reboot mid-join. Each converges, or fails in the right phase with the reason
// the real program gives, or is refused. Needs root and `ip netns` (see simulation.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSecrets } from '../src/secrets/cluster-secrets.js';
import { REPO, builtSeedWorkspace, fixtureSecretsFile, runCli, tempDir } from './helpers.js';
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
/** The report a node could not send yet (no API server), or its last one. */
const pendingReport = (sim: SimCluster, node: string) => JSON.parse(sim.read(node, 'var/lib/pi-seed/report.json')) as { data: { phase: string; detail: string } };

/** A seed-example cluster in namespaces, handed to `body`, always torn down. */
async function withSeedCluster(body: (sim: SimCluster, out: string, config: string) => Promise<void>): Promise<void> {
  const { out, config } = await builtSeedWorkspace('pi-seed-faults-');
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    await body(sim, out, config);
  } finally {
    sim.teardown();
  }
}

scenario('kubeadm init that times out after writing admin.conf is reset and tried again with the same CA, and the cluster forms', async () => {
  await withSeedCluster(async (sim, _out, config) => {
    const secrets = readSecrets(join(config, '..', 'cluster.secrets.yaml'));
    sim.fault('init-wait-control-plane', 1);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    assert.is(calls(sim, 'kubeadm init').length, 2, 'one failed try, one good one');
    assert.is(calls(sim, 'kubeadm reset -f').length, 1, 'a reset between the tries');
    const log = logOf(sim, 'mas01');
    assert.match(log, /kubeadm init failed \(try 1 of 3, exit 1\): .*wait-control-plane/);
    assert.match(log, /kubeadm init: try 2 of 3/);
    assert.ok(marker(sim, 'mas01', 'kubeadm-init') && marker(sim, 'mas01', 'flannel'));
    // kubeadm reset emptied pki/; the second try found the bundle's CA there again, not its own.
    assert.is(sim.read('mas01', 'etc/kubernetes/pki/ca.crt'), secrets.certificateAuthorities.cluster.certificate);
    assert.match(readFileSync(join(sim.doubles, 'init', 'mas01.certs'), 'utf8'), /^ca existing$/m);
    // So the CA the workers pin is the cluster's, and they join as usual.
    const worker = sim.boot('work01');
    assert.is(await worker.exit, 0, worker.output);
    assert.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
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
    // No API server to report to: the failure waits in the pending report (and the log).
    const report = pendingReport(sim, 'mas01');
    assert.is(report.data.phase, 'failed');
    assert.match(report.data.detail, /could not initialize a Kubernetes cluster/, report.data.detail);
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

scenario('a TLS bootstrap request that times out twice is retried by the kubelet within the same join (no reset)', async () => {
  await withSeedCluster(async (sim) => {
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    sim.fault('join-tls-bootstrap-timeout', 2);
    const worker = sim.boot('work01');
    assert.is(await worker.exit, 0, worker.output);
    assert.is(readFileSync(join(sim.doubles, 'faults', 'join-tls-bootstrap-timeout'), 'utf8').trim(), '0', 'both timeouts happened');
    assert.is(calls(sim, 'kubeadm join').length, 1, 'one join: the kubelet rode out the timeouts');
    assert.is(calls(sim, 'kubeadm reset -f').length, 0);
    assert.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
    assert.ok(existsSync(join(sim.root('work01'), 'var/lib/kubelet/pki/kubelet-client-current.pem')));
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
    const config = join(sim.root('work01'), 'tmp', 'join-again.yaml');
    writeFileSync(config, sim.read('work01', 'var/lib/pi-seed/join-configuration.template').replace('PI_SEED_BOOTSTRAP_TOKEN', sim.read('work01', 'etc/pi-seed/secrets/token').trim()));
    const again = sim.exec('work01', ['kubeadm', 'join', '--config', config]);
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
    assert.is(calls(sim, 'kubectl apply').filter((l) => /flannel/.test(l)).length, 0, 'nothing of Flannel was applied');
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
    assert.match(pendingReport(sim, 'mas01').data.detail, /kubernetes-cni/);
  });
});

scenario('a cluster without workers removes the control plane\'s exclude-from-external-load-balancers label', async () => {
  const dir = tempDir('pi-seed-faults-solo-');
  const config = join(dir, 'cluster.yaml');
  copyFileSync(join(REPO, 'examples', 'single-node', 'cluster.yaml'), config);
  copyFileSync(fixtureSecretsFile('single-node'), join(dir, 'cluster.secrets.yaml'));
  const out = join(dir, 'out');
  const built = await runCli(['build', '--config', config, '--out', out]);
  assert.is(built.code, 0, built.stderr);
  const sim = new SimCluster(out, [{ name: 'solo', address: '192.168.50.2', prefix: 24 }]);
  try {
    sim.setup({ name: 'desk', address: '192.168.50.50', prefix: 24 });
    const run = sim.boot('solo');
    assert.is(await run.exit, 0, run.output);
    const node = JSON.parse(sim.kubectl('solo', ['get', 'node', 'solo', '-o', 'json']).stdout) as { metadata: { labels: Record<string, string> } };
    assert.ok('node-role.kubernetes.io/control-plane' in node.metadata.labels, 'kubeadm marked it a control plane');
    assert.not.ok('node.kubernetes.io/exclude-from-external-load-balancers' in node.metadata.labels, JSON.stringify(node.metadata.labels));
    const order = calls(sim, 'kubectl ');
    const unlabel = order.findIndex((l) => l.includes('exclude-from-external-load-balancers-'));
    const flannel = order.findIndex((l) => l.includes('kube-flannel.yml'));
    assert.ok(unlabel >= 0 && unlabel < flannel, 'before the add-ons');
  } finally {
    sim.teardown();
  }
});

// --- the join, against the API server ---

scenario('a reboot mid-join (power cut in the TLS bootstrap) resets and joins at the next boot', async () => {
  await withSeedCluster(async (sim) => {
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    // The first try fails in kubelet-start; the power goes before the bootstrap's own retry.
    sim.fault('join-kubelet-start', 1);
    sim.extraEnv.PI_SEED_KUBEADM_RETRY_DELAY_SECONDS = '30';
    sim.boot('work01');
    await waitFor('the first join try failing', () => /kubeadm join: next try in/.test(sim.readSafe('work01', 'var/log/pi-seed.log')), 60_000);
    await sim.powerOff('work01');
    assert.not.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
    assert.ok(existsSync(join(sim.root('work01'), 'etc/kubernetes/bootstrap-kubelet.conf')), 'the cut-off try left its files');
    sim.extraEnv.PI_SEED_KUBEADM_RETRY_DELAY_SECONDS = '0';
    const second = sim.boot('work01');
    assert.is(await second.exit, 0, second.output);
    assert.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
    assert.ok(calls(sim, 'kubeadm reset -f').length >= 1, 'reset before the next try');
  });
});

scenario('a card whose token the cluster does not know is refused (401) and never joins', async () => {
  await withSeedCluster(async (sim) => {
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    // A card of the right shape but a token this cluster never listed (another build's card).
    const key = join(sim.root('work02'), 'boot/firmware/pi-seed-node.key');
    writeFileSync(key, readFileSync(key, 'utf8').replace(/^[a-z0-9]{6}\.[a-z0-9]{16}$/m, 'abcdef.0123456789abcdef'));
    sim.boot('work02');
    await waitFor('the refusal in the log', () => /refuses this card's token \(401\)/.test(sim.readSafe('work02', 'var/log/pi-seed.log')), 25_000);
    await sim.powerOff('work02');
    assert.not.ok(existsSync(join(sim.doubles, 'joined', 'work02')));
    assert.is(calls(sim, 'kubeadm join').length, 0, 'kubeadm join never ran');
  });
});

scenario('a served JoinConfiguration whose CA hash is not the cluster CA\'s: kubeadm\'s pinning refuses it', async () => {
  await withSeedCluster(async (sim) => {
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    const served = JSON.parse(sim.kubectl('mas01', ['-n', 'pi-seed', 'get', 'configmap', 'join-work01', '-o', 'json']).stdout) as { binaryData: Record<string, string> };
    const wrong = Buffer.from(served.binaryData['join-configuration.yaml']!, 'base64').toString('utf8').replace(/sha256:[0-9a-f]{64}/, `sha256:${'0'.repeat(64)}`);
    const patched = sim.kubectl('mas01', ['-n', 'pi-seed', 'patch', 'configmap', 'join-work01', '--type', 'merge', '-p', JSON.stringify({ binaryData: { 'join-configuration.yaml': Buffer.from(wrong).toString('base64') } })]);
    assert.is(patched.code, 0, patched.stderr);
    const worker = sim.boot('work01');
    assert.is(await worker.exit, 0, 'it gives up cleanly after its tries');
    assert.is(calls(sim, 'kubeadm join').length, 3);
    assert.match(logOf(sim, 'work01'), /none of the public keys "sha256:[0-9a-f]{64}" are pinned/);
    assert.not.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
  });
});

scenario('a fake control plane (TLS with another CA) is never trusted; the worker joins once the real one answers', async () => {
  await withSeedCluster(async (sim) => {
    // The fake answers on the control plane's address with a certificate of its own.
    const fake = join(sim.work, 'fake');
    mkdirSync(fake, { recursive: true });
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=kube-apiserver', '-addext', 'subjectAltName=IP:192.168.1.101', '-keyout', join(fake, 'key.pem'), '-out', join(fake, 'cert.pem')], { encoding: 'utf8' });
    assert.is(made.status, 0, made.stderr);
    const server = `require('node:https').createServer({ key: require('node:fs').readFileSync(${JSON.stringify(join(fake, 'key.pem'))}), cert: require('node:fs').readFileSync(${JSON.stringify(join(fake, 'cert.pem'))}) }, (q, r) => { require('node:fs').appendFileSync(${JSON.stringify(join(fake, 'served.log'))}, q.url + '\\n'); r.end('{}'); }).listen(6443, '192.168.1.101'); setTimeout(() => process.exit(0), 60000);`;
    const impostor = spawn('ip', ['netns', 'exec', sim.ns('mas01'), process.execPath, '-e', server], { stdio: 'ignore' });
    try {
      const worker = sim.boot('work01');
      await waitFor('the worker refusing the fake', () => /TLS verification against the cluster CA failed/.test(sim.readSafe('work01', 'var/log/pi-seed.log')), 30_000);
      assert.not.ok(existsSync(join(fake, 'served.log')), 'no request reached the fake: the TLS handshake failed first');
      impostor.kill('SIGKILL');
      await new Promise((resolve) => impostor.on('close', resolve));
      // The real control plane comes up; the worker, still polling, joins it.
      const master = sim.boot('mas01');
      assert.is(await master.exit, 0, master.output);
      assert.is(await worker.exit, 0, worker.output);
      assert.ok(existsSync(join(sim.doubles, 'joined', 'work01')));
    } finally {
      impostor.kill('SIGKILL');
    }
  });
});

function readSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

test.run();
