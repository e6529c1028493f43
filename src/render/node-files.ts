// The files cloud-init drops on a node (write_files entries), besides user-data's own keys.
import { type ClusterPlan, type ClusterTrust, type PlannedNode } from '../plan/plan.js';
import { demoApp, kubeadmClusterConfiguration, metallbPool, piSeedNamespace } from './kubernetes.js';
import { renderTemplate, templateText } from './templates.js';

export interface WriteFile {
  path: string;
  permissions: '0644' | '0600' | '0755';
  content: string;
}

const hostsByPlan = new WeakMap<ClusterPlan, string>();

/**
 * The /etc/hosts block, the same on every node: rendered once per plan, not once per node,
 * because its size grows with the cluster (rendering it per node would be quadratic).
 */
export function clusterHosts(plan: ClusterPlan): string {
  let hosts = hostsByPlan.get(plan);
  if (hosts === undefined) {
    hosts = renderTemplate('hosts.hbs', { nodes: plan.nodes });
    hostsByPlan.set(plan, hosts);
  }
  return hosts;
}

/** The unit and drop-in file of each release's NTP client (docs/clock.md). */
const NTP_CLIENTS = {
  timesyncd: { unit: 'systemd-timesyncd.service', path: '/etc/systemd/timesyncd.conf.d/pi-seed.conf', template: 'timesyncd.conf.hbs' },
  chrony: { unit: 'chrony.service', path: '/etc/chrony/sources.d/pi-seed.sources', template: 'chrony.sources.hbs' },
} as const;

export function bootstrapScript(plan: ClusterPlan, node: PlannedNode): string {
  return renderTemplate('bootstrap.sh.hbs', {
    node,
    // One script per role: each carries only its own parts (a worker's user-data stays small).
    isControlPlane: node.role === 'control-plane',
    isInitNode: node.name === plan.initNode.name,
    keepalived: plan.virtualIP !== null && node.role === 'control-plane' ? 1 : 0,
    admin: plan.admin,
    kubernetes: plan.kubernetes,
    metallbUrl: plan.kubernetes.metallb?.url ?? '',
    needsModulesExtra: plan.os.needsModulesExtra ? 1 : 0,
    demo: plan.addons.demo ? 1 : 0,
    noWorkers: plan.workers.length === 0 ? 1 : 0,
    containerdMin: plan.kubernetes.containerdMinimum,
    ntpServers: plan.network.ntp.join(' '),
    ntpUnit: NTP_CLIENTS[plan.os.ntpClient].unit,
    abBoot: plan.os.bootLayout === 'ab' ? 1 : 0,
    apiServer: plan.kubernetes.endpoint,
  });
}

/** keepalived's configuration and API server check on a control plane (docs/ha.md). */
function keepalivedFiles(plan: ClusterPlan, node: PlannedNode, trust: ClusterTrust): WriteFile[] {
  const vip = plan.virtualIP;
  if (!vip || node.role !== 'control-plane') return [];
  const self = vip.members.find((m) => m.name === node.name)!;
  const config = renderTemplate('keepalived.conf.hbs', {
    cluster: plan.cluster.name,
    node: node.name,
    address: node.address,
    priority: self.priority,
    peers: vip.members.filter((m) => m !== self),
    vip,
  });
  return [
    { path: '/etc/keepalived/keepalived.conf', permissions: '0644', content: config },
    { path: CHECK_APISERVER_PATH, permissions: '0755', content: renderTemplate('check-apiserver.sh.hbs', { node: node.name, address: node.address, port: plan.kubernetes.apiServerPort }) },
    // For the check, which runs as nobody: /etc/pi-seed is root only (0700).
    { path: '/etc/keepalived/pi-seed-cluster-ca.crt', permissions: '0644', content: trust.caCertificate },
    // The node keeper publishes who holds it (pi-seed status shows it).
    { path: '/etc/pi-seed/virtual-ip', permissions: '0644', content: `${vip.address}\n` },
  ];
}

/** keepalived.conf names this path; keepalived refuses a script a non-root user could change. */
const CHECK_APISERVER_PATH = '/usr/local/lib/pi-seed/check-apiserver.sh';

/** The pinned SHA-256 of each add-on manifest the control plane downloads, in sha256sum's format. */
export function addonChecksums(plan: ClusterPlan): string {
  const pinned = [plan.kubernetes.flannel, ...(plan.kubernetes.metallb ? [plan.kubernetes.metallb] : [])];
  return pinned.map((m) => `${m.sha256}  ${m.file}\n`).join('');
}

/** The release's NTP client pointed at cluster.yaml's servers; null when it keeps its own. */
function ntpFile(plan: ClusterPlan): WriteFile | null {
  if (plan.network.ntp.length === 0) return null;
  const client = NTP_CLIENTS[plan.os.ntpClient];
  return { path: client.path, permissions: '0644', content: renderTemplate(client.template, { servers: plan.network.ntp }) };
}

/** Every node of the cluster with its role, one per line: the init node makes their reports, the node keeper labels the workers. */
export function nodeList(plan: ClusterPlan): string {
  return plan.nodes.map((n) => `${n.name} ${n.role}\n`).join('');
}

export function nodeWriteFiles(plan: ClusterPlan, node: PlannedNode, trust: ClusterTrust): WriteFile[] {
  const files: WriteFile[] = [
    { path: '/usr/local/sbin/pi-seed-bootstrap', permissions: '0755', content: bootstrapScript(plan, node) },
    { path: '/etc/systemd/system/pi-seed-bootstrap.service', permissions: '0644', content: templateText('pi-seed-bootstrap.service') },
    { path: '/usr/local/lib/pi-seed/containerd-systemd-cgroup.sh', permissions: '0755', content: templateText('containerd-systemd-cgroup.sh') },
    // Public: every node verifies the API server against it (the control plane's copy is the one
    // kubeadm init uses, from the key file).
    { path: '/etc/pi-seed/cluster-ca.crt', permissions: '0644', content: trust.caCertificate },
    { path: '/etc/pi-seed/hosts', permissions: '0644', content: clusterHosts(plan) },
    { path: '/etc/modules-load.d/pi-seed-kubernetes.conf', permissions: '0644', content: templateText('modules-kubernetes.conf') },
    { path: '/etc/sysctl.d/90-pi-seed-kubernetes.conf', permissions: '0644', content: templateText('sysctl-kubernetes.conf') },
    { path: '/etc/default/keyboard', permissions: '0644', content: renderTemplate('keyboard.hbs', plan.os.keyboard) },
  ];
  const ntp = ntpFile(plan);
  if (ntp) files.push(ntp);
  if (!plan.network.ipv6) {
    files.push({ path: '/etc/sysctl.d/90-pi-seed-ipv6-off.conf', permissions: '0644', content: renderTemplate('sysctl-ipv6-off.conf.hbs', { interface: plan.network.interface }) });
  }
  if (node.role === 'control-plane') {
    // Every control plane keeps the nodes (labels, used tokens) once it has joined: the cluster
    // is looked after while any of them is up.
    files.push({ path: '/etc/pi-seed/nodes', permissions: '0644', content: nodeList(plan) });
    files.push({ path: '/usr/local/sbin/pi-seed-nodes', permissions: '0755', content: renderTemplate('pi-seed-nodes.sh.hbs', { node: node.name }) });
    files.push({ path: '/etc/systemd/system/pi-seed-nodes.service', permissions: '0644', content: templateText('pi-seed-nodes.service') });
    files.push({ path: '/etc/systemd/system/pi-seed-nodes.timer', permissions: '0644', content: templateText('pi-seed-nodes.timer') });
    files.push(...keepalivedFiles(plan, node, trust));
  }
  if (node.name === plan.initNode.name) {
    // The InitConfiguration (it lists the tokens) comes from the key file; this is the rest. The
    // other control planes read the cluster's configuration from the cluster when they join.
    files.push({ path: '/etc/pi-seed/kubeadm-cluster.yaml', permissions: '0644', content: kubeadmClusterConfiguration(plan) });
    files.push({ path: '/etc/pi-seed/addons.sha256', permissions: '0644', content: addonChecksums(plan) });
    files.push({ path: '/etc/pi-seed/manifests/pi-seed-namespace.yaml', permissions: '0644', content: piSeedNamespace(plan, trust) });
    const pool = metallbPool(plan);
    if (pool) files.push({ path: '/etc/pi-seed/manifests/metallb-pool.yaml', permissions: '0644', content: pool });
    const demo = demoApp(plan);
    if (demo) files.push({ path: '/etc/pi-seed/manifests/demo.yaml', permissions: '0644', content: demo });
  }
  return files;
}
