// Merges pi-seed's kernel flags into the cmdline.txt already on a card (or in an image) instead of
// replacing it: the card's own line (root=, console=, what a future release adds) is what boots
// it, so it is kept token for token and pi-seed only adds what is missing. Rules in
// docs/card-and-image.md; merging twice gives the same text as merging once.
import { type ClusterPlan } from '../plan/plan.js';
import { UBUNTU } from '../spec/v1/support.js';
import { type Board } from '../spec/v1/types.js';
import { firmwareCmdlines } from './boot-config.js';

/** The firmware's configuration file in the boot partition's root, on every release. */
export const BOOT_CONFIG_FILE = 'config.txt';

export interface CmdlineMerge {
  /** The new cmdline.txt. Byte-identical to the card's when nothing had to change. */
  text: string;
  added: string[];
  removed: string[];
  changed: boolean;
}

/** pi-seed's own flags: the plan's cmdline entries that are not in the release's default line. */
export function piSeedCmdlineFlags(plan: ClusterPlan): string[] {
  const release = new Set(UBUNTU[plan.os.ubuntu].defaultCmdline.split(' '));
  return plan.os.cmdline.filter((flag) => !release.has(flag));
}

/** Keys the kernel accepts several times, each adding to the last (cgroup_enable=cpuset cgroup_enable=memory). */
const REPEATABLE_KEYS = new Set(['cgroup_enable', 'console']);

const keyOf = (token: string): string => token.split('=', 1)[0]!;

/** Splits a kernel command line on white space, keeping double-quoted values ("a b") whole. */
export function cmdlineTokens(line: string): string[] {
  return line.match(/(?:[^\s"]+|"[^"]*"?)+/g) ?? [];
}

/**
 * `card` is the card's cmdline.txt (null when it has none), `flags` pi-seed's flags and
 * `fallback` the whole line pi-seed renders, used when the card has no line to merge into.
 */
export function mergeCmdline(card: string | null, flags: readonly string[], fallback: string): CmdlineMerge {
  if (card === null || card.trim() === '') {
    return { text: fallback.endsWith('\n') ? fallback : `${fallback}\n`, added: [...flags], removed: [], changed: true };
  }
  // The firmware reads the first line; anything after it is the card owner's and stays as it is.
  const newline = card.indexOf('\n');
  const firstLine = newline === -1 ? card : card.slice(0, newline);
  const rest = newline === -1 ? '' : card.slice(newline + 1);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const token of cmdlineTokens(firstLine)) {
    const replacement = resolveConflict(token, flags);
    if (replacement !== token) removed.push(token);
    if (replacement !== null) kept.push(replacement);
  }
  const added = flags.filter((flag) => !kept.includes(flag));
  if (added.length === 0 && removed.length === 0) return { text: card, added, removed, changed: false };
  return { text: `${[...kept, ...added].join(' ')}\n${rest}`, added, removed, changed: true };
}

/**
 * What becomes of one of the card's tokens: itself, a rewritten token, or null (dropped).
 * - A single-valued key pi-seed sets (cgroup_memory=0 against cgroup_memory=1) is dropped, so
 *   pi-seed's value is the only one.
 * - `cgroup_disable=memory` (some firmware and guides add it) loses `memory` from its list,
 *   because Kubernetes needs the memory controller; other controllers in the list stay.
 */
function resolveConflict(token: string, flags: readonly string[]): string | null {
  const key = keyOf(token);
  if (!REPEATABLE_KEYS.has(key) && flags.some((flag) => keyOf(flag) === key && flag !== token)) return null;
  if (key === 'cgroup_disable' && flags.includes('cgroup_enable=memory')) {
    const controllers = token.slice(key.length + 1).split(',');
    if (!controllers.includes('memory')) return token;
    const others = controllers.filter((c) => c !== 'memory');
    return others.length === 0 ? null : `${key}=${others.join(',')}`;
  }
  return token;
}

/** One command-line file on a card: what it holds now (null: absent) and what pi-seed makes of it. */
export interface CmdlineEdit {
  path: string;
  before: string | null;
  merge: CmdlineMerge;
}

export interface CmdlineTarget {
  /** pi-seed's flags and whole line (see NodeCard). */
  cmdlineFlags: readonly string[];
  cmdline: string;
  /** Where the release keeps the line, used when the card has no config.txt to ask. */
  cmdlineFile: string;
  board: Board;
}

/**
 * The command lines to merge on a card, found from its config.txt (see boot-config.ts): every
 * file a normal boot reads (created with pi-seed's whole line if the card lacks it: it is read)
 * and every file a tryboot reads that exists (new/ holds assets waiting to be tried). A file the
 * firmware never reads is neither created nor changed.
 */
export function cmdlineEdits(target: CmdlineTarget, read: (path: string) => string | null): CmdlineEdit[] {
  const config = read(BOOT_CONFIG_FILE);
  const found = config === null ? { boot: [target.cmdlineFile], tryboot: [] } : firmwareCmdlines(config, read, target.board);
  const edit = (path: string): CmdlineEdit => {
    const before = read(path);
    return { path, before, merge: mergeCmdline(before, target.cmdlineFlags, target.cmdline) };
  };
  const boot = found.boot.map(edit);
  const tryboot = found.tryboot.filter((path) => !found.boot.includes(path)).map(edit).filter((e) => e.before !== null);
  return [...boot, ...tryboot];
}
