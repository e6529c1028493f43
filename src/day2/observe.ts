// What plan and apply share: read the cluster as a short-lived admin and plan against it.
import { type AdminCredentials, mintAdminCredentials } from '../kube/admin-credentials.js';
import { type ClusterAccess } from '../kube/access.js';
import { type ApiTarget } from '../kube/api-client.js';
import { tokenId } from '../secrets/cluster-secrets.js';
import { type DayTwoPlan, planChanges } from './changes.js';
import { type ClusterState, readClusterState } from './cluster-state.js';

/** Long enough for a drain; a certificate cannot be revoked, so no longer. */
const CREDENTIAL_TTL_MS = 60 * 60 * 1000;

export interface Observed {
  target: ApiTarget;
  credentials: AdminCredentials;
  state: ClusterState;
  plan: DayTwoPlan;
}

/** Throws ApiUnavailable when the API server cannot be read. */
export async function observe(access: ClusterAccess, timeoutMs?: number): Promise<Observed> {
  const ca = access.secrets.certificateAuthorities.cluster;
  const credentials = await mintAdminCredentials({ ca, ttlMs: CREDENTIAL_TTL_MS });
  const target: ApiTarget = { cluster: access.plan.cluster.name, server: access.server, caCertificate: ca.certificate, credentials, ...(timeoutMs ? { timeoutMs } : {}) };
  const state = await readClusterState(target);
  const tokenIds = new Map(access.plan.joiners.filter((n) => access.secrets.bootstrapTokens[n.name] !== undefined).map((n) => [n.name, tokenId(access.secrets.bootstrapTokens[n.name]!)]));
  return { target, credentials, state, plan: planChanges({ plan: access.plan, tokenIds }, state) };
}
