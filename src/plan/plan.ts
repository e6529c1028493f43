// validate → plan: the typed, fully resolved cluster. Every default is applied and every derived
// value (FQDNs, prefix length, cmdline flags, add-on versions) is computed here once, so the
// renderers are plain translations with no decisions of their own.
import { DEFAULTS, applyDefaults } from '../spec/v1/defaults.js';
import { BOARD_MEMORY, BOOT_CMDLINE_FILE, DEMO_IMAGE, FLANNEL, KUBERNETES_FAILS_CGROUP_V1, METALLB, UBUNTU, compareMinor, containerdMinimum, memoryGB, type BootLayout, type PinnedManifest } from '../spec/v1/support.js';
import { type Board, type ClusterSpecV1, type Memory, type Role, type Storage, type UbuntuRelease } from '../spec/v1/types.js';
import { cidrToText, parseCidr } from './ipv4.js';
import { planVirtualIP, type VirtualIP } from './virtual-ip.js';

export interface PlannedNode {
  name: string;
  fqdn: string;
  role: Role;
  address: string;
  board: Board;
  memory: Memory;
  memoryGB: number;
  storage: Storage;
}

/**
 * The cluster CA as the nodes see it: public material from cluster.secrets.yaml that the
 * renderers need (workers pin the CA; join configurations carry its hash). Kept out of the plan
 * because the plan comes from cluster.yaml alone and the secrets are made after it.
 */
export interface ClusterTrust {
  /** The cluster CA certificate, PEM. */
  caCertificate: string;
  /** kubeadm's pin: "sha256:" + hex SHA-256 of the CA's SubjectPublicKeyInfo. */
  caCertHash: string;
  /** Each node's generation (1 unless `pi-seed replace` raised it): part of its instance-id. */
  generationOf: (node: string) => number;
}

export interface ClusterPlan {
  cluster: { name: string; domain: string };
  kubernetes: {
    minor: string;
    podCIDR: string;
    serviceCIDR: string;
    apiServerPort: number;
    /**
     * host:port every kubeconfig, join and report uses (kubeadm's controlPlaneEndpoint): the
     * virtual IP when there is one, else the only control plane's address.
     */
    endpoint: string;
    /** The endpoint's address alone. */
    endpointHost: string;
    flannel: PinnedManifest;
    metallb: (PinnedManifest & { addresses: string }) | null;
    /** The oldest containerd this minor supports; the bootstrap checks the installed one. */
    containerdMinimum: string;
  };
  network: {
    interface: string;
    subnet: string;
    prefix: number;
    gateway: string;
    dns: string[];
    ipv6: boolean;
    /** Time servers from cluster.yaml; empty: the release's own. */
    ntp: string[];
  };
  os: {
    ubuntu: UbuntuRelease;
    timezone: string;
    locale: string;
    keyboard: { layout: string; model: string; variant: string };
    /** The release's own cmdline.txt plus what pi-seed needs, in order. */
    cmdline: string[];
    /** Where a stock card of this release keeps the command line the firmware reads. */
    bootLayout: BootLayout;
    /** That file, relative to the boot partition (and out/<node>/). */
    cmdlineFile: string;
    needsModulesExtra: boolean;
    ntpClient: 'timesyncd' | 'chrony';
  };
  admin: { name: string; sshAuthorizedKeys: string[]; passwordHash: string | null; sshPasswordLogin: boolean };
  /** null: each worker's bootstrap token lives until its node has joined (docs/join-protocol.md). */
  join: { tokenTTL: string | null };
  addons: { demo: { image: string } | null };
  /** keepalived on every control plane (docs/ha.md); null without kubernetes.controlPlaneEndpoint. */
  virtualIP: VirtualIP | null;
  /** The first control plane of cluster.yaml: the only node that runs kubeadm init. */
  initNode: PlannedNode;
  /** Every control plane, the init node first, in the order of cluster.yaml. */
  controlPlanes: PlannedNode[];
  /** Every node that joins the cluster the init node made (control planes, then workers: cluster.yaml order). */
  joiners: PlannedNode[];
  workers: PlannedNode[];
  /** All nodes in the order of cluster.yaml. */
  nodes: PlannedNode[];
}

/** Kernel flags pi-seed adds to the release's cmdline.txt (see docs/cmdline.md). */
export function extraCmdlineFlags(release: UbuntuRelease, kubernetesMinor: string): string[] {
  const flags = ['cgroup_enable=memory', 'cgroup_memory=1'];
  if (!UBUNTU[release].cgroupV2 && compareMinor(kubernetesMinor, KUBERNETES_FAILS_CGROUP_V1) >= 0) flags.push('systemd.unified_cgroup_hierarchy=1');
  return flags;
}

/** Plans a spec that passed validation (no errors); it does not re-check the rules. */
export function planCluster(input: ClusterSpecV1): ClusterPlan {
  const spec = applyDefaults(input);
  const subnet = parseCidr(spec.network.subnet)!;
  const nodes: PlannedNode[] = spec.nodes.map((n) => {
    const memory = n.memory ?? BOARD_MEMORY[n.board][0]!;
    const storage = n.storage ?? DEFAULTS.node.storage;
    return { name: n.name, fqdn: `${n.name}.${spec.cluster.domain}`, role: n.role, address: n.address, board: n.board, memory, memoryGB: memoryGB(memory), storage };
  });
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
  const initNode = controlPlanes[0]!;
  const apiServerPort = 6443;
  const endpointSpec = spec.kubernetes.controlPlaneEndpoint;
  const virtualIP = endpointSpec ? planVirtualIP(spec.cluster.name, endpointSpec, spec.network.interface, subnet.prefix, controlPlanes) : null;
  const release = UBUNTU[spec.os.ubuntu];
  const minor = spec.kubernetes.version;
  return {
    cluster: { name: spec.cluster.name, domain: spec.cluster.domain },
    kubernetes: {
      minor,
      podCIDR: spec.kubernetes.podCIDR,
      serviceCIDR: spec.kubernetes.serviceCIDR,
      apiServerPort,
      endpoint: `${virtualIP?.address ?? initNode.address}:${apiServerPort}`,
      endpointHost: virtualIP?.address ?? initNode.address,
      flannel: { ...FLANNEL },
      metallb: spec.kubernetes.metallb ? { ...METALLB, addresses: spec.kubernetes.metallb.addresses } : null,
      containerdMinimum: containerdMinimum(minor),
    },
    network: {
      interface: spec.network.interface,
      subnet: cidrToText(subnet),
      prefix: subnet.prefix,
      gateway: spec.network.gateway,
      dns: [...spec.network.dns],
      ipv6: spec.network.ipv6,
      ntp: [...spec.network.ntp],
    },
    os: {
      ubuntu: spec.os.ubuntu,
      timezone: spec.os.timezone,
      locale: spec.os.locale,
      keyboard: { ...spec.os.keyboard },
      cmdline: [...release.defaultCmdline.split(' '), ...extraCmdlineFlags(spec.os.ubuntu, minor)],
      bootLayout: release.bootLayout,
      cmdlineFile: BOOT_CMDLINE_FILE[release.bootLayout],
      needsModulesExtra: release.needsModulesExtra,
      ntpClient: release.ntpClient,
    },
    admin: {
      name: spec.admin.name,
      sshAuthorizedKeys: [...spec.admin.sshAuthorizedKeys],
      passwordHash: spec.admin.passwordHash ?? null,
      sshPasswordLogin: spec.admin.sshPasswordLogin,
    },
    join: { tokenTTL: spec.join.tokenTTL ?? null },
    addons: { demo: spec.addons.demo ? { image: DEMO_IMAGE } : null },
    virtualIP,
    initNode,
    controlPlanes,
    joiners: [...controlPlanes.slice(1), ...nodes.filter((n) => n.role === 'worker')],
    workers: nodes.filter((n) => n.role === 'worker'),
    nodes,
  };
}
