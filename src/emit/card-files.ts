// What goes on one node's boot partition, shared by `write`, `bake` and `build --tar`: the same
// files `build` writes to out/<node>/, taken from the same tree so the three can never disagree.
import { randomBytes } from 'node:crypto';
import { type Io, reportDiagnostics } from '../cli-io.js';
import { hasErrors } from '../diagnostics.js';
import { fullTree, loadCluster, selectNodes } from '../pipeline.js';
import { type ClusterPlan, type PlannedNode } from '../plan/plan.js';
import { cmdline } from '../render/boot-files.js';
import { NODE_KEY_FILE } from '../render/user-data.js';
import { type ClusterSecrets, createSecrets, loadOrCreateSecrets } from '../secrets/cluster-secrets.js';
import { type CmdlineTarget, piSeedCmdlineFlags } from './cmdline-merge.js';

export interface CardFile {
  name: string;
  content: Buffer;
  mode: number;
}

/** A node's card: its files, and where and what its command line is (CmdlineTarget). */
export interface NodeCard extends CmdlineTarget {
  node: string;
  /** Every file except the command line, in the order they are written (see CARD_WRITE_ORDER). */
  files: CardFile[];
}

export const CMDLINE_FILE = 'cmdline.txt';

/**
 * The key first (nothing reads it before user-data), meta-data last: its instance-id is what makes
 * cloud-init treat the card as a new instance, so a card pulled half-way through never carries a
 * new instance-id next to old files. The command line goes just before meta-data (a command line
 * in a folder, current/cmdline.txt, sorts there too).
 */
export const CARD_WRITE_ORDER = [NODE_KEY_FILE, 'user-data', 'network-config', CMDLINE_FILE, 'meta-data'];

/** Sorts card files into CARD_WRITE_ORDER; a file not listed there goes before meta-data, by name. */
export function inWriteOrder<T extends { name: string }>(files: readonly T[]): T[] {
  const rank = (name: string) => (CARD_WRITE_ORDER.includes(name) ? CARD_WRITE_ORDER.indexOf(name) : CARD_WRITE_ORDER.length - 1.5);
  return [...files].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1));
}

/** Where a node's command line goes and what it holds: all a card check needs, no secret. */
export function cmdlineTarget(plan: ClusterPlan, node: PlannedNode): CmdlineTarget {
  return { board: node.board, cmdlineFlags: piSeedCmdlineFlags(plan), cmdline: cmdline(plan), cmdlineFile: plan.os.cmdlineFile };
}

export function nodeCard(plan: ClusterPlan, secrets: ClusterSecrets, node: PlannedNode): NodeCard {
  const prefix = `${node.name}/`;
  const byName = new Map<string, CardFile>();
  for (const [path, file] of fullTree(plan, secrets, [node.name])) {
    if (!path.startsWith(prefix)) continue;
    const name = path.slice(prefix.length);
    byName.set(name, { name, content: Buffer.from(file.content), mode: file.mode });
  }
  const target = cmdlineTarget(plan, node);
  const files = inWriteOrder([...byName.values()].filter((f) => f.name !== target.cmdlineFile));
  return { node: node.name, files, ...target };
}

export interface SeedSelection {
  config: string;
  strict: boolean;
  /** Empty means every node. */
  nodes: readonly string[];
  /** false: never create cluster.secrets.yaml (a dry run); a throwaway key stands in. */
  createSecrets: boolean;
  /**
   * Checks the destination (a card's folder, say) once the cluster is valid and before
   * cluster.secrets.yaml is read or created, so a wrong destination never leaves a new secrets file.
   */
  checkDestination?: (plan: ClusterPlan, nodes: readonly PlannedNode[]) => void;
}

export interface LoadedSeeds {
  plan: ClusterPlan;
  secrets: ClusterSecrets;
  nodes: PlannedNode[];
  /** cluster.secrets.yaml does not exist yet and was not created. */
  secretsMissing: boolean;
}

/** Loads and validates the cluster, checks the node names and loads (or creates) the secrets; null after reporting problems. */
export async function loadSeeds(selection: SeedSelection, io: Io): Promise<LoadedSeeds | null> {
  const loaded = loadCluster(selection.config, selection.strict);
  const plan = loaded.plan;
  const unknown = plan ? selectNodes(plan, selection.nodes) : [];
  reportDiagnostics(io, [...loaded.diagnostics, ...unknown], loaded.source?.text);
  if (!plan || hasErrors(loaded.diagnostics) || unknown.length > 0) return null;
  const nodes = selection.nodes.length === 0 ? plan.nodes : plan.nodes.filter((n) => selection.nodes.includes(n.name));
  selection.checkDestination?.(plan, nodes);
  const joiners = plan.joiners.map((n) => n.name);
  const found = await loadOrCreateSecrets(selection.config, randomBytes, selection.createSecrets, joiners);
  if (found?.created) io.err(`created ${found.path} (mode 0600): back it up and never commit it\n`);
  else if (found && found.added.length > 0 && selection.createSecrets) io.err(`added a join token for ${found.added.join(', ')} to ${found.path}\n`);
  // A dry run without secrets plans with throwaway ones: it shows which files change, never their bytes.
  return { plan, nodes, secrets: found?.secrets ?? (await createSecrets(randomBytes, joiners, new Date())), secretsMissing: !found };
}
