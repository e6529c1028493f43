// meta-data and cmdline.txt, and the per-cluster ssh_config.
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { renderTemplate } from './templates.js';
import { toYaml } from './yaml.js';

/**
 * The instance-id names the board's identity, not its files: the cluster, the node and the
 * node's generation. cloud-init re-runs its per-instance modules (SSH host keys, users, the
 * bootstrap's first start) only when the id changes, so files copied again onto a running board
 * after an edit of cluster.yaml change nothing there; a new generation (`pi-seed replace`) is a
 * new machine (docs/day-2.md).
 */
export function metaData(plan: ClusterPlan, node: PlannedNode, generation: number): string {
  return toYaml({ 'instance-id': instanceId(plan.cluster.name, node.name, generation), 'local-hostname': node.name });
}

const instanceId = (cluster: string, node: string, generation: number): string => `pi-seed-${cluster}-${node}-${generation}`;

/** One line, newline-terminated: the release's own line plus pi-seed's flags (docs/cmdline.md). */
export function cmdline(plan: ClusterPlan): string {
  return `${plan.os.cmdline.join(' ')}\n`;
}

export function sshConfig(plan: ClusterPlan): string {
  return renderTemplate('ssh_config.hbs', { cluster: plan.cluster.name, nodes: plan.nodes, user: plan.admin.name });
}
