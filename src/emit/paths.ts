// Refuses output locations that would write somewhere the user did not name: a path climbing
// out with "..", or an output folder (or an entry in it) that is a symbolic link.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';

export function outputPathProblem(outDir: string, entries: readonly string[]): string | null {
  if (outDir.split(/[\\/]+/).includes('..')) {
    return `--out ${JSON.stringify(outDir)} contains "..": name the output folder without climbing out of a path (use an absolute path if you mean another place)`;
  }
  const links = [outDir, ...entries.map((e) => join(outDir, e))].filter((p) => lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink());
  if (links.length > 0) {
    return `${links[0]} is a symbolic link; pi-seed does not write through links. Point --out at a real folder`;
  }
  return null;
}
