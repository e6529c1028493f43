// Cluster secrets live in cluster.secrets.yaml beside cluster.yaml: created once (randomness comes
// in from the caller, like talos' secrets bundle), reused afterwards so outputs stay byte-stable,
// never committed (`pi-seed init` lists it in .gitignore) and readable by its owner only.
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { ProblemError } from '../emit/problem-error.js';
import { msg } from '../errors.js';
import { deriveNodeKey, formatKeyFile } from '../join/protocol.js';
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { writeFileAtomic } from '../emit/atomic.js';

export const SECRETS_FILE_NAME = 'cluster.secrets.yaml';
export const CLUSTER_KEY_BYTES = 32;

export interface ClusterSecrets {
  clusterKey: Buffer;
}

export const SECRETS_API_VERSION = 'pi-seed/v1';
export const SECRETS_KIND = 'ClusterSecrets';

export function secretsPathFor(configPath: string): string {
  return join(dirname(configPath), SECRETS_FILE_NAME);
}

/**
 * Reads cluster.secrets.yaml. A truncated, edited or foreign file is a ProblemError naming the
 * file, what is wrong and what to do (every command reports it like any other problem); a file
 * without apiVersion and kind is one written before they existed, and is accepted.
 */
export function readSecrets(path: string): ClusterSecrets {
  let parsed: unknown;
  try {
    parsed = yaml.load(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProblemError(msg.secretsUnreadable(path, code ?? `not YAML: ${(err as Error).message.split('\n')[0]}`));
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ProblemError(msg.secretsDamaged(path, 'it is not a mapping of keys'));
  const doc = parsed as { apiVersion?: unknown; kind?: unknown; clusterKey?: unknown };
  if (doc.apiVersion !== undefined && doc.apiVersion !== SECRETS_API_VERSION) throw new ProblemError(msg.secretsForeign(path, `apiVersion ${JSON.stringify(doc.apiVersion)}`, SECRETS_API_VERSION));
  if (doc.kind !== undefined && doc.kind !== SECRETS_KIND) throw new ProblemError(msg.secretsForeign(path, `kind ${JSON.stringify(doc.kind)}`, SECRETS_KIND));
  if (typeof doc.clusterKey !== 'string' || !/^[0-9a-f]{64}$/.test(doc.clusterKey)) {
    throw new ProblemError(msg.secretsDamaged(path, `clusterKey must be ${CLUSTER_KEY_BYTES * 2} lower-case hex digits`));
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return { clusterKey: Buffer.from(doc.clusterKey, 'hex') };
}

export function secretsText(secrets: ClusterSecrets): string {
  return [
    '# pi-seed cluster secrets. Keep this file: every node key is derived from it.',
    '# Never commit or share it (pi-seed init adds it to .gitignore).',
    `apiVersion: ${SECRETS_API_VERSION}`,
    `kind: ${SECRETS_KIND}`,
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
