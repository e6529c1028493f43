#!/usr/bin/env node
// Entry point: runs the bundled CLI (dist/bundle/pi-seed.cjs, built by `npm run build`, and by
// `prepack` into the published package) with the V8 code cache recorded beside it, so V8 need not compile the CLI's
// functions again on every run (scripts/bundle.mjs, docs/performance.md).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
import { dirname, join, relative } from 'node:path';
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
const WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
const script = new Script(`${WRAPPER}${source.toString('utf8')}\n})`, { filename: bundle, cachedData });
if (process.env.PI_SEED_CODE_CACHE_REPORT === '1') {
  // For the tests and for a curious user: was the cache there, and did V8 take it?
  process.stderr.write(`code cache: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

/**
 * An error pi-seed did not expect (a bug: every problem a user can cause is reported by the CLI
 * itself): one short message, where in pi-seed's TypeScript sources it happened (from the
 * bundle's source map), and how to report it. No stack trace, no minified code.
 */
function reportInternalError(error) {
  let where = '';
  try {
    const frame = /pi-seed\.cjs:(\d+):(\d+)/.exec(String(error?.stack ?? ''));
    if (frame) {
      const line = Number(frame[1]) - 1;
      const column = Number(frame[2]) - 1 - (line === 0 ? WRAPPER.length : 0);
      const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')));
      const entry = map.findEntry(line, column);
      if (entry?.originalSource) where = ` (at ${relative(join(dirname(bundle), '..', '..'), join(dirname(bundle), entry.originalSource))}:${entry.originalLine + 1}:${entry.originalColumn + 1})`;
    }
  } catch {
    // Without the map the message still says what happened.
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`pi-seed: internal error: ${message}${where}\nThis is a bug in pi-seed, not a problem with your files. Please report it with this message, the command you ran and the output of \`pi-seed --version\`.\n`);
  process.exitCode = 70;
}

// A reader that goes away (`pi-seed diff | head -1`) is not an error of pi-seed's: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    reportInternalError(error);
  });
}
process.on('uncaughtException', reportInternalError);
process.on('unhandledRejection', reportInternalError);

module.exports.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Only scripts/bundle.mjs sets this, after a representative run: save what V8 compiled.
  if (process.env.PI_SEED_WRITE_CODE_CACHE === '1') {
    writeFileSync(`${cacheFile}.tmp`, Buffer.concat([digest, script.createCachedData()]));
    renameSync(`${cacheFile}.tmp`, cacheFile);
  }
}, reportInternalError);
