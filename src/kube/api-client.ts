// Reads the cluster through @kubernetes/client-node, with a client certificate from the cluster CA
// and the server verified against that CA (never skipTLSVerify). The library is imported here,
// when a command first talks to the API server, so `build` and `validate` never load it.
import type { RequestContext } from '@kubernetes/client-node';
import { type Problem } from '../diagnostics.js';
import { msg } from '../errors.js';
import { type AdminCredentials, userName } from './admin-credentials.js';
import { type ConfigMapLike, ENDPOINT_CONFIGMAP, type NodeLike, REPORT_LABEL, REPORT_NAMESPACE } from './status-report.js';

/** Every request is bounded: a server that accepts and then says nothing cannot hang status. */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface ApiTarget {
  cluster: string;
  server: string;
  caCertificate: string;
  credentials: AdminCredentials;
  timeoutMs?: number;
}

/** Thrown when the API server cannot be read: the catalog problem says what was tried and why. */
export class ApiUnavailable extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** TLS failures meaning the certificate does not chain to the cluster CA, or is not usable. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The catalog problem for an error of a request to `server`. */
export function describeFailure(err: unknown, server: string, timeoutMs: number): Problem {
  const e = err as { code?: unknown; name?: string; type?: string; message?: string; body?: unknown };
  if (typeof e.code === 'number') {
    if (e.code === 401 || e.code === 403) return msg.apiServerDenied(server, e.code);
    return msg.apiServerFailed(server, `HTTP ${e.code}`);
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === 'ECONNREFUSED') return msg.apiServerRefused(server);
  if (e.name === 'AbortError' || e.type === 'aborted' || code === 'ETIMEDOUT' || code === 'ECONNRESET' && /timeout/i.test(e.message ?? '')) return msg.apiServerTimeout(server, timeoutMs / 1000);
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return msg.apiServerNotThisCluster(server, `its certificate does not name this host: ${firstLine(e.message)}`);
    return msg.apiServerNotThisCluster(server, `${code}`);
  }
  return msg.apiServerUnreachable(server, code ? `${code}: ${firstLine(e.message)}` : firstLine(e.message));
}

const firstLine = (text: string | undefined): string => (text ?? 'unknown error').split('\n')[0]!.slice(0, 300);

export interface ClusterObjects {
  nodes: NodeLike[];
  reports: ConfigMapLike[];
  /** pi-seed/control-plane-endpoint (who holds the virtual IP); null when absent or not asked for. */
  endpoint: ConfigMapLike | null;
}

/** The core client for `target`, each request bounded by its own deadline. */
export async function apiClients(target: ApiTarget) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  const user = userName(target.cluster);
  kc.loadFromOptions({
    clusters: [{ name: target.cluster, server: target.server, caData: b64(target.caCertificate), skipTLSVerify: false }],
    users: [{ name: user, certData: b64(target.credentials.certificate), keyData: b64(target.credentials.privateKey) }],
    contexts: [{ name: user, cluster: target.cluster, user }],
    currentContext: user,
  });
  const timeoutMs = target.timeoutMs ?? REQUEST_TIMEOUT_MS;
  // client-node passes the request's signal to fetch: each request gets its own deadline.
  const pass = <T>(value: T) => new k8s.Observable(Promise.resolve(value));
  const bounded = {
    middleware: [{ pre: (context: RequestContext) => (context.setSignal(AbortSignal.timeout(timeoutMs)), pass(context)), post: pass }],
    middlewareMergeStrategy: 'append' as const,
  };
  return { core: kc.makeApiClient(k8s.CoreV1Api), bounded, timeoutMs };
}

/** Lists the Nodes and the pi-seed reports (and, with `endpoint`, that ConfigMap); throws ApiUnavailable. */
export async function readClusterObjects(target: ApiTarget, endpoint = false): Promise<ClusterObjects> {
  const { core: api, bounded, timeoutMs } = await apiClients(target);
  try {
    const nodes = await api.listNode({}, bounded);
    const reports = await api.listNamespacedConfigMap({ namespace: REPORT_NAMESPACE, labelSelector: REPORT_LABEL }, bounded);
    // Listed by name rather than read: a cluster that has not published it yet answers an empty list, not 404.
    const endpoints = endpoint ? await api.listNamespacedConfigMap({ namespace: REPORT_NAMESPACE, fieldSelector: `metadata.name=${ENDPOINT_CONFIGMAP}` }, bounded) : null;
    return { nodes: nodes.items as NodeLike[], reports: reports.items as ConfigMapLike[], endpoint: (endpoints?.items[0] as ConfigMapLike | undefined) ?? null };
  } catch (err) {
    throw new ApiUnavailable(describeFailure(err, target.server, timeoutMs));
  }
}
