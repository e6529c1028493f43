// What `plan` and `apply` read of the running cluster: its Nodes, pi-seed's join scripts and the
// bootstrap tokens pi-seed labelled with their node (docs/day-2.md). Everything read from the
// server is untrusted: names that are not node names are dropped, versions of the wrong form too.
import { ApiUnavailable, type ApiTarget, apiClients, describeFailure } from '../kube/api-client.js';
import { NODE_LABEL, REPORT_LABEL, REPORT_NAMESPACE } from '../kube/status-report.js';
import { parseIPv4 } from '../plan/ipv4.js';
import { JOIN_SCRIPT_LABEL, joinScriptName, reportName } from '../render/kubernetes.js';

export interface ObservedNode {
  name: string;
  controlPlane: boolean;
  /** Labelled node-role.kubernetes.io/worker (the node keeper, or apply, does it). */
  workerLabel: boolean;
  ready: boolean;
  /** e.g. v1.37.1, or null when the kubelet has not said. */
  kubeletVersion: string | null;
  unschedulable: boolean;
  /** Its InternalIP, where `apply` reaches it over SSH (a removed node is no longer in cluster.yaml). */
  address: string | null;
}

export interface ObservedJoinScript {
  node: string;
  /** The versions the init node patched in: null until it has. */
  kubernetesVersion: string | null;
  packageVersion: string | null;
}

export interface ClusterState {
  nodes: ObservedNode[];
  joinScripts: ObservedJoinScript[];
  /** The node names with a report ConfigMap. */
  reports: string[];
  /** Node name → the id of its bootstrap token still in the cluster (label pi-seed.io/node). */
  tokens: ReadonlyMap<string, string>;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const KUBERNETES_VERSION = /^v\d+\.\d+\.\d+$/;
const PACKAGE_VERSION = /^\d+\.\d+\.\d+-[0-9A-Za-z.~+]+$/;
const TOKEN_SECRET = /^bootstrap-token-([a-z0-9]{6})$/;

const decoded = (value: string | undefined, form: RegExp): string | null => {
  if (value === undefined) return null;
  const text = Buffer.from(value, 'base64').toString('utf8').trim();
  return form.test(text) ? text : null;
};

interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Array<{ type?: string; status?: string }>; nodeInfo?: { kubeletVersion?: string }; addresses?: Array<{ type?: string; address?: string }> };
}

/** Parses what the API server listed (pure, for the table tests). */
export function clusterState(nodes: readonly NodeObject[], configMaps: ReadonlyArray<{ metadata?: { name?: string; labels?: Record<string, string> }; binaryData?: Record<string, string> }>, secrets: ReadonlyArray<{ metadata?: { name?: string; labels?: Record<string, string> } }>): ClusterState {
  const observedNodes = nodes
    .filter((n) => NODE_NAME.test(n.metadata?.name ?? ''))
    .map((n) => ({
      name: n.metadata!.name!,
      controlPlane: 'node-role.kubernetes.io/control-plane' in (n.metadata?.labels ?? {}),
      workerLabel: 'node-role.kubernetes.io/worker' in (n.metadata?.labels ?? {}),
      ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      kubeletVersion: KUBERNETES_VERSION.test(n.status?.nodeInfo?.kubeletVersion ?? '') ? n.status!.nodeInfo!.kubeletVersion! : null,
      unschedulable: n.spec?.unschedulable === true,
      address: n.status?.addresses?.find((a) => a.type === 'InternalIP' && parseIPv4(a.address ?? '') !== null)?.address ?? null,
    }));
  const owner = (o: { metadata?: { labels?: Record<string, string> } }) => {
    const node = o.metadata?.labels?.[NODE_LABEL];
    return node !== undefined && NODE_NAME.test(node) ? node : null;
  };
  const joinScripts: ObservedJoinScript[] = [];
  const reports: string[] = [];
  for (const cm of configMaps) {
    const node = owner(cm);
    if (node === null) continue;
    const labels = cm.metadata?.labels ?? {};
    if (JOIN_SCRIPT_LABEL in labels && cm.metadata?.name === joinScriptName(node)) {
      joinScripts.push({ node, kubernetesVersion: decoded(cm.binaryData?.['kubernetes-version'], KUBERNETES_VERSION), packageVersion: decoded(cm.binaryData?.['package-version'], PACKAGE_VERSION) });
    }
    if (REPORT_LABEL in labels && cm.metadata?.name === reportName(node)) reports.push(node);
  }
  const tokens = new Map<string, string>();
  for (const secret of secrets) {
    const node = owner(secret);
    const id = TOKEN_SECRET.exec(secret.metadata?.name ?? '')?.[1];
    if (node !== null && id !== undefined) tokens.set(node, id);
  }
  return { nodes: observedNodes, joinScripts, reports, tokens };
}

/** Lists the cluster through the API server; throws ApiUnavailable. */
export async function readClusterState(target: ApiTarget): Promise<ClusterState> {
  const { core, bounded, timeoutMs } = await apiClients(target);
  try {
    const nodes = await core.listNode({}, bounded);
    const configMaps = await core.listNamespacedConfigMap({ namespace: REPORT_NAMESPACE, labelSelector: NODE_LABEL }, bounded);
    // Only the token Secrets pi-seed labelled: their values are never read into pi-seed's output.
    const secrets = await core.listNamespacedSecret({ namespace: 'kube-system', labelSelector: NODE_LABEL }, bounded);
    return clusterState(nodes.items as NodeObject[], configMaps.items, secrets.items);
  } catch (err) {
    throw new ApiUnavailable(describeFailure(err, target.server, timeoutMs));
  }
}
