// Property tests: random valid clusters always build, deterministically, into outputs that pass
// the newest cloud-init schemas; random mutations of a valid config always give a located
// validation error, never a crash, and write nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { formatIPv4, parseIPv4 } from '../src/plan/ipv4.js';
import { planCluster } from '../src/plan/plan.js';
import { publicTree } from '../src/pipeline.js';
import { KUBERNETES_MAX, KUBERNETES_MIN } from '../src/spec/v1/support.js';
import { validateText } from '../src/validate/index.js';
import { cloudInitValidator, fixtureTrust, missingSchema, runCli, tempDir, testNeeding } from './helpers.js';

const RELEASES = ['20.04', '22.04', '24.04', '26.04'] as const;
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/).filter((s) => !s.includes('--'));

/** A random valid cluster: 1–50 nodes on a random private LAN with its prefix. */
const validCluster = fc
  .record({
    names: fc.uniqueArray(label, { minLength: 1, maxLength: 50 }),
    lanBase: fc.oneof(fc.constant('192.168.0.0'), fc.constant('172.16.0.0')),
    prefix: fc.integer({ min: 16, max: 26 }),
    block: fc.nat(),
    release: fc.constantFrom(...RELEASES),
    minor: fc.integer({ min: Number(KUBERNETES_MIN.split('.')[1]), max: Number(KUBERNETES_MAX.split('.')[1]) }),
    ipv6: fc.boolean(),
    demo: fc.boolean(),
    domain: fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.')),
    cluster: label,
    boards: fc.array(fc.constantFrom('pi3b', 'pi4', 'pi5'), { minLength: 50, maxLength: 50 }),
  })
  .map((r) => {
    // Place the LAN inside its private range: a /prefix block chosen by `block`.
    const rangeSize = r.lanBase === '192.168.0.0' ? 2 ** 16 : 2 ** 20;
    const blockSize = 2 ** (32 - r.prefix);
    const network = parseIPv4(r.lanBase)! + (r.block % Math.max(1, rangeSize / blockSize)) * blockSize;
    const last = network + blockSize - 1;
    const pi5ok = r.release === '24.04' || r.release === '26.04';
    // Ubuntu 20.04 runs at most Kubernetes 1.35 (containerd 1.7): a newer minor is a validate error.
    const minor = r.release === '20.04' ? Math.min(r.minor, 35) : r.minor;
    const nodes = r.names.map((name, i) => {
      let board = r.boards[i]!;
      if (board === 'pi5' && !pi5ok) board = 'pi4';
      if (i === 0 && board === 'pi3b') board = 'pi4';
      const memory = board === 'pi3b' ? '1GB' : board === 'pi5' ? '8GB' : i === 0 ? '4GB' : '2GB';
      return { name, role: i === 0 ? 'control-plane' : 'worker', address: formatIPv4(network + 2 + i), board, memory };
    });
    return {
      apiVersion: 'pi-seed/v1',
      cluster: { name: r.cluster, domain: r.domain },
      kubernetes: { version: `1.${minor}`, metallb: { addresses: `${formatIPv4(last - 8)}-${formatIPv4(last - 1)}` } },
      network: { subnet: `${formatIPv4(network)}/${r.prefix}`, gateway: formatIPv4(network + 1), ipv6: r.ipv6 },
      os: { ubuntu: r.release },
      admin: { sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqO6n1ZbBsmOpPw2nG0d3xE1x2bDRgqQpXbJ1d2dJxY me'] },
      nodes,
      addons: { demo: r.demo },
    };
  });

const CLOUD_CONFIG = 'schema-cloud-config-v1.json';
const NETWORK_CONFIG = 'schema-network-config-v2.json';

/** A random valid cluster's text, its validation and its rendered files. */
function rendered(cluster: ReturnType<typeof validCluster.generate>['value']) {
  const text = yaml.dump(cluster);
  const result = validateText('cluster.yaml', text);
  assert.equal(result.diagnostics.filter((d) => d.severity === 'error'), [], text);
  return { text, files: publicTree(planCluster(result.spec!), fixtureTrust()) };
}

test('random valid clusters validate and build deterministically', () => {
  fc.assert(
    fc.property(validCluster, (cluster) => {
      const { text, files: first } = rendered(cluster);
      const second = publicTree(planCluster(validateText('cluster.yaml', text).spec!), fixtureTrust());
      assert.equal([...first.keys()], [...second.keys()]);
      for (const [path, file] of first) assert.is(file.content, second.get(path)!.content, `${path} is not deterministic`);
      assert.is(first.size, cluster.nodes.length * 4 + 2);
    }),
    { numRuns: 20 },
  );
});

test('a node\'s instance-id is its identity: edits of cluster.yaml keep it, only a new generation changes it', () => {
  const instanceIds = (files: ReturnType<typeof rendered>['files']) =>
    new Map([...files].filter(([path]) => path.endsWith('/meta-data')).map(([path, file]) => [path, /^instance-id: (.*)$/m.exec(String(file.content))![1]!]));
  fc.assert(
    fc.property(validCluster, fc.boolean(), fc.boolean(), (cluster, ipv6, demo) => {
      const before = instanceIds(rendered(cluster).files);
      // Other settings, and a node added: every id there before stays.
      const spare = formatIPv4(parseIPv4(cluster.nodes[cluster.nodes.length - 1]!.address)! + 1);
      const edited = { ...cluster, network: { ...cluster.network, ipv6 }, addons: { demo }, nodes: [...cluster.nodes, { name: 'zz-added', role: 'worker', address: spare, board: 'pi4' as const, memory: '2GB' }] };
      const after = instanceIds(rendered(edited).files);
      for (const [path, id] of before) assert.is(after.get(path), id, path);
      assert.is(new Set(after.values()).size, after.size, 'every node has an id of its own');
      // A replaced node (the next generation) gets a new id, and no other node does.
      const first = cluster.nodes[0]!.name;
      const trust = { ...fixtureTrust(), generationOf: (node: string) => (node === first ? 2 : 1) };
      const replaced = instanceIds(publicTree(planCluster(validateText('cluster.yaml', yaml.dump(cluster)).spec!), trust));
      for (const [path, id] of before) assert.is(replaced.get(path) === id, path !== `${first}/meta-data`, path);
    }),
    { numRuns: 20 },
  );
});

testNeeding('random valid clusters pass the cloud-init schemas', missingSchema(CLOUD_CONFIG) ?? missingSchema(NETWORK_CONFIG), () => {
  const cloudConfig = cloudInitValidator(CLOUD_CONFIG);
  const networkConfig = cloudInitValidator(NETWORK_CONFIG);
  fc.assert(
    fc.property(validCluster, (cluster) => {
      for (const [path, file] of rendered(cluster).files) {
        if (path.endsWith('/user-data')) assert.ok(cloudConfig(yaml.load(String(file.content))), `${path}: ${JSON.stringify(cloudConfig.errors)}`);
        if (path.endsWith('/network-config')) assert.ok(networkConfig(yaml.load(String(file.content))), `${path}: ${JSON.stringify(networkConfig.errors)}`);
      }
    }),
    { numRuns: 20 },
  );
});

/** Mutations that always break a valid config. */
type Mutation = (c: any) => void;
const mutations: Array<[string, Mutation]> = [
  ['drop apiVersion', (c) => delete c.apiVersion],
  ['drop the nodes', (c) => delete c.nodes],
  ['empty node list', (c) => (c.nodes = [])],
  ['unknown top-level key', (c) => (c.extra = 1)],
  ['unknown node key', (c) => (c.nodes[0].adress = c.nodes[0].address)],
  ['number for a string', (c) => (c.cluster.name = 42)],
  ['list for a mapping', (c) => (c.network = [])],
  ['string for a list', (c) => (c.nodes = 'mas01')],
  ['null node', (c) => (c.nodes[0] = null)],
  ['duplicate name', (c) => c.nodes.push({ ...c.nodes[0], address: '203.0.113.9' })],
  ['address off the LAN', (c) => (c.nodes[0].address = '203.0.113.9')],
  ['bad address', (c) => (c.nodes[0].address = '1.2.3')],
  ['second control plane', (c) => c.nodes.push({ ...c.nodes[0], name: 'zz-extra-cp' })],
  ['no control plane', (c) => (c.nodes[0].role = 'worker')],
  ['bad role', (c) => (c.nodes[0].role = 'master')],
  ['bad release', (c) => (c.os.ubuntu = '18.04')],
  ['unsupported version', (c) => (c.kubernetes.version = '1.20')],
  ['shell in a name', (c) => (c.nodes[0].name = '$(reboot)')],
  ['newline in the domain', (c) => (c.cluster.domain = 'a.b\nc')],
  ['quote in the timezone', (c) => (c.os.timezone = "Asia/To'kyo")],
  ['pool overlapping the gateway', (c) => (c.kubernetes.metallb.addresses = `${c.network.gateway}-${c.network.gateway}`)],
  ['pod network = LAN', (c) => (c.kubernetes.podCIDR = c.network.subnet)],
  ['gateway off the LAN', (c) => (c.network.gateway = '203.0.113.1')],
];

test('random mutations of valid configs give located errors, never a crash, and write nothing', async () => {
  const samples = fc.sample(fc.tuple(validCluster.filter((c) => c.nodes.length <= 5), fc.constantFrom(...mutations)), { numRuns: 60, seed: 42 });
  const dir = tempDir();
  for (const [cluster, [name, mutate]] of samples) {
    const mutated = structuredClone(cluster);
    mutate(mutated);
    const text = yaml.dump(mutated);
    const result = validateText('cluster.yaml', text);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    assert.ok(errors.length > 0, `${name}: no error for\n${text}`);
    for (const e of errors) {
      assert.ok(Array.isArray(e.path), `${name}: error without a path`);
      assert.ok(e.line && e.col, `${name}: error without a position`);
    }
    assert.is(result.spec, undefined);
  }
  // And through the CLI, the same inputs write nothing.
  for (const [cluster, [name, mutate]] of samples.slice(0, 15)) {
    const mutated = structuredClone(cluster);
    mutate(mutated);
    const config = join(dir, 'cluster.yaml');
    writeFileSync(config, yaml.dump(mutated));
    const out = join(dir, 'out');
    const result = await runCli(['build', '--config', config, '--out', out]);
    assert.is(result.code, 1, `${name}: ${result.stderr}`);
    assert.not.ok(existsSync(out), `${name}: wrote output`);
    assert.not.ok(existsSync(join(dir, 'cluster.secrets.yaml')), `${name}: wrote secrets`);
  }
});

test.run();
