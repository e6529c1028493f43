// Writes a rendered output tree into the output folder without ever leaving it half-written:
// everything is first written to a staging folder inside it; only when all of it is on disk is
// each node folder swapped in by rename, and each cluster-wide file renamed over the old one.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface OutputFile {
  content: string | Buffer;
  mode: number;
}

export type OutputTree = Map<string, OutputFile>;
/** Output files as path → file pairs; a generator lets large builds stream node by node. */
export type OutputFiles = Iterable<[string, OutputFile]>;

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

/** Entries grouped by their top-level name (a node folder or a cluster-wide file), in order. */
function* groups(files: OutputFiles): Generator<[string, Array<[string, OutputFile]>]> {
  let name: string | undefined;
  let group: Array<[string, OutputFile]> = [];
  for (const entry of files) {
    const top = entry[0].split('/')[0]!;
    if (top !== name && name !== undefined) {
      yield [name, group];
      group = [];
    }
    name = top;
    group.push(entry);
  }
  if (name !== undefined) yield [name, group];
}

/** Is what is on disk exactly this group: the same files with the same bytes and modes? */
function unchanged(outDir: string, name: string, group: Array<[string, OutputFile]>): boolean {
  const isFolder = group.some(([relative]) => relative.includes('/'));
  const existing = lstatSync(join(outDir, name), { throwIfNoEntry: false });
  if (!existing || existing.isDirectory() !== isFolder) return false;
  if (isFolder && readdirSync(join(outDir, name)).length !== group.length) return false;
  return group.every(([relative, file]) => {
    const path = join(outDir, relative);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    return !!stat && stat.isFile() && stat.size === bytes.length && (stat.mode & 0o777) === file.mode && readFileSync(path).equals(bytes);
  });
}

/** What a write changed: top-level names (node folders, files) rewritten and left alone. */
export interface OutputWriteResult {
  changed: Array<{ name: string; folder: boolean }>;
  unchanged: number;
}

/**
 * Writes `files` (paths relative to `outDir`, at most one folder deep, each folder's files
 * consecutive) and, with `prune`, removes node folders pi-seed wrote before for nodes that no
 * longer exist. A folder or file whose content is already on disk is left alone (no rewrite, no
 * new mtime), so rebuilding an unchanged cluster writes nothing.
 */
export function writeOutputTree(outDir: string, files: OutputFiles, prune: readonly string[] = []): OutputWriteResult {
  mkdirSync(outDir, { recursive: true });
  const staging = join(outDir, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    const changed: OutputWriteResult['changed'] = [];
    let unchangedCount = 0;
    for (const [name, group] of groups(files)) {
      if (unchanged(outDir, name, group)) {
        unchangedCount += 1;
        continue;
      }
      for (const [relative, file] of group) {
        const target = join(staging, relative);
        mkdirSync(dirname(target), { recursive: true });
        // Inside the staging folder nothing reads the file before the swap: no rename or fsync needed.
        writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
        // The mode given to open() is filtered by the umask; the output's modes are part of it.
        chmodSync(target, file.mode);
      }
      changed.push({ name, folder: group.some(([relative]) => relative.includes('/')) });
    }
    // Only now, with everything rendered and staged, does the output folder change.
    changed.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const { name } of changed) {
      const staged = join(staging, name);
      const final = join(outDir, name);
      if (lstatSync(staged).isDirectory() && existsSync(final)) renameSync(final, join(staging, `.old-${name}`));
      renameSync(staged, final);
    }
    for (const name of prune) {
      if (existsSync(join(outDir, name))) renameSync(join(outDir, name), join(staging, `.pruned-${name}`));
    }
    return { changed, unchanged: unchangedCount };
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
