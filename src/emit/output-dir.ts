// Writes a rendered output tree into the output folder without ever leaving it half-written:
// everything is first written to a staging folder inside it; only when all of it is on disk is
// each node folder swapped in by rename, and each cluster-wide file renamed over the old one.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface OutputFile {
  content: string | Buffer;
  mode: number;
}

export type OutputTree = Map<string, OutputFile>;

/** Marks a folder as one pi-seed wrote, so pruning never removes anything else. */
export const NODE_MARKER = 'meta-data';
const STAGING_PREFIX = '.pi-seed-staging-';

/** Node folders in `outDir` that pi-seed wrote earlier (a meta-data with a pi-seed instance-id). */
export function generatedNodeDirs(outDir: string): string[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((name) => {
      const marker = join(outDir, name, NODE_MARKER);
      return existsSync(marker) && /instance-id: pi-seed-/.test(readFileSync(marker, 'utf8'));
    })
    .sort();
}

/**
 * Writes `tree` (paths relative to `outDir`, at most one folder deep) and, with `prune`, removes
 * node folders pi-seed wrote before for nodes that no longer exist.
 */
export function writeOutputTree(outDir: string, tree: OutputTree, prune: readonly string[] = []): void {
  mkdirSync(outDir, { recursive: true });
  const staging = join(outDir, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    const topLevel = new Set<string>();
    for (const [relative, file] of [...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const target = join(staging, relative);
      mkdirSync(dirname(target), { recursive: true });
      // Inside the staging folder nothing reads the file before the swap: no rename or fsync needed.
      writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
      topLevel.add(relative.split('/')[0]!);
    }
    for (const name of [...topLevel].sort()) {
      const staged = join(staging, name);
      const final = join(outDir, name);
      if (lstatSync(staged).isDirectory()) {
        if (existsSync(final)) renameSync(final, join(staging, `.old-${name}`));
        renameSync(staged, final);
      } else {
        renameSync(staged, final);
      }
    }
    for (const name of prune) {
      if (existsSync(join(outDir, name))) renameSync(join(outDir, name), join(staging, `.pruned-${name}`));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Removes staging folders left behind by a process that was killed mid-write. */
export function removeStaleStaging(outDir: string): void {
  if (!existsSync(outDir)) return;
  for (const entry of readdirSync(outDir)) {
    if (entry.startsWith(STAGING_PREFIX)) rmSync(join(outDir, entry), { recursive: true, force: true });
  }
}
