// meta-data and cmdline.txt, and the per-cluster ssh_config.
import { createHash } from 'node:crypto';
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { renderTemplate } from './templates.js';
import { toYaml } from './yaml.js';

/**
 * The instance-id is derived from the node's other files: cloud-init re-runs its per-instance
 * modules when the id changes (a changed config) and not when it stays (an unchanged one).
 */
export function metaData(node: PlannedNode, contentOf: readonly string[]): string {
  const hash = createHash('sha256');
  for (const content of contentOf) hash.update(content).update('\0');
  const id = `pi-seed-${node.name}-${hash.digest('hex').slice(0, 16)}`;
  return toYaml({ 'instance-id': id, 'local-hostname': node.name });
}

/** One line, newline-terminated: the release's own line plus pi-seed's flags (docs/cmdline.md). */
export function cmdline(plan: ClusterPlan): string {
  return `${plan.os.cmdline.join(' ')}\n`;
}

export function sshConfig(plan: ClusterPlan): string {
  return renderTemplate('ssh_config.hbs', { cluster: plan.cluster.name, nodes: plan.nodes, user: plan.admin.name });
}
