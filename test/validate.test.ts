// Table tests for validation: each case is an edit of a valid config and the diagnostic it must
// produce (code, JSON path, line), so every rule and every catalog entry is exercised.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatPath } from '../src/diagnostics.js';
import { validateText } from '../src/validate/index.js';

const BASE = `apiVersion: pi-seed/v1
cluster:
  name: home
  domain: example.com
kubernetes:
  version: "1.37"
  metallb:
    addresses: 192.168.1.210-192.168.1.215
network:
  subnet: 192.168.1.0/24
  gateway: 192.168.1.1
admin:
  sshAuthorizedKeys:
    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqO6n1ZbBsmOpPw2nG0d3xE1x2bDRgqQpXbJ1d2dJxY me
nodes:
  - name: mas01
    role: control-plane
    address: 192.168.1.101
    board: pi4
    memory: 8GB
  - name: work01
    role: worker
    address: 192.168.1.102
    board: pi4
    memory: 4GB
`;

/** Two more control planes after mas01 (on NVMe: no SD warning) and the endpoint: a valid HA cluster. */
const CONTROL_PLANES = (count: number, storage = 'nvme') =>
  Array.from({ length: count }, (_, i) => `  - name: mas0${i + 2}\n    role: control-plane\n    address: 192.168.1.${111 + i}\n    board: pi5\n    memory: 8GB\n    storage: ${storage}\n`).join('');
const HA: Array<[string, string]> = [
  ['  metallb:', '  controlPlaneEndpoint:\n    address: 192.168.1.100\n  metallb:'],
  ['    memory: 8GB\n', `    memory: 8GB\n    storage: nvme\n${CONTROL_PLANES(2)}`],
];
const endpoint = (address: string): Array<[string, string]> => [...HA, ['address: 192.168.1.100', `address: ${address}`]];

interface Case {
  name: string;
  /** [search, replace] edits applied to BASE, or a whole text. */
  edit: Array<[string, string]> | string;
  code: string;
  path: string;
  line?: number;
  severity?: 'error' | 'warning';
  message?: RegExp;
}

const CASES: Case[] = [
  { name: 'unknown key with suggestion', edit: [['    address: 192.168.1.102', '    adress: 192.168.1.102']], code: 'unknown-key', path: '$.nodes[1].adress', line: 23, message: /did you mean "address"/ },
  { name: 'unknown top-level key', edit: [['network:', 'netwrok:\n  x: 1\nnetwork:']], code: 'unknown-key', path: '$.netwrok', line: 9, message: /did you mean "network"/ },
  { name: 'missing required key', edit: [['  gateway: 192.168.1.1\n', '']], code: 'missing-key', path: '$.network', line: 10, message: /"gateway"/ },
  { name: 'wrong type', edit: [['  version: "1.37"', '  version: 1.37']], code: 'wrong-type', path: '$.kubernetes.version', line: 6 },
  { name: 'enum', edit: [['    board: pi4\n    memory: 4GB', '    board: pi2\n    memory: 4GB']], code: 'not-allowed', path: '$.nodes[1].board', line: 24 },
  { name: 'bad apiVersion', edit: [['apiVersion: pi-seed/v1', 'apiVersion: pi-seed/v2']], code: 'unknown-api-version', path: '$.apiVersion', line: 1 },
  { name: 'node name not RFC 1123', edit: [['name: work01', 'name: Work_01']], code: 'bad-format', path: '$.nodes[1].name', line: 21 },
  { name: 'bad IPv4', edit: [['address: 192.168.1.102', 'address: 192.168.1.300']], code: 'bad-format', path: '$.nodes[1].address', line: 23 },
  { name: 'bad CIDR', edit: [['subnet: 192.168.1.0/24', 'subnet: 192.168.1.5/24']], code: 'bad-cidr', path: '$.network.subnet', line: 10 },
  { name: 'duplicate node name', edit: [['name: work01', 'name: mas01']], code: 'duplicate-node-name', path: '$.nodes[1].name', line: 21 },
  { name: 'duplicate address', edit: [['address: 192.168.1.102', 'address: 192.168.1.101']], code: 'duplicate-address', path: '$.nodes[1].address', line: 23 },
  { name: 'no control plane', edit: [['role: control-plane', 'role: worker']], code: 'no-control-plane', path: '$.nodes', line: 16 },
  { name: 'two control planes', edit: [['    role: worker', '    role: control-plane']], code: 'even-control-planes', path: '$.nodes[1].role', line: 22, message: /majority/ },
  { name: 'four control planes', edit: [...HA, ['  - name: work01', `${CONTROL_PLANES(1).replace(/mas0(\d)/g, 'cp$1').replace(/\.11(\d)/g, '.12$1')}  - name: work01`]], code: 'even-control-planes', path: '$.nodes[3].role', message: /4 control-plane nodes/ },
  { name: 'seven control planes', edit: [...HA, ['  - name: work01', `${CONTROL_PLANES(4).replace(/mas0(\d)/g, 'cp$1').replace(/\.11(\d)/g, '.12$1')}  - name: work01`]], code: 'too-many-control-planes', path: '$.nodes[6].role', message: /1, 3 or 5/ },
  { name: 'three control planes need an endpoint', edit: [HA[1]!], code: 'control-plane-endpoint-required', path: '$.kubernetes', line: 6, message: /controlPlaneEndpoint/ },
  { name: 'endpoint is a node', edit: endpoint('192.168.1.101'), code: 'endpoint-is-node', path: '$.kubernetes.controlPlaneEndpoint.address', line: 8, message: /mas01/ },
  { name: 'endpoint is the gateway', edit: endpoint('192.168.1.1'), code: 'endpoint-is-gateway', path: '$.kubernetes.controlPlaneEndpoint.address' },
  { name: 'endpoint outside the LAN', edit: endpoint('192.168.7.100'), code: 'endpoint-outside-subnet', path: '$.kubernetes.controlPlaneEndpoint.address' },
  { name: 'endpoint is the broadcast address', edit: endpoint('192.168.1.255'), code: 'endpoint-reserved', path: '$.kubernetes.controlPlaneEndpoint.address', message: /broadcast/ },
  { name: 'endpoint is the DNS server', edit: [...endpoint('192.168.1.53'), ['  gateway: 192.168.1.1', '  gateway: 192.168.1.1\n  dns: [192.168.1.53]']], code: 'endpoint-is-server', path: '$.kubernetes.controlPlaneEndpoint.address', message: /network\.dns/ },
  { name: 'endpoint inside the MetalLB pool', edit: endpoint('192.168.1.212'), code: 'endpoint-in-pool', path: '$.kubernetes.controlPlaneEndpoint.address' },
  { name: 'endpoint not an address', edit: endpoint('192.168.1'), code: 'bad-format', path: '$.kubernetes.controlPlaneEndpoint.address' },
  { name: 'endpoint ending in 0 needs a router id', edit: [...endpoint('192.168.2.0'), ['subnet: 192.168.1.0/24', 'subnet: 192.168.0.0/16']], code: 'virtual-router-id-needed', path: '$.kubernetes.controlPlaneEndpoint.address' },
  { name: 'router id out of range', edit: [...HA, ['address: 192.168.1.100', 'address: 192.168.1.100\n    virtualRouterId: 256']], code: 'out-of-range', path: '$.kubernetes.controlPlaneEndpoint.virtualRouterId' },
  { name: 'HA control plane on an SD card (the default) warns', edit: [...HA, ['    memory: 8GB\n    storage: nvme\n  - name: mas02', '    memory: 8GB\n  - name: mas02']], code: 'control-plane-on-sd', path: '$.nodes[0]', severity: 'warning', message: /mas01/ },
  { name: 'HA control plane on an SD card (said so) warns', edit: [...HA, ['storage: nvme\n  - name: mas03', 'storage: sd\n  - name: mas03']], code: 'control-plane-on-sd', path: '$.nodes[1].storage', severity: 'warning', message: /mas02/ },
  { name: 'unknown storage', edit: [...HA, ['storage: nvme\n  - name: mas03', 'storage: emmc\n  - name: mas03']], code: 'not-allowed', path: '$.nodes[1].storage' },
  { name: 'address outside subnet', edit: [['address: 192.168.1.102', 'address: 192.168.2.102']], code: 'address-outside-subnet', path: '$.nodes[1].address', line: 23 },
  { name: 'network address', edit: [['address: 192.168.1.102', 'address: 192.168.1.0']], code: 'address-reserved', path: '$.nodes[1].address', message: /network/ },
  { name: 'broadcast address', edit: [['address: 192.168.1.102', 'address: 192.168.1.255']], code: 'address-reserved', path: '$.nodes[1].address', message: /broadcast/ },
  { name: 'gateway address', edit: [['address: 192.168.1.102', 'address: 192.168.1.1']], code: 'address-is-gateway', path: '$.nodes[1].address' },
  { name: 'gateway outside subnet', edit: [['gateway: 192.168.1.1', 'gateway: 10.0.0.1']], code: 'gateway-outside-subnet', path: '$.network.gateway', line: 11 },
  { name: 'pool not a range', edit: [['addresses: 192.168.1.210-192.168.1.215', 'addresses: 192.168.1.215-192.168.1.210']], code: 'bad-address-pool', path: '$.kubernetes.metallb.addresses', line: 8 },
  { name: 'pool outside subnet', edit: [['addresses: 192.168.1.210-192.168.1.215', 'addresses: 192.168.2.210-192.168.2.215']], code: 'pool-outside-subnet', path: '$.kubernetes.metallb.addresses' },
  { name: 'pool holds a node', edit: [['addresses: 192.168.1.210-192.168.1.215', 'addresses: 192.168.1.100-192.168.1.110']], code: 'pool-overlaps-node', path: '$.kubernetes.metallb.addresses', message: /mas01/ },
  { name: 'pool holds the gateway', edit: [['addresses: 192.168.1.210-192.168.1.215', 'addresses: 192.168.1.0/28']], code: 'pool-overlaps-gateway', path: '$.kubernetes.metallb.addresses' },
  { name: 'pool holds the broadcast address', edit: [['addresses: 192.168.1.210-192.168.1.215', 'addresses: 192.168.1.250-192.168.1.255']], code: 'pool-reserved', path: '$.kubernetes.metallb.addresses' },
  { name: 'pod network overlaps LAN', edit: [['  version: "1.37"', '  version: "1.37"\n  podCIDR: 192.168.0.0/16']], code: 'networks-overlap', path: '$.network.subnet', message: /pod network/ },
  { name: 'service network overlaps pod network', edit: [['  version: "1.37"', '  version: "1.37"\n  serviceCIDR: 10.244.128.0/20']], code: 'networks-overlap', path: '$.kubernetes.serviceCIDR' },
  { name: 'kubernetes too old', edit: [['version: "1.37"', 'version: "1.30"']], code: 'kubernetes-version-unsupported', path: '$.kubernetes.version', line: 6, message: /1\.31 to 1\.37/ },
  { name: 'kubernetes too new', edit: [['version: "1.37"', 'version: "1.38"']], code: 'kubernetes-version-unsupported', path: '$.kubernetes.version' },
  { name: 'cgroup v1 on 20.04', edit: [['network:', 'os:\n  ubuntu: "20.04"\nnetwork:'], ['version: "1.37"', 'version: "1.35"']], code: 'cgroup-v1-release', path: '$.os.ubuntu', severity: 'warning', message: /systemd\.unified_cgroup_hierarchy=1/ },
  { name: '20.04 with an old kubelet: support warning only', edit: [['version: "1.37"', 'version: "1.34"'], ['network:', 'os:\n  ubuntu: "20.04"\nnetwork:']], code: 'release-past-support', path: '$.os.ubuntu', severity: 'warning' },
  { name: '20.04 with Kubernetes 1.36+ (containerd 1.7 only)', edit: [['network:', 'os:\n  ubuntu: "20.04"\nnetwork:'], ['version: "1.37"', 'version: "1.36"']], code: 'kubernetes-too-new-for-release', path: '$.os.ubuntu', message: /containerd 1\.7/ },
  { name: 'end-of-life Kubernetes minor warns with its date', edit: [['version: "1.37"', 'version: "1.34"']], code: 'kubernetes-end-of-life', path: '$.kubernetes.version', severity: 'warning', message: /1\.34 reached its end of life on 2026-10-27/ },
  { name: 'NTP server not a host name', edit: [['  gateway: 192.168.1.1', '  gateway: 192.168.1.1\n  ntp: ["ntp server"]']], code: 'bad-format', path: '$.network.ntp[0]', message: /NTP server/ },
  { name: 'NTP server listed twice', edit: [['  gateway: 192.168.1.1', '  gateway: 192.168.1.1\n  ntp: [192.168.1.1, 192.168.1.1]']], code: 'duplicate-items', path: '$.network.ntp' },
  { name: 'admin name not a Linux user name (its help says so, not RFC 1123)', edit: [['admin:\n', 'admin:\n  name: Pi.User\n']], code: 'bad-format', path: '$.admin.name', message: /Linux user name/ },
  { name: 'Pi 5 on 22.04', edit: [['network:', 'os:\n  ubuntu: "22.04"\nnetwork:'], ['    board: pi4\n    memory: 4GB', '    board: pi5\n    memory: 4GB']], code: 'pi5-needs-newer-ubuntu', path: '$.nodes[1].board' },
  { name: '1 GB control plane', edit: [['    board: pi4\n    memory: 8GB', '    board: pi3b']], code: 'control-plane-too-small', path: '$.nodes[0].board', message: /2 GB/ },
  { name: '1 GB worker warns', edit: [['    board: pi4\n    memory: 4GB', '    board: pi4\n    memory: 1GB']], code: 'small-worker', path: '$.nodes[1].memory', severity: 'warning' },
  { name: 'memory needed for a pi4', edit: [['    board: pi4\n    memory: 4GB', '    board: pi4']], code: 'memory-required', path: '$.nodes[1]' },
  { name: 'memory not sold for the board', edit: [['    board: pi4\n    memory: 4GB', '    board: pi4\n    memory: 16GB']], code: 'memory-not-for-board', path: '$.nodes[1].memory' },
  { name: 'demo needs a pool', edit: [['  metallb:\n    addresses: 192.168.1.210-192.168.1.215\n', ''], ['nodes:', 'addons:\n  demo: true\nnodes:']], code: 'demo-needs-pool', path: '$.addons.demo' },
  { name: 'no way to log in', edit: [['admin:\n  sshAuthorizedKeys:\n    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqO6n1ZbBsmOpPw2nG0d3xE1x2bDRgqQpXbJ1d2dJxY me\n', '']], code: 'no-login', path: '$', severity: 'warning' },
  { name: 'password login without hash', edit: [['admin:\n', 'admin:\n  sshPasswordLogin: true\n']], code: 'password-login-without-password', path: '$.admin.sshPasswordLogin' },
  { name: 'plain password refused', edit: [['admin:\n', 'admin:\n  passwordHash: hunter2\n']], code: 'bad-format', path: '$.admin.passwordHash', message: /crypt/ },
  { name: 'duplicate key', edit: [['  domain: example.com', '  domain: example.com\n  domain: example.org']], code: 'duplicate-key', path: '$', line: 5 },
  { name: 'YAML syntax error', edit: [['  domain: example.com', '  domain: [example.com']], code: 'yaml-syntax', path: '$' },
  { name: 'empty file', edit: '', code: 'empty-file', path: '$' },
  { name: 'a list at the top', edit: '- a\n- b\n', code: 'not-a-mapping', path: '$' },
  { name: 'alias bomb', edit: 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n', code: 'yaml-syntax', path: '$', message: /alias/i },
];

function apply(edit: Case['edit']): string {
  if (typeof edit === 'string') return edit;
  let text = BASE;
  for (const [from, to] of edit) {
    assert.ok(text.includes(from), `test edit does not apply: ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

test('the base config is valid without warnings', () => {
  const result = validateText('cluster.yaml', BASE);
  assert.equal(result.diagnostics, []);
  assert.ok(result.spec);
});

test('an HA cluster on SSDs is valid without warnings, and so is one control plane with an endpoint (ready to grow)', () => {
  assert.equal(validateText('cluster.yaml', apply(HA)).diagnostics, []);
  assert.equal(validateText('cluster.yaml', apply([HA[0]!])).diagnostics, []);
  // One control plane on its SD card is the seed's setup: no etcd peers to keep up with, no warning.
  assert.equal(validateText('cluster.yaml', apply([['    memory: 8GB\n', '    memory: 8GB\n    storage: sd\n']])).diagnostics, []);
});

for (const c of CASES) {
  test(`rule: ${c.name}`, () => {
    const result = validateText('cluster.yaml', apply(c.edit));
    const found = result.diagnostics.find((d) => d.code === c.code && formatPath(d.path) === c.path);
    assert.ok(found, `expected ${c.code} at ${c.path}; got ${JSON.stringify(result.diagnostics.map((d) => [d.code, formatPath(d.path), d.line]))}`);
    assert.is(found.severity, c.severity ?? 'error');
    assert.is(found.file, 'cluster.yaml');
    assert.ok(found.line !== undefined && found.line > 0, 'every diagnostic has a line');
    assert.ok(found.col !== undefined && found.col > 0, 'every diagnostic has a column');
    if (c.line !== undefined) assert.is(found.line, c.line);
    if (c.message) assert.match(found.message, c.message);
    if ((c.severity ?? 'error') === 'error') assert.is(result.spec, undefined, 'an error means no spec');
    assert.ok(found.hint || found.message.length > 20, 'says how to fix it');
  });
}

test('every problem is reported at once', () => {
  const text = BASE.replace('address: 192.168.1.102', 'adress: 192.168.1.102').replace('name: work01', 'name: mas01').replace('version: "1.37"', 'version: "1.20"');
  const codes = validateText('cluster.yaml', text).diagnostics.map((d) => d.code).sort();
  assert.equal(codes, ['duplicate-node-name', 'kubernetes-version-unsupported', 'missing-key', 'unknown-key']);
});
test.run();
