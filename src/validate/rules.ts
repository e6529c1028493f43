// Semantic rules: what the schema cannot say. Each rule is a small named function that reads the
// (possibly still ill-typed) input defensively and reports through `report`, so that one run
// lists every problem, even alongside schema errors.
import { type JsonPath, type Problem } from '../diagnostics.js';
import { msg } from '../errors.js';
import { type AddressRange, type Cidr, asRange, cidrToText, contains, formatIPv4, isHostAddress, overlaps, parseAddressPool, parseCidr, parseIPv4 } from '../plan/ipv4.js';
import { BOARD_MEMORY, KUBERNETES_END_OF_LIFE, KUBERNETES_FAILS_CGROUP_V1, KUBERNETES_OLDEST_PATCHED, KUBERNETES_MAX, KUBERNETES_MIN, UBUNTU, compareMinor } from '../spec/v1/support.js';
import { DEFAULTS } from '../spec/v1/defaults.js';
import { type Board, type Memory, type UbuntuRelease } from '../spec/v1/types.js';

type Report = (problem: Problem, path: JsonPath) => void;
type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface NodeView {
  index: number;
  name?: string;
  role?: string;
  address?: number;
  addressText?: string;
  board?: string;
  memory?: string;
  storage?: string;
}

function nodesOf(data: Obj): NodeView[] {
  const list = Array.isArray(data.nodes) ? data.nodes : [];
  return list.map((raw, index) => {
    const n = obj(raw);
    const addressText = str(n.address);
    const address = addressText !== undefined ? parseIPv4(addressText) : null;
    return { index, name: str(n.name), role: str(n.role), address: address ?? undefined, addressText, board: str(n.board), memory: str(n.memory), storage: str(n.storage) };
  });
}

function lan(data: Obj): { subnet?: Cidr; gateway?: number } {
  const network = obj(data.network);
  const subnetText = str(network.subnet);
  const gatewayText = str(network.gateway);
  return {
    subnet: subnetText ? (parseCidr(subnetText) ?? undefined) : undefined,
    gateway: gatewayText ? (parseIPv4(gatewayText) ?? undefined) : undefined,
  };
}

function uniqueNodes(data: Obj, report: Report): void {
  const names = new Map<string, number>();
  const addresses = new Map<number, string>();
  for (const node of nodesOf(data)) {
    if (node.name !== undefined) {
      const first = names.get(node.name);
      if (first !== undefined) report(msg.duplicateNodeName(node.name, first), ['nodes', node.index, 'name']);
      else names.set(node.name, node.index);
    }
    if (node.address !== undefined) {
      const first = addresses.get(node.address);
      if (first !== undefined) report(msg.duplicateAddress(formatIPv4(node.address), first), ['nodes', node.index, 'address']);
      else addresses.set(node.address, node.name ?? `nodes[${node.index}]`);
    }
  }
}

/** etcd runs on every control plane: 1, 3 or 5 of them (an even count survives no more losses). */
function controlPlaneCount(data: Obj, report: Report): void {
  if (!Array.isArray(data.nodes) || data.nodes.length === 0) return;
  const controlPlanes = nodesOf(data).filter((n) => n.role === 'control-plane');
  if (controlPlanes.length === 0) return report(msg.noControlPlane(), ['nodes']);
  const last = controlPlanes[controlPlanes.length - 1]!;
  if (controlPlanes.length % 2 === 0) report(msg.evenControlPlanes(controlPlanes.map((n) => n.name ?? `nodes[${n.index}]`)), ['nodes', last.index, 'role']);
  else if (controlPlanes.length > 5) report(msg.tooManyControlPlanes(controlPlanes.length), ['nodes', last.index, 'role']);
  if (controlPlanes.length > 1 && obj(obj(data.kubernetes).controlPlaneEndpoint).address === undefined) {
    report(msg.endpointRequired(controlPlanes.length), ['kubernetes']);
  }
}

/** The virtual IP is a free LAN address: not a node's, not the gateway's, not MetalLB's. */
function controlPlaneEndpoint(data: Obj, report: Report): void {
  const endpoint = obj(obj(data.kubernetes).controlPlaneEndpoint);
  const text = str(endpoint.address);
  const address = text !== undefined ? parseIPv4(text) : null;
  if (address === null) return; // absent, or the schema reports its format
  const path = ['kubernetes', 'controlPlaneEndpoint', 'address'];
  const { subnet, gateway } = lan(data);
  if (subnet && !contains(subnet, address)) report(msg.endpointOutsideSubnet(text!, cidrToText(subnet)), path);
  else if (subnet && !isHostAddress(subnet, address)) report(msg.endpointReserved(text!, address === subnet.network ? 'network' : 'broadcast'), path);
  else if (address === gateway) report(msg.endpointIsGateway(text!), path);
  for (const node of nodesOf(data)) {
    if (node.address === address) report(msg.endpointIsNode(text!, node.name ?? `nodes[${node.index}]`), path);
  }
  const servers = obj(data.network);
  for (const key of ['dns', 'ntp'] as const) {
    const list = Array.isArray(servers[key]) ? (servers[key] as unknown[]) : [];
    if (list.some((entry) => typeof entry === 'string' && parseIPv4(entry) === address)) report(msg.endpointIsServer(text!, `network.${key}`), path);
  }
  const pool = parseAddressPool(str(obj(obj(data.kubernetes).metallb).addresses) ?? '');
  if (pool && contains(pool, address)) report(msg.endpointInPool(text!), path);
  if (endpoint.virtualRouterId === undefined && (address & 0xff) === 0) report(msg.virtualRouterIdNeeded(text!), path);
}

/** etcd on SD cards: a warning where it hurts, a control plane with peers to keep up with. */
function controlPlaneStorage(data: Obj, report: Report): void {
  const controlPlanes = nodesOf(data).filter((n) => n.role === 'control-plane');
  if (controlPlanes.length < 2) return;
  for (const node of controlPlanes) {
    if ((node.storage ?? DEFAULTS.node.storage) !== 'sd') continue;
    report(msg.controlPlaneOnSd(node.name ?? `nodes[${node.index}]`), node.storage === undefined ? ['nodes', node.index] : ['nodes', node.index, 'storage']);
  }
}

function addressesOnLan(data: Obj, report: Report): void {
  const { subnet, gateway } = lan(data);
  if (!subnet) return;
  const subnetText = cidrToText(subnet);
  if (gateway !== undefined && !isHostAddress(subnet, gateway)) report(msg.gatewayOutsideSubnet(formatIPv4(gateway), subnetText), ['network', 'gateway']);
  for (const node of nodesOf(data)) {
    if (node.address === undefined) continue;
    const path = ['nodes', node.index, 'address'];
    const text = formatIPv4(node.address);
    if (!contains(subnet, node.address)) report(msg.addressOutsideSubnet(text, subnetText), path);
    else if (!isHostAddress(subnet, node.address)) report(msg.addressReserved(text, node.address === subnet.network ? 'network' : 'broadcast'), path);
    else if (node.address === gateway) report(msg.addressIsGateway(text), path);
  }
}

function metallbPool(data: Obj, report: Report): void {
  const kubernetes = obj(data.kubernetes);
  const poolText = str(obj(kubernetes.metallb).addresses);
  const path = ['kubernetes', 'metallb', 'addresses'];
  if (poolText === undefined) {
    if (obj(data.addons).demo === true) report(msg.demoNeedsPool(), ['addons', 'demo']);
    return;
  }
  const pool = parseAddressPool(poolText);
  if (!pool) return report(msg.badPool(poolText), path);
  const { subnet, gateway } = lan(data);
  if (subnet && !(contains(subnet, pool.first) && contains(subnet, pool.last))) {
    return report(msg.poolOutsideSubnet(poolText, cidrToText(subnet)), path);
  }
  if (subnet && subnet.prefix < 31) {
    for (const reserved of [subnet.network, subnet.last]) if (contains(pool, reserved)) report(msg.poolReserved(formatIPv4(reserved)), path);
  }
  if (gateway !== undefined && contains(pool, gateway)) report(msg.poolOverlapsGateway(formatIPv4(gateway)), path);
  for (const node of nodesOf(data)) {
    if (node.address !== undefined && contains(pool, node.address)) report(msg.poolOverlapsNode(node.name ?? `nodes[${node.index}]`, formatIPv4(node.address)), path);
  }
}

/** The schema checks a CIDR's shape; this checks that its host bits are zero (10.244.0.1/16 is not a network). */
function networkAddresses(data: Obj, report: Report): void {
  const fields: Array<[JsonPath, unknown]> = [
    [['network', 'subnet'], obj(data.network).subnet],
    [['kubernetes', 'podCIDR'], obj(data.kubernetes).podCIDR],
    [['kubernetes', 'serviceCIDR'], obj(data.kubernetes).serviceCIDR],
  ];
  for (const [path, value] of fields) {
    if (typeof value === 'string' && parseCidr(value, false) && !parseCidr(value)) report(msg.badCidr(value), path);
  }
}

function disjointNetworks(data: Obj, report: Report): void {
  const kubernetes = obj(data.kubernetes);
  const candidates: Array<[string, JsonPath, string | undefined]> = [
    ['the pod network', ['kubernetes', 'podCIDR'], str(kubernetes.podCIDR) ?? DEFAULTS.kubernetes.podCIDR],
    ['the service network', ['kubernetes', 'serviceCIDR'], str(kubernetes.serviceCIDR) ?? DEFAULTS.kubernetes.serviceCIDR],
    ['the LAN', ['network', 'subnet'], str(obj(data.network).subnet)],
  ];
  const parsed: Array<{ label: string; path: JsonPath; range: AddressRange }> = [];
  for (const [label, path, text] of candidates) {
    const cidr = text !== undefined ? parseCidr(text) : null;
    if (cidr) parsed.push({ label: `${label} ${text}`, path, range: asRange(cidr) });
  }
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      const a = parsed[i]!;
      const b = parsed[j]!;
      if (overlaps(a.range, b.range)) report(msg.networksOverlap(a.label, b.label), b.path);
    }
  }
}

function kubernetesVersion(data: Obj, report: Report): void {
  const version = str(obj(data.kubernetes).version) ?? DEFAULTS.kubernetes.version;
  if (!/^1\.[0-9]{2}$/.test(version)) return; // the schema reports the format
  const path = obj(data.kubernetes).version === undefined ? ['kubernetes'] : ['kubernetes', 'version'];
  if (compareMinor(version, KUBERNETES_MIN) < 0 || compareMinor(version, KUBERNETES_MAX) > 0) {
    report(msg.kubernetesUnsupported(version, KUBERNETES_MIN, KUBERNETES_MAX), path);
    return;
  }
  const endOfLife = KUBERNETES_END_OF_LIFE[version];
  if (endOfLife !== undefined) {
    report(msg.kubernetesEndOfLife(version, endOfLife, KUBERNETES_OLDEST_PATCHED), path);
  }
}

function ubuntuRelease(data: Obj, report: Report): void {
  const release = (str(obj(data.os).ubuntu) ?? DEFAULTS.os.ubuntu) as UbuntuRelease;
  const facts = UBUNTU[release];
  if (!facts) return;
  const releasePath = obj(data.os).ubuntu === undefined ? ['os'] : ['os', 'ubuntu'];
  const version = str(obj(data.kubernetes).version) ?? DEFAULTS.kubernetes.version;
  const max = facts.kubernetesMax;
  if (max !== undefined && /^1\.[0-9]{2}$/.test(version) && compareMinor(version, max.minor) > 0) {
    report(msg.kubernetesTooNewForRelease(version, release, max.minor, max.why), releasePath);
  } else if (!facts.cgroupV2 && compareMinor(version, KUBERNETES_FAILS_CGROUP_V1) >= 0) report(msg.cgroupV1Release(version), releasePath);
  else if (facts.pastStandardSupport) report(msg.endOfStandardSupport(release), releasePath);
  if (!facts.bootsPi5) {
    for (const node of nodesOf(data)) if (node.board === 'pi5') report(msg.pi5NeedsNewerUbuntu(release), ['nodes', node.index, 'board']);
  }
}

function boardMemory(data: Obj, report: Report): void {
  for (const node of nodesOf(data)) {
    const board = node.board as Board | undefined;
    const allowed = board ? BOARD_MEMORY[board] : undefined;
    if (!allowed) continue;
    const memory = (node.memory ?? (allowed.length === 1 ? allowed[0] : undefined)) as Memory | undefined;
    if (memory === undefined) {
      report(msg.memoryRequired(board!), ['nodes', node.index]);
      continue;
    }
    if (!allowed.includes(memory)) {
      report(msg.memoryNotForBoard(board!, memory, allowed), ['nodes', node.index, 'memory']);
      continue;
    }
    const gb = Number(memory.replace('GB', ''));
    const at = node.memory === undefined ? ['nodes', node.index, 'board'] : ['nodes', node.index, 'memory'];
    if (node.role === 'control-plane' && gb < 2) report(msg.controlPlaneTooSmall(memory), at);
    if (node.role === 'worker' && gb < 2) report(msg.smallWorker(memory), at);
  }
}

function adminLogin(data: Obj, report: Report): void {
  const admin = obj(data.admin);
  const keys = Array.isArray(admin.sshAuthorizedKeys) ? admin.sshAuthorizedKeys : [];
  const hash = str(admin.passwordHash);
  if (admin.sshPasswordLogin === true && hash === undefined) report(msg.passwordLoginWithoutPassword(), ['admin', 'sshPasswordLogin']);
  else if (keys.length === 0 && hash === undefined) report(msg.noLogin(), data.admin === undefined ? [] : ['admin']);
}

function joinSettings(data: Obj, report: Report): void {
  if (obj(data.join).port !== undefined) report(msg.joinPortUnused(), ['join', 'port']);
}

/** Every semantic rule, in the order their findings are most useful. */
export const RULES: ReadonlyArray<(data: Obj, report: Report) => void> = [
  uniqueNodes,
  controlPlaneCount,
  networkAddresses,
  addressesOnLan,
  metallbPool,
  controlPlaneEndpoint,
  disjointNetworks,
  kubernetesVersion,
  ubuntuRelease,
  boardMemory,
  controlPlaneStorage,
  adminLogin,
  joinSettings,
];

export function checkRules(data: unknown): Array<{ problem: Problem; path: JsonPath }> {
  const found: Array<{ problem: Problem; path: JsonPath }> = [];
  const root = obj(data);
  for (const rule of RULES) rule(root, (problem, path) => found.push({ problem, path }));
  return found;
}
