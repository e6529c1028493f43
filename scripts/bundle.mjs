// Bundles the CLI into one CommonJS file, dist/bundle/pi-seed.cjs, with esbuild, then records a
// V8 code cache for it (dist/bundle/pi-seed.cjs.cache). Start-up is most of a short command's
// time: one file instead of hundreds of modules, and functions V8 has already compiled instead
// of compiling them on every run (docs/performance.md). bin/pi-seed.js loads both. The tests
// exercise the same sources through tsc's output (dist/src); test/bundle.test.ts checks both
// agree.
//
// CommonJS rather than ESM because Node 20 can only give a code cache to a script (vm.Script),
// not to an ES module. The lazily imported commands become lazily initialised parts of the
// one file, so `pi-seed validate` still does not run the renderers.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });

// Large libraries only some commands need get bundles of their own, loaded with require() when a
// command first uses them, so the main bundle every command reads, hashes and compiles stays
// small: @kubernetes/client-node (status; 5 MB) and @peculiar/x509 (new secrets, kubeconfig,
// status). `import()` of an external is turned into require(): bin/pi-seed.js runs the bundle as a
// vm.Script, which has no dynamic import(), and these bundles are CommonJS.
const LAZY = { '@kubernetes/client-node': 'kubernetes-client-node', '@peculiar/x509': 'peculiar-x509', 'reflect-metadata': 'peculiar-x509' };
/** What every bundle here shares: one CommonJS file for Node 20, minified, no licence comments. */
const COMMON = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', minifySyntax: true, minifyWhitespace: true, legalComments: 'none', logLevel: 'warning' };
const LAZY_ENTRIES = {
  'peculiar-x509': "import 'reflect-metadata';\nexport * from '@peculiar/x509';\n",
  'kubernetes-client-node': "export * from '@kubernetes/client-node';\n",
};
for (const [name, contents] of Object.entries(LAZY_ENTRIES)) {
  await build({ ...COMMON, stdin: { contents, resolveDir: '.', loader: 'js' }, outfile: `dist/bundle/lazy/${name}.cjs` });
}
const lazyLibraries = {
  name: 'lazy-libraries',
  setup(b) {
    b.onResolve({ filter: /^(@kubernetes\/client-node|@peculiar\/x509|reflect-metadata)$/ }, (args) => ({ path: `./lazy/${LAZY[args.path]}.cjs`, external: true }));
  },
};

await build({
  ...COMMON,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/bundle/pi-seed.cjs',
  // For bin/pi-seed.js's internal-error message: the TypeScript file and line a bug happened at.
  sourcemap: true,
  sourcesContent: false,
  plugins: [lazyLibraries],
  supported: { 'dynamic-import': false },
  // See the comments in scripts/bundle-shims/: start-up cost only, same behaviour for pi-seed.
  alias: { assert: './scripts/bundle-shims/assert.mjs', 'string-width': './scripts/bundle-shims/string-width.mjs' },
  // CommonJS has no import.meta; src/paths.ts (and yargs) only need the module's own URL.
  define: { 'import.meta.url': '__piSeedModuleUrl' },
  // "use strict" must come first to count: esbuild's own would follow the banner.
  banner: { js: "'use strict';const __piSeedModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The code cache: run one representative command (a full build of the seed example into a
// temporary folder) so V8 compiles what a build needs, then save what it compiled. A cache that
// does not match the bundle or this Node is ignored at run time, never trusted.
const work = mkdtempSync(join(tmpdir(), 'pi-seed-code-cache-'));
try {
  // With the example's secrets: the everyday build reads them (making new ones is a first-build cost).
  copyFileSync('examples/seed/cluster.yaml', join(work, 'cluster.yaml'));
  copyFileSync('examples/seed/cluster.secrets.yaml', join(work, 'cluster.secrets.yaml'));
  const warm = spawnSync(process.execPath, ['bin/pi-seed.js', 'build', '--config', join(work, 'cluster.yaml'), '--out', join(work, 'out')], {
    env: { ...process.env, PI_SEED_WRITE_CODE_CACHE: '1' },
    encoding: 'utf8',
  });
  if (warm.status !== 0) {
    console.error(`bundle: the warm-up build for the code cache failed (exit ${warm.status}):\n${warm.stderr}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
