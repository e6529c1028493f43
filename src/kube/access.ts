// What `kubeconfig` and `status` share: the plan, the cluster CA from cluster.secrets.yaml and the
// API server's URL, each reported as a catalog problem when missing or wrong.
import { existsSync } from 'node:fs';
import { EXIT_USAGE, type Io, reportDiagnostics } from '../cli-io.js';
import { hasErrors } from '../diagnostics.js';
import { ProblemError } from '../emit/problem-error.js';
import { msg } from '../errors.js';
import { loadCluster } from '../pipeline.js';
import { type ClusterPlan } from '../plan/plan.js';
import { type ClusterSecrets, readSecrets, secretsPathFor } from '../secrets/cluster-secrets.js';
import { serverUrl } from './admin-credentials.js';

export interface ClusterAccess {
  plan: ClusterPlan;
  secrets: ClusterSecrets;
  /** https://host:port of the API server. */
  server: string;
}

/** null after reporting an invalid cluster.yaml; throws a ProblemError for the rest. */
export function clusterAccess(config: string, server: string | undefined, io: Io, why: string): ClusterAccess | null {
  const loaded = loadCluster(config);
  reportDiagnostics(io, loaded.diagnostics.filter((d) => d.severity === 'error'), loaded.source?.text);
  if (!loaded.plan || hasErrors(loaded.diagnostics)) return null;
  const plan = loaded.plan;
  // The endpoint (the virtual IP when there is one) reaches whichever control plane is up.
  const url = serverUrl(server ?? plan.kubernetes.endpointHost, plan.kubernetes.apiServerPort);
  if (url === null) throw new ProblemError(msg.badServer(server ?? ''), EXIT_USAGE);
  const path = secretsPathFor(config);
  if (!existsSync(path)) throw new ProblemError(msg.secretsMissing(path, why));
  return { plan, secrets: readSecrets(path), server: url };
}
