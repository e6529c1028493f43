// Where pi-seed's own files (templates/, schemas/) are. Found by walking up from this module,
// so the same code works from dist/src/ (tsc output, used by the tests) and from the single
// bundle in dist/bundle/ (what bin/pi-seed.js runs).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'templates', 'bootstrap.sh.hbs'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('pi-seed: cannot find its templates/ folder; reinstall pi-seed');
      dir = parent;
    }
    root = dir;
  }
  return root;
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
