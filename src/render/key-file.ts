// The key file each card carries on its boot partition (pi-seed-node.key, 0600, git-ignored):
// what kubeadm needs that must never be in user-data. The bootstrap unpacks it into
// /etc/pi-seed/secrets (root only) and removes it from the FAT partition (docs/security.md).
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { type ClusterSecrets, formatSecretBundle, pkiFiles } from '../secrets/cluster-secrets.js';
import { clusterAccess, kubeadmInitConfiguration, tokenFor } from './kubernetes.js';

/**
 * A worker's card holds only its own bootstrap token. Every control plane's holds the cluster's
 * CAs and service-account key (kubeadm's custom certificates, shared by all control planes, so
 * kubeadm never uploads them to the cluster); a joining control plane's adds its own token, the
 * init node's its InitConfiguration with every joining node's token, the RBAC that names those
 * tokens, and which token belongs to which node.
 */
export function nodeKeyFile(plan: ClusterPlan, node: PlannedNode, secrets: ClusterSecrets): string {
  const tokens = tokenMap(secrets);
  const token = () => ({ name: 'token', content: `${tokenFor(tokens, node.name)}\n` });
  if (node.role === 'worker') return formatSecretBundle(node.name, [token()]);
  const pki = pkiFiles(secrets).map((file) => ({ name: file.path, content: file.content }));
  if (node.name !== plan.initNode.name) return formatSecretBundle(node.name, [...pki, token()]);
  return formatSecretBundle(node.name, [
    ...pki,
    { name: 'kubeadm-init.yaml', content: kubeadmInitConfiguration(plan, tokens) },
    { name: 'cluster-access.yaml', content: clusterAccess(plan, tokens) },
    { name: 'tokens', content: plan.joiners.map((n) => `${n.name} ${tokenFor(tokens, n.name).split('.')[0]}\n`).join('') },
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
