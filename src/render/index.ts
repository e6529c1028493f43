// plan → render: every output file as a path relative to the output folder and its bytes.
// Pure: the same plan gives the same map, in the same order.
import { type ClusterPlan, type ClusterTrust, type PlannedNode } from '../plan/plan.js';
import { cmdline, metaData, sshConfig } from './boot-files.js';
import { networkConfig } from './network-config.js';
import { userData } from './user-data.js';

export type RenderedFiles = Map<string, string>;

export function renderNode(plan: ClusterPlan, node: PlannedNode, trust: ClusterTrust): RenderedFiles {
  const user = userData(plan, node, trust);
  const network = networkConfig(plan, node);
  const boot = cmdline(plan);
  return new Map([
    ['user-data', user],
    ['network-config', network],
    ['meta-data', metaData(plan, node, trust.generationOf(node.name))],
    // The file the release's firmware reads: cmdline.txt, or current/cmdline.txt on A/B boot.
    [plan.os.cmdlineFile, boot],
  ]);
}

/** The nodes a command works on: those named, or all when none are. */
export function chosenNodes(plan: ClusterPlan, only: readonly string[]): PlannedNode[] {
  return only.length === 0 ? plan.nodes : plan.nodes.filter((n) => only.includes(n.name));
}

/**
 * Files for the chosen nodes plus the cluster-wide ones, one node at a time: a generator, so a
 * thousand-node build never holds every node's files in memory at once.
 */
export function* renderCluster(plan: ClusterPlan, trust: ClusterTrust, only: readonly string[] = []): Generator<[string, string]> {
  for (const node of chosenNodes(plan, only)) {
    for (const [name, content] of renderNode(plan, node, trust)) yield [`${node.name}/${name}`, content];
  }
  yield ['ssh_config', sshConfig(plan)];
}
