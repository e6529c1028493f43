// Makes examples/<example>/cluster.secrets.yaml: a secrets bundle per example, so that the
// committed outputs (out/, test/golden/) are reproducible and the README's first build changes
// nothing. Their keys are public, in this repository: marked publicTestKeys, and every command
// that reads them warns. Never for a real cluster (`pi-seed init` + `build` make real ones).
// Randomness is seeded (src/secrets/seeded-random.ts) by the example's name; the CAs' signatures still differ between runs
// (WebCrypto's ECDSA takes no nonce), so re-running changes the files: review, then commit.
// Usage (after tsc): node scripts/make-test-secrets.mjs
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { createSecrets, secretsText } from '../dist/src/secrets/cluster-secrets.js';
import { seededRandom } from '../dist/src/secrets/seeded-random.js';

for (const example of readdirSync('examples').sort()) {
  const config = `examples/${example}/cluster.yaml`;
  if (!existsSync(config)) continue;
  const workers = yaml.load(readFileSync(config, 'utf8')).nodes.filter((n) => n.role === 'worker').map((n) => n.name);
  const secrets = await createSecrets(seededRandom(example), workers, new Date('2026-01-01T00:00:00Z'));
  const text = `# TEST ONLY: these keys are public (committed to pi-seed's repository). Never use them for a real cluster.\n${secretsText({ ...secrets, publicTestKeys: true })}`;
  writeFileSync(`examples/${example}/cluster.secrets.yaml`, text, { mode: 0o600 });
  console.log(`examples/${example}/cluster.secrets.yaml: ${workers.length} worker tokens`);
}
