// The day-2 planner: cluster.yaml (with its secrets) against what the API server says, as a list
// of changes in the order `apply` makes them, plus what pi-seed cannot do (yet) and why. Pure:
// the table tests in test/day2.test.ts feed it both sides.
import { type Problem } from '../diagnostics.js';
import { msg } from '../errors.js';
import { type ClusterPlan } from '../plan/plan.js';
import { type ClusterState } from './cluster-state.js';

export type Change =
  /** A joining node of cluster.yaml the cluster does not know yet: its token, join script, report and RBAC. */
  | { action: 'register'; node: string; tokenId: string }
  /**
   * A worker the cluster has and cluster.yaml no longer lists: cordon, drain, reset over SSH,
   * delete its Node, then its token, join script, report and RBAC. Without a Node, only those.
   */
  | { action: 'remove'; node: string; hasNode: boolean }
  /**
   * A joined worker without its role label: the node keeper labels only the workers it was
   * seeded with, so one added later gets it from apply.
   */
  | { action: 'label'; node: string };

export interface DayTwoPlan {
  changes: Change[];
  /** Registered joining nodes whose cards have not joined yet: nothing to do but boot them. */
  waiting: string[];
  /** Differences pi-seed refuses to act on, each with the reason; `apply` does nothing while any is left. */
  problems: Problem[];
}

export interface Desired {
  plan: ClusterPlan;
  /** Joining node → its token id (from cluster.secrets.yaml). */
  tokenIds: ReadonlyMap<string, string>;
}

const minorOf = (version: string): number | null => {
  const m = /^v?1\.(\d+)(\.|$)/.exec(version);
  return m ? Number(m[1]) : null;
};

export function planChanges(desired: Desired, observed: ClusterState): DayTwoPlan {
  const { plan } = desired;
  const problems: Problem[] = [];
  const changes: Change[] = [];
  const waiting: string[] = [];
  const nodes = new Map(observed.nodes.map((n) => [n.name, n]));
  const scripts = new Set(observed.joinScripts.map((s) => s.node));
  const reports = new Set(observed.reports);
  const wanted = new Map(plan.nodes.map((n) => [n.name, n]));

  const init = nodes.get(plan.initNode.name);
  if (!init) problems.push(msg.dayTwoNoInitNode(plan.initNode.name));

  // Kubernetes' version: the control planes' kubelets say what the cluster runs.
  const runningMinors = [...new Set(observed.nodes.filter((n) => n.controlPlane && n.kubeletVersion).map((n) => minorOf(n.kubeletVersion!)!))];
  const wantedMinor = minorOf(plan.kubernetes.minor);
  if (runningMinors.length > 1) problems.push(msg.dayTwoMixedVersions(observed.nodes.filter((n) => n.controlPlane).map((n) => `${n.name} ${n.kubeletVersion ?? '?'}`)));
  else if (runningMinors.length === 1 && wantedMinor !== null && runningMinors[0] !== wantedMinor) problems.push(msg.dayTwoVersionChange(`1.${runningMinors[0]}`, plan.kubernetes.minor));

  for (const node of plan.joiners) {
    const running = nodes.get(node.name);
    if (running) {
      if (running.controlPlane !== (node.role === 'control-plane')) problems.push(msg.dayTwoRoleChange(node.name, running.controlPlane ? 'control-plane' : 'worker', node.role));
      else if (node.role === 'worker' && !running.workerLabel) changes.push({ action: 'label', node: node.name });
      continue;
    }
    const tokenId = desired.tokenIds.get(node.name);
    if (tokenId === undefined) {
      problems.push(msg.dayTwoNoToken(node.name));
      continue;
    }
    const registered = scripts.has(node.name) && reports.has(node.name) && observed.tokens.get(node.name) === tokenId;
    if (registered) waiting.push(node.name);
    else if (node.role === 'control-plane') problems.push(msg.dayTwoAddControlPlane(node.name));
    else changes.push({ action: 'register', node: node.name, tokenId });
  }

  // What the cluster has of nodes cluster.yaml no longer lists: Nodes first, then leftovers.
  const gone = new Set<string>();
  for (const running of observed.nodes) {
    if (wanted.has(running.name)) continue;
    if (running.controlPlane) problems.push(msg.dayTwoRemoveControlPlane(running.name));
    else changes.push({ action: 'remove', node: running.name, hasNode: true });
    gone.add(running.name);
  }
  const leftovers = [...scripts, ...reports, ...observed.tokens.keys()].filter((n) => !wanted.has(n) && !gone.has(n));
  for (const node of [...new Set(leftovers)].sort()) changes.push({ action: 'remove', node, hasNode: false });
  return { changes, waiting, problems };
}
