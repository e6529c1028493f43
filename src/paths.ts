// Where pi-seed's own files (package.json, schemas/) are. Found by walking up from this module to
// pi-seed's package.json, so the same code works from dist/src/ (tsc output, used by the tests),
// from the single bundle in dist/bundle/ (what bin/pi-seed.js runs) and from an installed package
// (which ships no templates/: they are compiled into the bundle).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!isPiSeedPackage(join(dir, 'package.json'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('pi-seed: cannot find its own package.json; reinstall pi-seed');
      dir = parent;
    }
    root = dir;
  }
  return root;
}

function isPiSeedPackage(path: string): boolean {
  try {
    return existsSync(path) && (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'pi-seed';
  } catch {
    return false;
  }
}

/** pi-seed's own version, from its package.json (for `pi-seed --version`). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown'; // never stop a command over its own version number
  }
}
