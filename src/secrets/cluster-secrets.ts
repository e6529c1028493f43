// Cluster secrets live in cluster.secrets.yaml beside cluster.yaml: created once (randomness comes
// in from the caller, like talos' secrets bundle), reused afterwards so outputs stay byte-stable,
// never committed (`pi-seed init` lists it in .gitignore) and readable by its owner only.
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { deriveNodeKey, formatKeyFile } from '../join/protocol.js';
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { writeFileAtomic } from '../emit/atomic.js';

export const SECRETS_FILE_NAME = 'cluster.secrets.yaml';
export const CLUSTER_KEY_BYTES = 32;

export interface ClusterSecrets {
  clusterKey: Buffer;
}

export class SecretsError extends Error {}

export function secretsPathFor(configPath: string): string {
  return join(dirname(configPath), SECRETS_FILE_NAME);
}

export function readSecrets(path: string): ClusterSecrets {
  let parsed: unknown;
  try {
    parsed = yaml.load(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SecretsError(`${path}: cannot read the cluster secrets (${(err as Error).message.split('\n')[0]}); restore it from your backup`);
  }
  const key = (parsed as { clusterKey?: unknown } | null)?.clusterKey;
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) {
    throw new SecretsError(`${path}: clusterKey must be ${CLUSTER_KEY_BYTES * 2} lower-case hex digits; restore the file from your backup (a new key means re-seeding every node)`);
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return { clusterKey: Buffer.from(key, 'hex') };
}

export function secretsText(secrets: ClusterSecrets): string {
  return [
    '# pi-seed cluster secrets. Keep this file: every node key is derived from it.',
    '# Never commit or share it (pi-seed init adds it to .gitignore).',
    'apiVersion: pi-seed/v1',
    'kind: ClusterSecrets',
    `clusterKey: ${secrets.clusterKey.toString('hex')}`,
    '',
  ].join('\n');
}

/** Loads the secrets beside the config, creating them from `randomBytes` on first use. */
export function loadOrCreateSecrets(configPath: string, randomBytes: (n: number) => Buffer, create: boolean): { secrets: ClusterSecrets; created: boolean; path: string } | null {
  const path = secretsPathFor(configPath);
  if (existsSync(path)) return { secrets: readSecrets(path), created: false, path };
  if (!create) return null;
  const secrets = { clusterKey: randomBytes(CLUSTER_KEY_BYTES) };
  writeFileAtomic(path, secretsText(secrets), 0o600);
  return { secrets, created: true, path };
}

/**
 * The key file a node finds on its boot partition: the control plane gets the cluster key (it
 * derives every worker's key to check them); a worker only its own derived key, so a lost worker
 * card cannot speak for another node or for the control plane.
 */
export function nodeKeyFile(plan: ClusterPlan, node: PlannedNode, secrets: ClusterSecrets): string {
  const key = node.role === 'control-plane' ? secrets.clusterKey : deriveNodeKey(secrets.clusterKey, node.name);
  return formatKeyFile(key);
}
