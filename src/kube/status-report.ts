// What `pi-seed status` shows, from the API server's Nodes and the nodes' report ConfigMaps
// (ns pi-seed, label pi-seed.io/report; docs/join-protocol.md): one row per node of cluster.yaml,
// in its order. Everything read from the server is untrusted text: control characters and lone
// surrogates are replaced and lengths capped before it reaches the terminal or the JSON.
import { type ClusterPlan } from '../plan/plan.js';

export const REPORT_NAMESPACE = 'pi-seed';
export const REPORT_LABEL = 'pi-seed.io/report';
export const NODE_LABEL = 'pi-seed.io/node';
export const PHASE_LABEL = 'pi-seed.io/phase';
/** Who holds the virtual IP, kept by the control planes' node keepers (docs/ha.md). */
export const ENDPOINT_CONFIGMAP = 'control-plane-endpoint';
const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';

/** The parts of a Node the status reads (client-node's V1Node has them). */
export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: Array<{ type?: string; status?: string; lastTransitionTime?: Date | string }>; nodeInfo?: { kubeletVersion?: string } };
}

export interface ConfigMapLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export interface NodeStatus {
  name: string;
  role: string;
  phase: string;
  ready: boolean | null;
  kubeletVersion: string | null;
  since: string | null;
  error: string | null;
}

/** A control plane asked directly (./control-plane-health.ts). */
export interface ControlPlaneStatus {
  name: string;
  address: string;
  apiServer: string;
  etcd: string | null;
  /** This control plane holds the virtual IP, as its node keeper last said. */
  holdsVirtualIP: boolean;
}

export interface ClusterStatus {
  cluster: string;
  server: string;
  nodes: NodeStatus[];
  /** With kubernetes.controlPlaneEndpoint only: the virtual IP and who holds it. */
  controlPlaneEndpoint?: { address: string; holder: string | null; since: string | null };
  /** With kubernetes.controlPlaneEndpoint only: every control plane's API server and etcd. */
  controlPlanes?: ControlPlaneStatus[];
}

export interface ControlPlaneHealthLike {
  apiServer: string;
  etcd: string | null;
}

/** Printable, bounded text from the server: no terminal escapes, no unpaired surrogates. */
export function clean(value: unknown, max = 200): string | null {
  if (typeof value !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const iso = (value: Date | string | undefined): string | null => {
  if (value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

export function clusterStatus(
  plan: ClusterPlan,
  server: string,
  nodes: readonly NodeLike[],
  reports: readonly ConfigMapLike[],
  ha?: { endpoint: ConfigMapLike | null; health: ReadonlyMap<string, ControlPlaneHealthLike> },
): ClusterStatus {
  const nodeByName = new Map(nodes.map((n) => [n.metadata?.name, n]));
  // A report counts only under its own name and with the matching node label.
  const reportByName = new Map(reports.filter((r) => r.metadata?.name === `report-${r.metadata?.labels?.[NODE_LABEL]}`).map((r) => [r.metadata!.labels![NODE_LABEL], r]));
  return {
    cluster: plan.cluster.name,
    server,
    ...(plan.virtualIP && ha ? controlPlaneStatus(plan, ha) : {}),
    nodes: plan.nodes.map((planned) => {
      const node = nodeByName.get(planned.name);
      const report = reportByName.get(planned.name);
      const readyCondition = node?.status?.conditions?.find((c) => c.type === 'Ready');
      const roles = Object.keys(node?.metadata?.labels ?? {}).filter((l) => l.startsWith(ROLE_LABEL_PREFIX)).map((l) => l.slice(ROLE_LABEL_PREFIX.length)).sort();
      // The init node publishes each report with its role only; the node itself writes the phase.
      const phase = clean(report?.data?.phase ?? report?.metadata?.labels?.[PHASE_LABEL], 40) || (report ? 'pending' : 'unknown');
      return {
        name: planned.name,
        role: clean(roles.join(','), 60) || planned.role,
        phase,
        ready: node === undefined ? null : readyCondition?.status === 'True',
        kubeletVersion: clean(node?.status?.nodeInfo?.kubeletVersion, 40),
        since: clean(report?.data?.since, 40) ?? iso(readyCondition?.lastTransitionTime),
        error: phase === 'failed' ? clean(report?.data?.detail) || 'no reason given' : null,
      };
    }),
  };
}

function controlPlaneStatus(plan: ClusterPlan, ha: { endpoint: ConfigMapLike | null; health: ReadonlyMap<string, ControlPlaneHealthLike> }): Pick<ClusterStatus, 'controlPlaneEndpoint' | 'controlPlanes'> {
  // The holder is believed only when it names a control plane of cluster.yaml.
  const said = clean(ha.endpoint?.data?.holder, 64);
  const holder = plan.controlPlanes.some((cp) => cp.name === said) ? said : null;
  return {
    controlPlaneEndpoint: { address: plan.virtualIP!.address, holder, since: holder ? clean(ha.endpoint?.data?.since, 40) : null },
    controlPlanes: plan.controlPlanes.map((cp) => {
      const health = ha.health.get(cp.name);
      return {
        name: cp.name,
        address: cp.address,
        apiServer: clean(health?.apiServer) ?? 'not asked',
        etcd: clean(health?.etcd ?? undefined),
        holdsVirtualIP: cp.name === holder,
      };
    }),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatStatusTable(status: ClusterStatus): string {
  const rows = [['NODE', 'ROLE', 'PHASE', 'READY', 'SINCE', 'DETAIL']];
  for (const n of status.nodes) {
    const detail = n.error ?? (n.kubeletVersion ? `kubelet ${n.kubeletVersion}` : n.ready === null ? 'not registered' : '');
    rows.push([n.name, n.role, n.phase, n.ready === null ? '-' : n.ready ? 'yes' : 'no', n.since ?? '-', detail]);
  }
  if (!status.controlPlanes || !status.controlPlaneEndpoint) return table(rows);
  return `${table(rows)}\n${formatControlPlanes(status)}`;
}

/** The control planes' table (HA clusters): also shown alone when the endpoint does not answer. */
export function formatControlPlanes(status: ClusterStatus, endpointAnswered = true): string {
  if (!status.controlPlanes || !status.controlPlaneEndpoint) return '';
  const endpoint = status.controlPlaneEndpoint;
  const planes = [['CONTROL PLANE', 'ADDRESS', 'API SERVER', 'ETCD', 'VIRTUAL IP']];
  for (const cp of status.controlPlanes) {
    planes.push([cp.name, cp.address, cp.apiServer, cp.etcd ?? '-', cp.holdsVirtualIP ? `holds ${endpoint.address}${endpoint.since ? ` since ${endpoint.since}` : ''}` : '']);
  }
  const holder = endpoint.holder
    ? ''
    : endpointAnswered
      ? `virtual IP ${endpoint.address}: no control plane has said it holds it yet\n`
      : `virtual IP ${endpoint.address}: did not answer, so who holds it is not known\n`;
  return `${table(planes)}${holder}`;
}
