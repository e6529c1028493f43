// plan → render: every output file as a path relative to the output folder and its bytes.
// Pure: the same plan gives the same map, in the same order.
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { cmdline, metaData, sshConfig } from './boot-files.js';
import { networkConfig } from './network-config.js';
import { userData } from './user-data.js';

export type RenderedFiles = Map<string, string>;

export function renderNode(plan: ClusterPlan, node: PlannedNode): RenderedFiles {
  const user = userData(plan, node);
  const network = networkConfig(plan, node);
  const boot = cmdline(plan);
  return new Map([
    ['user-data', user],
    ['network-config', network],
    ['meta-data', metaData(node, [user, network])],
    ['cmdline.txt', boot],
  ]);
}

/** Files for the chosen nodes (all when `only` is empty) plus the cluster-wide ones. */
export function renderCluster(plan: ClusterPlan, only: readonly string[] = []): RenderedFiles {
  const files: RenderedFiles = new Map();
  const chosen = only.length === 0 ? plan.nodes : plan.nodes.filter((n) => only.includes(n.name));
  for (const node of chosen) {
    for (const [name, content] of renderNode(plan, node)) files.set(`${node.name}/${name}`, content);
  }
  files.set('ssh_config', sshConfig(plan));
  return files;
}
