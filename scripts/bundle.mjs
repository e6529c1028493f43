// Bundles the CLI into dist/bundle/ with esbuild: one file per lazily loaded command instead of
// hundreds of modules, which is most of a short command's start-up time. The tests exercise
// the same sources through tsc's output (dist/src); test/bundle.test.ts checks both agree.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: { 'pi-seed': 'src/cli.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // See the comments in scripts/bundle-shims/: start-up cost only, same behaviour for pi-seed.
  alias: { assert: './scripts/bundle-shims/assert.mjs', 'string-width': './scripts/bundle-shims/string-width.mjs' },
  // CommonJS dependencies (handlebars, yargs' helpers) call require(); give the bundle one.
  banner: { js: "import { createRequire as __piSeedRequire } from 'node:module'; const require = __piSeedRequire(import.meta.url);" },
});
