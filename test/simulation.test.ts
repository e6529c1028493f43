// The zero-touch join, simulated: the example cluster's three nodes in network namespaces on a
// private bridge, each running its real bootstrap script from its generated user-data, with
// test doubles for kubeadm, kubectl, apt and systemctl. Needs root and `ip netns`: it skips
// loudly elsewhere and fails in CI when it cannot run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

/** The seed example built with its secrets, as a user would. */
const buildSeed = () => builtSeedWorkspace('pi-seed-sim-build-');

function caHash(sim: SimCluster): string {
  const der = createPublicKey(sim.read('mas01', 'etc/kubernetes/pki/ca.crt')).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

function tokens(sim: SimCluster): string[] {
  const file = join(sim.doubles, 'tokens');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function calls(sim: SimCluster, prefix: string): string[] {
  return readFileSync(join(sim.doubles, 'calls.log'), 'utf8').split('\n').filter((l) => l.startsWith(prefix));
}

const joined = (sim: SimCluster, node: string) => existsSync(join(sim.doubles, 'joined', node));
const labelled = (sim: SimCluster, node: string) => existsSync(join(sim.doubles, 'labels', node)) && readFileSync(join(sim.doubles, 'labels', node), 'utf8').includes('node-role.kubernetes.io/worker=');

async function status(sim: SimCluster, config: string): Promise<{ nodes: Array<{ name: string; role: string; phase: string; error: string | null }> }> {
  const result = sim.exec('desk', [process.execPath, join(REPO, 'bin', 'pi-seed.js'), 'status', '--config', config, '--json']);
  assert.is(result.code, 0, `pi-seed status: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A raw protocol client run from the desktop namespace (an attacker on the LAN). */
function lanClient(sim: SimCluster, script: string): { code: number | null; stdout: string; stderr: string } {
  const protocol = join(REPO, 'dist', 'src', 'join', 'protocol.js');
  const program = `
    import * as p from ${JSON.stringify(protocol)};
    import http from 'node:http';
    const post = (path, body) => new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = http.request({ host: '192.168.1.101', port: 7080, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, timeout: 5000 }, (res) => {
        let text = ''; res.on('data', (d) => (text += d)); res.on('end', () => resolve({ status: res.statusCode, body: text }));
      });
      req.on('error', reject); req.on('timeout', () => req.destroy(new Error('timeout'))); req.end(data);
    });
    const nonce = async () => JSON.parse((await post('/v1/nonce', {})).body).nonce;
    ${script}
  `;
  return sim.exec('desk', [process.execPath, '--input-type=module', '-e', program]);
}

const scenario = why ? test.skip : test;

scenario('workers booted first wait, then join within seconds of the master; attacks are refused; status shows all joined', async () => {
  const { config, out } = await buildSeed();
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const workerRuns = WORKERS.map((w) => sim.boot(w));
    // The workers prepare and start polling before the master exists.
    await waitFor('workers polling the master', () => WORKERS.every((w) => existsSync(join(sim.root(w), 'var/lib/pi-seed/kubernetes.done'))), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.not.ok(WORKERS.some((w) => joined(sim, w)), 'nobody joins without a master');

    const master = sim.boot('mas01');
    const masterExit = await master.exit;
    assert.is(masterExit, 0, `master bootstrap failed:\n${master.output}`);
    const up = Date.now();
    for (const run of workerRuns) assert.is(await run.exit, 0, `${run.node} bootstrap failed:\n${run.output}`);
    const convergence = Date.now() - up;
    // Workers back off to at most 10 s between tries (join.json), so they join promptly.
    assert.ok(convergence < 25_000, `workers joined ${convergence} ms after the master finished`);

    // Both joined with a token the master minted and the CA hash of the master's real CA.
    const minted = tokens(sim);
    const hash = caHash(sim);
    for (const worker of WORKERS) {
      const args = readFileSync(join(sim.doubles, 'joined', worker), 'utf8');
      const token = /--token '?([a-z0-9]{6}\.[a-z0-9]{16})/.exec(args)?.[1];
      assert.ok(token && minted.includes(token), `${worker} joined with a token the master minted: ${args}`);
      assert.ok(args.includes(hash), `${worker} pins the CA hash ${hash}: ${args}`);
      assert.match(args, /192\.168\.1\.101:6443/);
      assert.match(args, new RegExp(`--node-name '?${worker}`));
    }
    await waitFor('workers labelled', () => WORKERS.every((w) => labelled(sim, w)), 20_000);

    // What every node did: init once, secrets moved, hosts kept, containerd on systemd cgroups.
    assert.is(calls(sim, 'kubeadm init').length, 1);
    assert.match(readFileSync(join(sim.doubles, 'init', 'kubeadm-config.yaml'), 'utf8'), /kubernetesVersion: v1\.37\.1/);
    // Every phase marker is flushed to disk (a Pi is unplugged, not shut down): one sync each.
    const markers = NODES.flatMap((n) => readdirSync(join(sim.root(n.name), 'var/lib/pi-seed')).filter((f) => f.endsWith('.done')));
    assert.ok(markers.length > 0 && calls(sim, 'sync').length >= markers.length, `${calls(sim, 'sync').length} syncs for ${markers.length} markers`);
    for (const node of NODES.map((n) => n.name)) {
      assert.not.ok(existsSync(join(sim.root(node), 'boot/firmware/pi-seed-node.key')), `${node}: key left on the boot partition`);
      assert.is(statSync(join(sim.root(node), 'etc/pi-seed/node.key')).mode & 0o777, 0o600);
      const hosts = sim.read(node, 'etc/hosts');
      assert.match(hosts, /# a line of the owner/);
      assert.match(hosts, /^192\.168\.1\.103 work02 work02\.example\.com$/m);
      assert.match(sim.read(node, 'etc/containerd/config.toml'), /SystemdCgroup = true/);
      assert.ok(existsSync(join(sim.root(node), 'var/lib/pi-seed/bootstrap.done')));
      assert.match(sim.read(node, 'var/log/pi-seed.log'), /bootstrap finished/);
    }
    assert.match(sim.read('work01', 'var/log/pi-seed.log'), /pi-seed-join: .*(try|attempt)/i, 'the worker logged its tries');

    // The desktop asks the master, authenticated with cluster.secrets.yaml.
    const report = await status(sim, config);
    const phases = Object.fromEntries(report.nodes.map((n) => [n.name, n.phase]));
    assert.equal(phases, { mas01: 'ready', work01: 'joined', work02: 'joined' });

    // Attacks from the LAN: forged MAC, replayed nonce, tampered request. None mints a token.
    const before = tokens(sim).length;
    const workKey = readFileSync(join(out, 'work01', 'pi-seed-node.key'), 'utf8').trim();
    const attack = lanClient(
      sim,
      `
      const key = Buffer.from(${JSON.stringify(workKey)}, 'hex');
      const wrong = Buffer.alloc(32, 7);
      const results = {};
      let n = await nonce();
      results.forged = (await post('/v1/join', { node: 'work01', nonce: n, mac: p.joinMac(wrong, n, 'work01') })).status;
      n = await nonce();
      results.tampered = (await post('/v1/join', { node: 'work02', nonce: n, mac: p.joinMac(key, n, 'work01') })).status;
      results.unknownNonce = (await post('/v1/join', { node: 'work01', nonce: 'ab'.repeat(32), mac: p.joinMac(key, 'ab'.repeat(32), 'work01') })).status;
      results.unknownNode = (await post('/v1/join', { node: 'mas01', nonce: (n = await nonce()), mac: p.joinMac(key, n, 'mas01') })).status;
      results.oversized = (await post('/v1/join', { node: 'work01', pad: 'x'.repeat(10000) })).status;
      n = await nonce();
      const good = { node: 'work01', nonce: n, mac: p.joinMac(key, n, 'work01') };
      results.legitimate = (await post('/v1/join', good)).status;
      results.replayed = (await post('/v1/join', good)).status;
      console.log(JSON.stringify(results));
    `,
    );
    assert.is(attack.code, 0, attack.stderr);
    const results = JSON.parse(attack.stdout);
    for (const kind of ['forged', 'tampered', 'unknownNonce', 'unknownNode', 'oversized', 'replayed']) {
      assert.ok(results[kind] >= 400 && results[kind] < 500, `${kind} was answered ${results[kind]}`);
    }
    assert.is(results.legitimate, 200);
    assert.is(tokens(sim).length, before + 1, 'only the one legitimate request minted a token');

    // A reboot after the bootstrap finished (or a second start of the unit) repeats nothing:
    // every phase has its marker, so kubeadm never runs twice.
    for (const node of ['mas01', 'work01']) {
      rmSync(join(sim.root(node), 'var/lib/pi-seed/bootstrap.done'));
      const again = sim.boot(node);
      assert.is(await again.exit, 0, again.output);
      assert.not.match(again.output, /phase (kubeadm-init|join): start/);
    }
    assert.is(calls(sim, 'kubeadm init').length, 1, 'no second kubeadm init');
    assert.is(calls(sim, 'kubeadm join').length, 2, 'no second kubeadm join');
    assert.is(calls(sim, 'kubeadm reset').length, 0, 'nothing needed a reset');
    // The add-ons were applied from the downloaded files, each after its digest matched.
    assert.ok(calls(sim, 'kubectl apply -f').some((l) => l.endsWith('/var/lib/pi-seed/kube-flannel.yml')));
  } finally {
    sim.teardown();
  }
});

scenario('a join service killed mid-way and restarted converges', async () => {
  const { out } = await buildSeed();
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const master = sim.boot('mas01');
    assert.is(await master.exit, 0, master.output);
    sim.killJoinService('mas01');
    const workerRuns = WORKERS.map((w) => sim.boot(w));
    await waitFor('workers polling the dead service', () => WORKERS.every((w) => /waiting-for-master|pi-seed-join: .*(try|attempt)/i.test(readFileSafe(join(sim.root(w), 'var/log/pi-seed.log')))), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.not.ok(WORKERS.some((w) => joined(sim, w)));
    // systemd's Restart=always brings it back; here the test plays systemd.
    const restart = sim.exec('mas01', ['systemctl', 'restart', 'pi-seed-join.service']);
    assert.is(restart.code, 0, restart.stderr);
    for (const run of workerRuns) assert.is(await run.exit, 0, `${run.node}:\n${run.output}`);
    await waitFor('workers labelled after the restart', () => WORKERS.every((w) => labelled(sim, w)), 20_000);
  } finally {
    sim.teardown();
  }
});

scenario('a worker whose card has no key says so and stops cleanly', async () => {
  const { out } = await buildSeed();
  const sim = new SimCluster(out, NODES);
  try {
    sim.setup(DESKTOP);
    const keyFile = join(sim.root('work02'), 'boot/firmware/pi-seed-node.key');
    rmSync(keyFile);
    const run = sim.boot('work02');
    assert.is(await run.exit, 0, 'no crash loop');
    assert.match(run.output, /NO NODE KEY/);
    assert.match(sim.read('work02', 'var/log/pi-seed.log'), /cannot join: no node key/);
    assert.not.ok(joined(sim, 'work02'));
  } finally {
    sim.teardown();
  }
});

function readFileSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

test.run();
