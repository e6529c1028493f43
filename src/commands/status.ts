// pi-seed status: reads the Nodes and the nodes' reports from the API server, as a short-lived
// admin (a client certificate minted in memory from the cluster CA), verifying the server against
// that CA, and prints a table or JSON in cluster.yaml's order (docs/join-protocol.md).
import { EXIT_INVALID, EXIT_OK, type Io } from '../cli-io.js';
import { formatProblem, reportingProblems } from '../emit/problem-error.js';
import { type AdminCredentials, mintAdminCredentials } from '../kube/admin-credentials.js';
import { clusterAccess } from '../kube/access.js';
import { ApiUnavailable, REQUEST_TIMEOUT_MS, readClusterObjects } from '../kube/api-client.js';
import { controlPlaneHealth } from '../kube/control-plane-health.js';
import { clusterStatus, formatControlPlanes, formatStatusTable } from '../kube/status-report.js';

export interface StatusOptions {
  config: string;
  json: boolean;
  watch: boolean;
  /** host or host:port of the API server instead of the control plane's address. */
  server?: string;
  /** Seconds between refreshes with --watch. */
  intervalSeconds?: number;
  /** Stop --watch after this many refreshes (tests); unbounded by default, until Ctrl-C. */
  maxRefreshes?: number;
  /** Per-request deadline (tests). */
  timeoutMs?: number;
}

const CREDENTIAL_TTL_MS = 10 * 60 * 1000;
/** Mint a fresh certificate when the one in hand has less than this left (long --watch). */
const RENEW_BEFORE_MS = 60 * 1000;

export function runStatus(options: StatusOptions, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const access = clusterAccess(options.config, options.server, io, 'status authenticates with a certificate signed by the cluster CA that `pi-seed build` creates');
    if (!access) return EXIT_INVALID;
    const ca = access.secrets.certificateAuthorities.cluster;
    let credentials: AdminCredentials | null = null;
    let stopped = false;
    let wake: () => void = () => {};
    const stop = () => {
      stopped = true;
      wake();
    };
    if (options.watch) process.once('SIGINT', stop);
    try {
      for (let refresh = 1; ; refresh++) {
        if (!credentials || credentials.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) credentials = await mintAdminCredentials({ ca, ttlMs: CREDENTIAL_TTL_MS });
        let ok = true;
        const plan = access.plan;
        const ha = plan.virtualIP !== null;
        // With a virtual IP, each control plane is also asked directly, at the same time as the
        // endpoint: when the endpoint does not answer, they say which control planes are up.
        const asked = credentials;
        const healthChecks = ha
          ? Promise.all(plan.controlPlanes.map(async (cp) => [cp.name, await controlPlaneHealth({ address: cp.address, port: plan.kubernetes.apiServerPort, caCertificate: ca.certificate, credentials: asked, timeoutMs: options.timeoutMs ?? REQUEST_TIMEOUT_MS })] as const))
          : Promise.resolve([]);
        let objects: Awaited<ReturnType<typeof readClusterObjects>> | null = null;
        try {
          objects = await readClusterObjects({ cluster: plan.cluster.name, server: access.server, caCertificate: ca.certificate, credentials, timeoutMs: options.timeoutMs }, ha);
        } catch (err) {
          if (!(err instanceof ApiUnavailable)) throw err;
          ok = false;
          io.err(formatProblem(err.problem));
        }
        const health = new Map(await healthChecks);
        if (objects || ha) {
          const status = clusterStatus(plan, access.server, objects?.nodes ?? [], objects?.reports ?? [], ha ? { endpoint: objects?.endpoint ?? null, health } : undefined);
          if (options.watch && !options.json) io.out(`${new Date().toISOString()}  ${status.cluster} at ${status.server}\n`);
          // Without the endpoint only the control planes' own answers are known.
          if (!objects) io.out(options.json ? `${JSON.stringify({ ...status, nodes: [] }, null, 2)}\n` : formatControlPlanes(status, false));
          else io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatusTable(status));
        }
        if (!options.watch) return ok ? EXIT_OK : EXIT_INVALID;
        if (stopped || (options.maxRefreshes !== undefined && refresh >= options.maxRefreshes)) return ok ? EXIT_OK : EXIT_INVALID;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, (options.intervalSeconds ?? 5) * 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (stopped) return ok ? EXIT_OK : EXIT_INVALID;
      }
    } finally {
      process.removeListener('SIGINT', stop);
    }
  });
}
