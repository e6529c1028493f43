// Compares a rendered tree with what is on disk: the heart of `pi-seed diff` / `build --check`
// and of the test that keeps the committed example output current.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedNodeDirs, type OutputFiles } from './output-dir.js';
import { unifiedDiff } from './unified-diff.js';

export interface Change {
  path: string;
  kind: 'added' | 'changed' | 'removed';
  diff: string;
}

/**
 * Lists files that differ. With `allNodes` (a build of every node) node folders pi-seed wrote
 * for nodes that no longer exist count as removed.
 */
export function compareTree(outDir: string, files: OutputFiles, allNodes: readonly string[] | null): Change[] {
  const changes: Change[] = [];
  for (const [relative, file] of files) {
    const path = join(outDir, relative);
    const wanted = file.content.toString();
    const label = `${outDir}/${relative}`;
    if (!existsSync(path)) {
      changes.push({ path: label, kind: 'added', diff: unifiedDiff('', wanted, '/dev/null', label) });
      continue;
    }
    const current = readFileSync(path, 'utf8');
    if (current !== wanted) changes.push({ path: label, kind: 'changed', diff: unifiedDiff(current, wanted, label, label) });
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (allNodes) {
    for (const dir of generatedNodeDirs(outDir).filter((d) => !allNodes.includes(d))) {
      changes.push({ path: `${outDir}/${dir}/`, kind: 'removed', diff: `removed: ${outDir}/${dir}/ (node no longer in the cluster)\n` });
    }
  }
  return changes;
}
