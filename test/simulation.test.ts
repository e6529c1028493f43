// The zero-touch join, simulated: the example cluster's three nodes in network namespaces on a
// private bridge, each running its real bootstrap script from its generated user-data, with
// stand-ins for kubeadm, kubectl, apt and systemctl and a stand-in API server (test/stand-ins/)
// that serves TLS with a certificate from the cluster CA and checks tokens, certificates and
// RBAC as the real one does. Workers fetch their join scripts from it with real curl and join
// through kubeadm's token discovery. Needs root and `ip netns`: it skips loudly elsewhere and
// fails in CI when it cannot run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { caCertHash, readSecrets } from '../src/secrets/cluster-secrets.js';
import { REPO, builtSeedWorkspace } from './helpers.js';
import { SimCluster, canUseNetns, waitFor, type SimNode } from './sim/cluster-sim.js';

const why = canUseNetns();
if (why) {
  if (process.env.CI === 'true') throw new Error(`the join simulation must run in CI but cannot: ${why}`);
  console.warn(`\n!!! SKIPPED: join simulation (network namespaces): ${why}\n`);
}

const NODES: SimNode[] = [
  { name: 'mas01', address: '192.168.1.101', prefix: 24 },
  { name: 'work01', address: '192.168.1.102', prefix: 24 },
  { name: 'work02', address: '192.168.1.103', prefix: 24 },
];
const DESKTOP: SimNode = { name: 'desk', address: '192.168.1.50', prefix: 24 };
const WORKERS = ['work01', 'work02'];
const CLI = join(REPO, 'bin', 'pi-seed.js');

/** The seed example built with its (test) secrets, as a user would. */
const buildSeed = () => builtSeedWorkspace('pi-seed-sim-build-');

function calls(sim: SimCluster, prefix: string): string[] {
  return readFileSync(join(sim.doubles, 'calls.log'), 'utf8').split('\n').filter((l) => l.startsWith(prefix));
}

const joined = (sim: SimCluster, node: string) => existsSync(join(sim.doubles, 'joined', node));

const scenario = why ? test.skip : test;

scenario('workers booted first wait, then join through the API server; RBAC, tokens, status and kubeconfig hold', async () => {
  const { config, out } = await buildSeed();
  const secrets = readSecrets(join(config, '..', 'cluster.secrets.yaml'));
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const workerRuns = WORKERS.map((w) => sim.boot(w));
    // The workers prepare what does not need the control plane, then poll its API server.
    await waitFor('workers polling the control plane', () => WORKERS.every((w) => /waiting for the control plane at 192\.168\.1\.101:6443/.test(sim.readSafe(w, 'var/log/pi-seed.log'))), 60_000);
    assert.ok(WORKERS.every((w) => existsSync(join(sim.root(w), 'var/lib/pi-seed/containerd.done'))), 'containerd was ready before the control plane');
    assert.not.ok(WORKERS.some((w) => existsSync(join(sim.root(w), 'var/lib/pi-seed/kubernetes.done'))), 'kubelet waits for the version the control plane names');

    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, `control plane bootstrap failed:\n${master.output}`);
    for (const run of workerRuns) assert.is(await run.exit, 0, `${run.node} bootstrap failed:\n${run.output}`);

    // kubeadm init used the bundle's CA (custom certificates), not one of its own.
    assert.is(sim.read('mas01', 'etc/kubernetes/pki/ca.crt'), secrets.certificateAuthorities.cluster.certificate);
    assert.match(readFileSync(join(sim.doubles, 'init', 'mas01.certs'), 'utf8'), /^ca existing$/m);
    assert.is(calls(sim, 'kubeadm init').length, 1);

    // Each worker joined with a JoinConfiguration: its own token, the CA pinned by its hash,
    // and installed exactly the version the control plane runs.
    const hash = caCertHash(secrets.certificateAuthorities.cluster.certificate);
    for (const worker of WORKERS) {
      assert.ok(joined(sim, worker), `${worker} joined`);
      const joinCall = calls(sim, 'kubeadm join').find((l) => l.includes(`/${worker}/`)) ?? calls(sim, 'kubeadm join').join('\n');
      assert.match(joinCall, /--config /);
      assert.match(sim.read(worker, 'var/log/pi-seed.log'), /join script fetched \(try \d+\): Kubernetes v1\.37\.1/);
      assert.ok(calls(sim, 'apt-get').some((l) => / kubeadm=1\.37\.1-1\.1/.test(l)), 'workers install the exact package version');
      assert.not.ok(existsSync(join(sim.root(worker), 'var/lib/pi-seed/join-configuration.yaml')), `${worker}: the JoinConfiguration with the token is removed after the join`);
      assert.is(statSync(join(sim.root(worker), 'etc/pi-seed/secrets/token')).mode & 0o777, 0o600);
    }
    const servedHash = sim.kubectl('mas01', ['-n', 'pi-seed', 'get', 'configmap', 'join-work01', '-o', 'jsonpath={.binaryData.join-configuration\\.yaml}']);
    assert.ok(Buffer.from(servedHash.stdout, 'base64').toString('utf8').includes(hash), `the served JoinConfiguration pins ${hash}`);

    // The control plane's timer (played here) labels the workers and deletes their used tokens.
    await waitFor('workers labelled and tokens deleted', () => {
      sim.exec('mas01', ['bash', join(sim.root('mas01'), 'usr/local/sbin/pi-seed-nodes')]);
      const nodes = JSON.parse(sim.kubectl('mas01', ['get', 'nodes', '-o', 'json']).stdout || '{"items":[]}') as { items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> };
      const labelled = WORKERS.every((w) => nodes.items.some((n) => n.metadata.name === w && n.metadata.labels?.['node-role.kubernetes.io/worker'] === ''));
      const tokensLeft = sim.kubectl('mas01', ['-n', 'kube-system', 'get', 'secrets', '-l', 'pi-seed.io/node', '-o', 'name']).stdout.trim();
      return labelled && tokensLeft === '';
    }, 30_000);

    // A stolen worker card after its node joined: its token no longer authenticates.
    const stolen = sim.apiRequest('desk', 'GET', '/api/v1/namespaces/pi-seed/configmaps/join-work01', { token: secrets.bootstrapTokens.work01! });
    assert.is(stolen.status, 401, `a used token is refused: ${stolen.body}`);

    // The desktop: status and kubeconfig, both verified against the cluster CA.
    const status = sim.exec('desk', [process.execPath, CLI, 'status', '--config', config, '--json']);
    assert.is(status.code, 0, `pi-seed status: ${status.stderr}`);
    const phases = Object.fromEntries((JSON.parse(status.stdout) as { nodes: Array<{ name: string; phase: string }> }).nodes.map((n) => [n.name, n.phase]));
    assert.equal(phases, { mas01: 'ready', work01: 'joined', work02: 'joined' });
    const kubeconfig = join(sim.work, 'desk.kubeconfig');
    const minted = sim.exec('desk', [process.execPath, CLI, 'kubeconfig', '--config', config, '--out', kubeconfig, '--ttl', '10m']);
    assert.is(minted.code, 0, minted.stderr);
    assert.is(statSync(kubeconfig).mode & 0o777, 0o600);
    const nodes = sim.exec('desk', ['kubectl', '--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'name']);
    assert.is(nodes.code, 0, nodes.stderr);
    assert.equal(nodes.stdout.trim().split('\n').sort(), ['node/mas01', 'node/work01', 'node/work02']);

    // Day 2 (docs/day-2.md): the formed cluster matches cluster.yaml; a worker added to it (and
    // built: its token) is a node to register; the plan is read through the API server as status is.
    const settled = sim.exec('desk', [process.execPath, CLI, 'plan', '--config', config, '--json']);
    const formedPlan = JSON.parse(settled.stdout) as { changes: Array<{ action: string; node: string }>; problems: unknown[] };
    assert.equal([formedPlan.changes, formedPlan.problems], [[], []], settled.stdout + settled.stderr);
    assert.is(settled.code, 0);
    const grown = yaml.load(readFileSync(config, 'utf8')) as { nodes: unknown[] };
    grown.nodes.push({ name: 'work03', role: 'worker', address: '192.168.1.104', board: 'pi4', memory: '4GB' });
    writeFileSync(config, yaml.dump(grown));
    const built = sim.exec('desk', [process.execPath, CLI, 'build', '--config', config, '--node', 'work03', '--out', join(sim.work, 'grown-out')]);
    assert.is(built.code, 0, built.stderr);
    const grownPlan = sim.exec('desk', [process.execPath, CLI, 'plan', '--config', config]);
    assert.is(grownPlan.code, 1, grownPlan.stdout + grownPlan.stderr);
    assert.match(grownPlan.stdout, /^  \+ register work03 \(worker\)/m);
    assert.equal(grownPlan.stdout.split('\n').filter((l) => /^  [-+~] /.test(l)).length, 1, grownPlan.stdout);

    // Secrets: moved off the FAT partition, root only; nothing else repeated.
    for (const node of NODES.map((n) => n.name)) {
      assert.not.ok(existsSync(join(sim.root(node), 'boot/firmware/pi-seed-node.key')), `${node}: key left on the boot partition`);
      assert.is(statSync(join(sim.root(node), 'etc/pi-seed/node.key')).mode & 0o777, 0o600);
      assert.is(statSync(join(sim.root(node), 'etc/pi-seed/secrets')).mode & 0o777, 0o700);
      const hosts = sim.read(node, 'etc/hosts');
      assert.match(hosts, /# a line of the owner/);
      assert.match(hosts, /^192\.168\.1\.103 work02 work02\.example\.com$/m);
      assert.match(sim.read(node, 'etc/containerd/config.toml'), /SystemdCgroup = true/);
      assert.match(sim.read(node, 'var/log/pi-seed.log'), /bootstrap finished/);
      assert.is(statSync(join(sim.root(node), 'var/log/pi-seed.log')).mode & 0o777, 0o600);
      for (const token of Object.values(secrets.bootstrapTokens)) assert.not.ok(sim.read(node, 'var/log/pi-seed.log').includes(token.split('.')[1]!), `${node}: a token secret in the log`);
    }
    assert.is(sim.read('mas01', 'etc/kubernetes/pki/ca.key'), secrets.certificateAuthorities.cluster.privateKey);
    assert.is(statSync(join(sim.root('mas01'), 'etc/kubernetes/pki/ca.key')).mode & 0o777, 0o600);

    // A reboot after the bootstrap finished repeats nothing: every phase has its marker.
    for (const node of ['mas01', 'work01']) {
      rmSync(join(sim.root(node), 'var/lib/pi-seed/bootstrap.done'));
      const again = sim.boot(node);
      assert.is(await again.exit, 0, again.output);
      assert.not.match(again.output, /phase (kubeadm-init|join): start/);
    }
    assert.is(calls(sim, 'kubeadm init').length, 1, 'no second kubeadm init');
    assert.is(calls(sim, 'kubeadm join').length, 2, 'no second kubeadm join');
    assert.is(calls(sim, 'kubeadm reset').length, 0, 'nothing needed a reset');
    assert.ok(calls(sim, 'kubectl apply -f').some((l) => l.endsWith('/var/lib/pi-seed/kube-flannel.yml')));
  } finally {
    sim.teardown();
  }
});

scenario('RBAC: a worker reads only its own join script and writes only its own report', async () => {
  const { config, out } = await buildSeed();
  const secrets = readSecrets(join(config, '..', 'cluster.secrets.yaml'));
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    const token = secrets.bootstrapTokens.work01!;
    const own = sim.apiRequest('work01', 'GET', '/api/v1/namespaces/pi-seed/configmaps/join-work01', { token });
    assert.is(own.status, 200, own.body);
    const other = sim.apiRequest('work01', 'GET', '/api/v1/namespaces/pi-seed/configmaps/join-work02', { token });
    assert.is(other.status, 403, other.body);
    assert.match(other.body, /configmaps \\?"join-work02\\?" is forbidden: User \\?"system:bootstrap:[a-z0-9]{6}\\?" cannot get resource \\?"configmaps\\?"/);
    const patch = JSON.stringify({ data: { phase: 'joined' } });
    assert.is(sim.apiRequest('work01', 'PATCH', '/api/v1/namespaces/pi-seed/configmaps/report-work01', { token, body: patch }).status, 200);
    assert.is(sim.apiRequest('work01', 'PATCH', '/api/v1/namespaces/pi-seed/configmaps/report-work02', { token, body: patch }).status, 403);
    assert.is(sim.apiRequest('work01', 'PATCH', '/api/v1/namespaces/pi-seed/configmaps/report-mas01', { token, body: patch }).status, 403);
    // Creating a report of its own choosing is refused too (RBAC cannot scope create by name).
    const create = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'report-x' } });
    assert.is(sim.apiRequest('work01', 'POST', '/api/v1/namespaces/pi-seed/configmaps', { token, body: create, contentType: 'application/json' }).status, 403);
    // A token that is not the cluster's, and no token at all.
    assert.is(sim.apiRequest('work01', 'GET', '/api/v1/namespaces/pi-seed/configmaps/join-work01', { token: 'abcdef.0123456789abcdef' }).status, 401);
    assert.is(sim.apiRequest('work01', 'GET', '/api/v1/namespaces/pi-seed/configmaps/join-work01', {}).status, 403);
  } finally {
    sim.teardown();
  }
});

scenario('a worker whose card has no key says so and stops cleanly', async () => {
  const { out } = await buildSeed();
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    rmSync(join(sim.root('work02'), 'boot/firmware/pi-seed-node.key'));
    const run = sim.boot('work02');
    assert.is(await run.exit, 0, 'no crash loop');
    assert.match(run.output, /NO NODE KEY/);
    assert.match(sim.read('work02', 'var/log/pi-seed.log'), /no node key on this card/);
    assert.not.ok(joined(sim, 'work02'));
  } finally {
    sim.teardown();
  }
});

scenario('a key file of the old format stops the bootstrap with what to do', async () => {
  const { out } = await buildSeed();
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    writeFileSync(join(sim.root('work01'), 'boot/firmware/pi-seed-node.key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const run = sim.boot('work01');
    assert.is(await run.exit, 0, 'no crash loop');
    assert.match(sim.read('work01', 'var/log/pi-seed.log'), /not one this pi-seed version reads: run pi-seed build and pi-seed write for work01 again/);
    assert.not.ok(joined(sim, 'work01'));
  } finally {
    sim.teardown();
  }
});

test.run();
