// The whole pipeline in one place, without touching the output: load → validate → plan → render.
// Commands call these and do only the I/O (after butane's TranslateBytes).
import { type Diagnostic, applyStrict, hasErrors } from './diagnostics.js';
import { msg } from './errors.js';
import { type OutputFile, type OutputTree } from './emit/output-dir.js';
import { type ClusterPlan, type ClusterTrust, planCluster } from './plan/plan.js';
import { chosenNodes, renderCluster } from './render/index.js';
import { NODE_KEY_FILE } from './render/user-data.js';
import { nodeKeyFile } from './render/key-file.js';
import { type ClusterSecrets, caCertHash, generationOf } from './secrets/cluster-secrets.js';
import { closest } from './suggest.js';
import { type Source } from './load/source.js';
import { validateFile } from './validate/index.js';

export interface Loaded {
  diagnostics: Diagnostic[];
  plan?: ClusterPlan;
  source?: Source;
}

export function loadCluster(configPath: string, strict = false): Loaded {
  const validated = validateFile(configPath);
  const diagnostics = applyStrict(validated.diagnostics, strict);
  if (hasErrors(diagnostics) || !validated.spec) return { diagnostics, source: validated.source };
  return { diagnostics, plan: planCluster(validated.spec), source: validated.source };
}

/** Checks --node names against the plan; unknown ones get a "did you mean". */
export function selectNodes(plan: ClusterPlan, names: readonly string[]): Diagnostic[] {
  const known = plan.nodes.map((n) => n.name);
  return names
    .filter((name) => !known.includes(name))
    .map((name) => ({ ...msg.unknownNode(name, known, closest(name, known)), path: ['nodes'] }));
}

/** What the rendered files take from the secrets: the public half of the cluster CA, the nodes' generations. */
export function clusterTrust(secrets: ClusterSecrets): ClusterTrust {
  const caCertificate = secrets.certificateAuthorities.cluster.certificate;
  return { caCertificate, caCertHash: caCertHash(caCertificate), generationOf: (node) => generationOf(secrets, node) };
}

/** Lines of out/.gitignore: node keys must never be committed. */
export const OUT_GITIGNORE = `# pi-seed: node keys are secrets; never commit them.\n*/${NODE_KEY_FILE}\n`;

/**
 * The files meant to be committed and diffed: every node's cloud-init files, cmdline.txt,
 * ssh_config and out/.gitignore. No secret is in any of them. Produced lazily, node by node.
 */
export function* publicFiles(plan: ClusterPlan, trust: ClusterTrust, only: readonly string[] = []): Generator<[string, OutputFile]> {
  for (const [path, content] of renderCluster(plan, trust, only)) yield [path, { content, mode: 0o644 }];
  yield ['.gitignore', { content: OUT_GITIGNORE, mode: 0o644 }];
}

/** The public files plus each chosen node's key file (mode 0600, git-ignored), node by node. */
export function* fullFiles(plan: ClusterPlan, secrets: ClusterSecrets, only: readonly string[] = []): Generator<[string, OutputFile]> {
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const keyEntry = (name: string): [string, OutputFile] => [`${name}/${NODE_KEY_FILE}`, { content: nodeKeyFile(plan, byName.get(name)!, secrets), mode: 0o600 }];
  let previous: string | undefined;
  for (const entry of publicFiles(plan, clusterTrust(secrets), only)) {
    const node = entry[0].includes('/') ? entry[0].split('/')[0] : undefined;
    // Each node's key goes right after its other files, so a node's folder stays in one piece.
    if (previous !== undefined && node !== previous) yield keyEntry(previous);
    previous = node;
    yield entry;
  }
  if (previous !== undefined) yield keyEntry(previous);
}


/** The same files collected in a map, for callers that need them all at once (tar, card). */
export const publicTree = (plan: ClusterPlan, trust: ClusterTrust, only: readonly string[] = []): OutputTree => new Map(publicFiles(plan, trust, only));
export const fullTree = (plan: ClusterPlan, secrets: ClusterSecrets, only: readonly string[] = []): OutputTree => new Map(fullFiles(plan, secrets, only));

/** The top-level names a build writes in the output folder: node folders and cluster-wide files. */
export function outputEntries(plan: ClusterPlan, only: readonly string[] = []): string[] {
  return [...chosenNodes(plan, only).map((n) => n.name), 'ssh_config', '.gitignore'];
}
