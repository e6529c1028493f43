// Makes examples/<example>/cluster.secrets.yaml: a secrets bundle per example, so that the
// committed outputs (out/, test/golden/) are reproducible and the README's first build changes
// nothing. Their keys are public, in this repository: marked publicTestKeys, and every command
// that reads them warns. Never for a real cluster (`pi-seed init` + `build` make real ones).
// Randomness is seeded by the example's name; the CAs' signatures still differ between runs
// (WebCrypto's ECDSA takes no nonce), so re-running changes the files: review, then commit.
// Usage (after tsc): node scripts/make-test-secrets.mjs
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { createSecrets, secretsText } from '../dist/src/secrets/cluster-secrets.js';

/** A deterministic byte stream: SHA-256 in counter mode over the seed. */
function seededRandom(seed) {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n) pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
}

for (const example of readdirSync('examples').sort()) {
  const config = `examples/${example}/cluster.yaml`;
  if (!existsSync(config)) continue;
  const workers = yaml.load(readFileSync(config, 'utf8')).nodes.filter((n) => n.role === 'worker').map((n) => n.name);
  const secrets = await createSecrets(seededRandom(example), workers, new Date('2026-01-01T00:00:00Z'));
  const text = `# TEST ONLY: these keys are public (committed to pi-seed's repository). Never use them for a real cluster.\n${secretsText({ ...secrets, publicTestKeys: true })}`;
  writeFileSync(`examples/${example}/cluster.secrets.yaml`, text, { mode: 0o600 });
  console.log(`examples/${example}/cluster.secrets.yaml: ${workers.length} worker tokens`);
}
