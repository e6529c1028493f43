// The key file each card carries on its boot partition (pi-seed-node.key, 0600, git-ignored):
// what kubeadm needs that must never be in user-data. The bootstrap unpacks it into
// /etc/pi-seed/secrets (root only) and removes it from the FAT partition (docs/security.md).
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { type ClusterSecrets, formatSecretBundle, pkiFiles } from '../secrets/cluster-secrets.js';
import { clusterAccess, kubeadmInitConfiguration } from './kubernetes.js';

/**
 * A worker's card holds only its own bootstrap token; the control plane's holds the cluster's CAs
 * and service-account key (kubeadm's custom certificates), its InitConfiguration with every
 * worker's token, the RBAC that names those tokens, and which token belongs to which worker.
 */
export function nodeKeyFile(plan: ClusterPlan, node: PlannedNode, secrets: ClusterSecrets): string {
  const tokens = tokenMap(secrets);
  if (node.role === 'worker') return formatSecretBundle(node.name, [{ name: 'token', content: `${tokenOf(tokens, node.name)}\n` }]);
  return formatSecretBundle(node.name, [
    ...pkiFiles(secrets).map((file) => ({ name: file.path, content: file.content })),
    { name: 'kubeadm-init.yaml', content: kubeadmInitConfiguration(plan, tokens) },
    { name: 'cluster-access.yaml', content: clusterAccess(plan, tokens) },
    { name: 'tokens', content: plan.workers.map((w) => `${w.name} ${tokenOf(tokens, w.name).split('.')[0]}\n`).join('') },
  ]);
}

const tokensBySecrets = new WeakMap<ClusterSecrets, ReadonlyMap<string, string>>();

/** The tokens as a map, made once per secrets (per node it would make a big build quadratic). */
function tokenMap(secrets: ClusterSecrets): ReadonlyMap<string, string> {
  let tokens = tokensBySecrets.get(secrets);
  if (tokens === undefined) {
    tokens = new Map(Object.entries(secrets.bootstrapTokens));
    tokensBySecrets.set(secrets, tokens);
  }
  return tokens;
}

function tokenOf(tokens: ReadonlyMap<string, string>, node: string): string {
  const token = tokens.get(node);
  if (token === undefined) throw new Error(`no bootstrap token for ${node}`);
  return token;
}
