// The whole pipeline in one place, without touching the output: load → validate → plan → render.
// Commands call these and do only the I/O (after butane's TranslateBytes).
import { type Diagnostic, applyStrict, hasErrors } from './diagnostics.js';
import { msg } from './errors.js';
import { type OutputTree } from './emit/output-dir.js';
import { type ClusterPlan, planCluster } from './plan/plan.js';
import { renderCluster } from './render/index.js';
import { NODE_KEY_FILE } from './render/user-data.js';
import { type ClusterSecrets, nodeKeyFile } from './secrets/cluster-secrets.js';
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

/** Lines of out/.gitignore: node keys must never be committed. */
export const OUT_GITIGNORE = `# pi-seed: node keys are secrets; never commit them.\n*/${NODE_KEY_FILE}\n`;

/**
 * The files meant to be committed and diffed: every node's cloud-init files, cmdline.txt,
 * ssh_config and out/.gitignore. No secret is in any of them.
 */
export function publicTree(plan: ClusterPlan, only: readonly string[] = []): OutputTree {
  const tree: OutputTree = new Map();
  for (const [path, content] of renderCluster(plan, only)) tree.set(path, { content, mode: 0o644 });
  tree.set('.gitignore', { content: OUT_GITIGNORE, mode: 0o644 });
  return tree;
}

/** The public files plus each chosen node's key file (mode 0600, git-ignored). */
export function fullTree(plan: ClusterPlan, secrets: ClusterSecrets, only: readonly string[] = []): OutputTree {
  const tree = publicTree(plan, only);
  for (const node of plan.nodes) {
    if (only.length > 0 && !only.includes(node.name)) continue;
    tree.set(`${node.name}/${NODE_KEY_FILE}`, { content: nodeKeyFile(plan, node, secrets), mode: 0o600 });
  }
  return tree;
}
