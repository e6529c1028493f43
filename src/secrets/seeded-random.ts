// A seeded, deterministic byte source (SHA-256 in counter mode) for reproducible secrets: the
// tests' and the examples' committed test keys (scripts/make-test-secrets.mjs). Never used by a
// real build, which takes a CSPRNG.
import { createHash } from 'node:crypto';
import { type RandomBytes } from './ec-keys.js';

export function seededRandom(seed: string): RandomBytes {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n) pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
}
