// network-config (version 2, netplan syntax; cloud-init on Ubuntu hands it to netplan as is):
// a static address, the default route, DNS, DHCP off, rendered by systemd-networkd.
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { toYaml } from './yaml.js';

export function networkConfig(plan: ClusterPlan, node: PlannedNode): string {
  const net = plan.network;
  // `to: default` needs netplan 0.103+; 20.04 shipped older, where 0.0.0.0/0 means the same.
  const defaultRoute = plan.os.ubuntu === '20.04' ? '0.0.0.0/0' : 'default';
  const ethernet: Record<string, unknown> = {
    dhcp4: false,
    dhcp6: false,
    addresses: [`${node.address}/${net.prefix}`],
    routes: [{ to: defaultRoute, via: net.gateway }],
    nameservers: { search: [plan.cluster.domain], addresses: net.dns },
    ...(net.ipv6 ? {} : { 'accept-ra': false, 'link-local': [] }),
  };
  const config = { network: { version: 2, renderer: 'networkd', ethernets: { [net.interface]: ethernet } } };
  return `# pi-seed: static network for ${node.name}. Generated from cluster.yaml; do not edit.\n${toYaml(config)}`;
}
