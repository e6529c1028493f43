// Makes examples/<example>/cluster.secrets.yaml: a secrets bundle per example, so that the
// committed outputs (out/, test/golden/) are reproducible and the README's first build changes
// nothing. Their keys are public, in this repository: marked publicTestKeys, and every command
// that reads them warns. Never for a real cluster (`pi-seed init` + `build` make real ones).
// Randomness is seeded (src/secrets/seeded-random.ts) by the example's name; the CAs' signatures still differ between runs
// (WebCrypto's ECDSA takes no nonce), so re-running changes the files: review, then commit.
// Usage (after tsc): node scripts/make-test-secrets.mjs [EXAMPLE...]   (default: every example)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { createSecrets, secretsText } from '../dist/src/secrets/cluster-secrets.js';
import { seededRandom } from '../dist/src/secrets/seeded-random.js';

const wanted = process.argv.slice(2);
for (const example of wanted.length > 0 ? wanted : readdirSync('examples').sort()) {
  const config = `examples/${example}/cluster.yaml`;
  if (!existsSync(config)) continue;
  // Every node but the first control plane (the init node) joins with a token of its own.
  const nodes = yaml.load(readFileSync(config, 'utf8')).nodes;
  const initNode = nodes.find((n) => n.role === 'control-plane');
  const joiners = nodes.filter((n) => n !== initNode).map((n) => n.name);
  const secrets = await createSecrets(seededRandom(example), joiners, new Date('2026-01-01T00:00:00Z'));
  const text = `# TEST ONLY: these keys are public (committed to pi-seed's repository). Never use them for a real cluster.\n${secretsText({ ...secrets, publicTestKeys: true })}`;
  writeFileSync(`examples/${example}/cluster.secrets.yaml`, text, { mode: 0o600 });
  console.log(`examples/${example}/cluster.secrets.yaml: ${joiners.length} join tokens`);
}
