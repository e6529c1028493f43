// The HA example's outputs, checked against cluster.yaml (not against themselves): who runs
// kubeadm init, who joins as a control plane, what each card's key file holds, and keepalived's
// VRRP settings (peers, priorities below the check's weight, one router id and tag).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { builtExamples, fixtureTrust, REPO, userDataWriteFiles } from './helpers.js';
import { nodeWriteFiles } from '../src/render/node-files.js';
import { parseSecretBundle } from '../src/secrets/cluster-secrets.js';
import { validateText } from '../src/validate/index.js';
import { planCluster } from '../src/plan/plan.js';

type Node = { name: string; role: string; address: string };
const configText = readFileSync(join(REPO, 'examples', 'ha', 'cluster.yaml'), 'utf8');
const config = yaml.load(configText) as { kubernetes: { controlPlaneEndpoint: { address: string } }; nodes: Node[] };
const vip = config.kubernetes.controlPlaneEndpoint.address;
const controlPlanes = config.nodes.filter((n) => n.role === 'control-plane');
const [initNode, ...joiningControlPlanes] = controlPlanes;
const built = (await builtExamples()).filter((b) => b.example === 'ha');
const dirOf = (name: string) => built.find((b) => b.node === name)!.dir;
const writeFile = (node: string, path: string) => userDataWriteFiles(join(dirOf(node), 'user-data')).find((f) => f.path === path)?.content;
const keyFile = (node: string) => new Map(parseSecretBundle(readFileSync(join(dirOf(node), 'pi-seed-node.key'), 'utf8')).entries.map((e) => [e.name, e.content]));
const bootstrap = (node: string) => writeFile(node, '/usr/local/sbin/pi-seed-bootstrap')!;

test('the example is an HA cluster: three control planes, workers, an endpoint', () => {
  assert.is(controlPlanes.length, 3);
  assert.ok(config.nodes.length > controlPlanes.length);
  assert.equal(built.map((b) => b.node).sort(), config.nodes.map((n) => n.name).sort());
});

test('only the first control plane runs kubeadm init; the others join as control planes through the endpoint', () => {
  assert.match(bootstrap(initNode!.name), /kubeadm init --skip-token-print/);
  assert.ok(writeFile(initNode!.name, '/etc/pi-seed/kubeadm-cluster.yaml'));
  for (const node of config.nodes.slice(1)) {
    // A command, not a comment: no line outside comments runs kubeadm init.
    assert.not.match(bootstrap(node.name).replace(/^\s*#.*$/gm, ''), /kubeadm init/, `${node.name} must never run kubeadm init`);
    assert.is(writeFile(node.name, '/etc/pi-seed/kubeadm-cluster.yaml'), undefined);
    assert.match(bootstrap(node.name), new RegExp(`^API_SERVER='${vip.replace(/\./g, '\\.')}:6443'$`, 'm'));
  }
  const cluster = yaml.loadAll(writeFile(initNode!.name, '/etc/pi-seed/kubeadm-cluster.yaml')!) as Array<{ kind: string; controlPlaneEndpoint?: string; apiServer?: { certSANs: string[] } }>;
  const clusterConfig = cluster.find((d) => d.kind === 'ClusterConfiguration')!;
  assert.is(clusterConfig.controlPlaneEndpoint, `${vip}:6443`);
  for (const name of [vip, ...controlPlanes.map((c) => c.address)]) assert.ok(clusterConfig.apiServer!.certSANs.includes(name), `certSANs lack ${name}`);
  // The served JoinConfigurations: a controlPlane section exactly for the control planes.
  const served = yaml.loadAll(writeFile(initNode!.name, '/etc/pi-seed/manifests/pi-seed-namespace.yaml')!) as Array<{ kind: string; metadata: { name: string }; binaryData?: Record<string, string> }>;
  for (const node of config.nodes.slice(1)) {
    const map = served.find((d) => d.kind === 'ConfigMap' && d.metadata.name === `join-${node.name}`)!;
    const join = yaml.load(Buffer.from(map.binaryData!['join-configuration.yaml']!, 'base64').toString()) as { controlPlane?: { localAPIEndpoint: { advertiseAddress: string } }; discovery: { bootstrapToken: { apiServerEndpoint: string } } };
    assert.is(join.discovery.bootstrapToken.apiServerEndpoint, `${vip}:6443`);
    if (node.role === 'control-plane') assert.is(join.controlPlane?.localAPIEndpoint.advertiseAddress, node.address);
    else assert.is(join.controlPlane, undefined);
  }
  // The same apply creates every node's report with its role and no phase (only its node writes
  // that: applying the file again must not reset it), and the holder's ConfigMap with no holder.
  const objects = served as Array<{ kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string> }>;
  for (const node of config.nodes) {
    const report = objects.find((d) => d.kind === 'ConfigMap' && d.metadata.name === `report-${node.name}`);
    assert.equal(report?.data, { role: node.role }, `report-${node.name}`);
    assert.is(report?.metadata.labels?.['pi-seed.io/node'], node.name);
    assert.ok(report?.metadata.labels && 'pi-seed.io/report' in report.metadata.labels);
  }
  assert.equal(objects.find((d) => d.metadata.name === 'control-plane-endpoint')?.data, { address: vip });
});

test('key files: the shared PKI on every control plane, a token on every joining node, the init node lists them all', () => {
  const init = keyFile(initNode!.name);
  const initConfig = yaml.load(init.get('kubeadm-init.yaml')!) as { bootstrapTokens: Array<{ token: string; description: string }> };
  const pki = [...init.keys()].filter((k) => k.startsWith('pki/'));
  assert.ok(pki.includes('pki/etcd/ca.key') && pki.includes('pki/sa.key') && pki.includes('pki/front-proxy-ca.key'));
  for (const node of config.nodes.slice(1)) {
    const own = keyFile(node.name);
    const token = own.get('token')!.trim();
    const listed = initConfig.bootstrapTokens.find((t) => t.description.endsWith(` ${node.name}`));
    assert.is(listed?.token, token, `${node.name}'s token is in the InitConfiguration`);
    if (node.role === 'control-plane') for (const file of pki) assert.is(own.get(file), init.get(file), `${node.name} ${file}`);
    else assert.equal([...own.keys()], ['token']);
    assert.not.ok(own.has('kubeadm-init.yaml'));
  }
  assert.is(initConfig.bootstrapTokens.length, config.nodes.length - 1);
});

test('keepalived: unicast peers are the other control planes; priorities fall in cluster.yaml order and their spread is below the check weight', () => {
  const settings = controlPlanes.map((cp) => {
    const text = writeFile(cp.name, '/etc/keepalived/keepalived.conf')!;
    const peers = /unicast_peer \{\n([^}]*)\}/.exec(text)![1]!.trim().split(/\s+/);
    return {
      cp,
      peers,
      priority: Number(/^\s*priority (\d+)$/m.exec(text)![1]),
      weight: -Number(/^\s*weight (-\d+)$/m.exec(text)![1]),
      routerId: /virtual_router_id (\d+)/.exec(text)![1],
      pass: /auth_pass (\S+)/.exec(text)![1]!,
      vip: /virtual_ipaddress \{\n\s*(\S+) dev (\S+)/.exec(text)!.slice(1),
      source: /unicast_src_ip (\S+)/.exec(text)![1],
    };
  });
  for (const s of settings) {
    assert.equal(s.peers.sort(), controlPlanes.filter((c) => c !== s.cp).map((c) => c.address).sort());
    assert.is(s.source, s.cp.address);
    assert.equal(s.vip, [`${vip}/24`, 'eth0']);
    assert.ok(s.pass.length <= 8, 'VRRP uses only the first 8 characters');
  }
  const priorities = settings.map((s) => s.priority);
  assert.equal([...priorities].sort((a, b) => b - a), priorities, 'falling in cluster.yaml order');
  assert.is(new Set(priorities).size, priorities.length);
  assert.ok(settings[0]!.weight > Math.max(...priorities) - Math.min(...priorities), 'a failing check outranks the whole spread');
  assert.is(new Set(settings.map((s) => `${s.routerId}/${s.pass}/${s.weight}`)).size, 1, 'one VRRP instance');
  assert.is(settings[0]!.routerId, vip.split('.')[3]);
  for (const cp of controlPlanes) {
    assert.match(writeFile(cp.name, '/usr/local/lib/pi-seed/check-apiserver.sh')!, new RegExp(`https://'${cp.address.replace(/\./g, '\\.')}':'6443'/livez`));
    assert.is(writeFile(cp.name, '/etc/pi-seed/virtual-ip'), `${vip}\n`);
    // keepalived is installed and started before kubeadm runs.
    const script = bootstrap(cp.name);
    const started = script.indexOf('run_once keepalived start_keepalived');
    const kubeadm = script.indexOf(cp === initNode ? '\n  control_plane\n' : '\n  join_node\n');
    assert.ok(started > 0 && kubeadm > started, `${cp.name}: keepalived before kubeadm`);
  }
  for (const worker of config.nodes.filter((n) => n.role === 'worker')) assert.is(writeFile(worker.name, '/etc/keepalived/keepalived.conf'), undefined);
});

test('one control plane with an endpoint: keepalived without peers (ready to grow); without one: no keepalived at all', () => {
  const single = configText.replace(/  - name: mas02[\s\S]*?storage: usb-ssd\n/, '');
  const spec = validateText('cluster.yaml', single).spec!;
  assert.ok(spec, 'a single control plane with an endpoint is valid');
  const plan = planCluster(spec);
  assert.is(plan.controlPlanes.length, 1);
  assert.is(plan.kubernetes.endpoint, `${vip}:6443`);
  assert.is(plan.virtualIP!.members.length, 1);
  const alone = nodeWriteFiles(plan, plan.initNode, fixtureTrust()).find((f) => f.path === '/etc/keepalived/keepalived.conf')!.content;
  assert.not.match(alone, /unicast_peer|unicast_src_ip/, 'a lone member needs no peers');
  assert.match(alone, /virtual_ipaddress/);
  const noEndpoint = planCluster(validateText('cluster.yaml', single.replace(/  controlPlaneEndpoint:\n(    .*\n)+/, '')).spec!);
  assert.is(noEndpoint.virtualIP, null);
  assert.not.ok(nodeWriteFiles(noEndpoint, noEndpoint.initNode, fixtureTrust()).some((f) => f.path.includes('keepalived')));
  assert.is(noEndpoint.kubernetes.endpoint, `${noEndpoint.initNode.address}:6443`);
});

test.run();
