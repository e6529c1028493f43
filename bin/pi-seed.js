#!/usr/bin/env node
// Entry point: runs the bundled CLI (dist/bundle/pi-seed.cjs, built by `npm ci` through the
// prepare script) with the V8 code cache recorded beside it, so V8 need not compile the CLI's
// functions again on every run (scripts/bundle.mjs, docs/performance.md).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bundle', 'pi-seed.cjs');
const cacheFile = `${bundle}.cache`;
const source = readFileSync(bundle);
// V8 checks a cache against the source's length, not its content: the cache file starts with
// the SHA-256 of the bundle it was made from, and any other cache is ignored.
const digest = createHash('sha256').update(source).digest();
let cachedData;
try {
  const cache = readFileSync(cacheFile);
  if (cache.subarray(0, 32).equals(digest)) cachedData = cache.subarray(32);
} catch {
  // No cache: V8 compiles as usual.
}

// The same wrapper Node puts around a CommonJS module.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source.toString('utf8')}\n})`, { filename: bundle, cachedData });
if (process.env.PI_SEED_CODE_CACHE_REPORT === '1') {
  // For the tests and for a curious user: was the cache there, and did V8 take it?
  process.stderr.write(`code cache: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

module.exports.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Only scripts/bundle.mjs sets this, after a representative run: save what V8 compiled.
  if (process.env.PI_SEED_WRITE_CODE_CACHE === '1') {
    writeFileSync(`${cacheFile}.tmp`, Buffer.concat([digest, script.createCachedData()]));
    renameSync(`${cacheFile}.tmp`, cacheFile);
  }
});
