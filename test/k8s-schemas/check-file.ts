// `node dist/test/k8s-schemas/check-file.js FILE`: checks a multi-document Kubernetes YAML file
// against the strict schemas, as `kubeadm config validate` would; prints each error, exits 1 on
// any. The kubeadm test double runs it on the config it is given (PI_SEED_K8S_VALIDATOR).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = process.argv[2];
if (!file) {
  console.error('usage: check-file.js FILE');
  process.exit(2);
}
// The schemas are found from the repository root (dist/test/k8s-schemas/ is three levels below).
process.chdir(fileURLToPath(new URL('../../../', import.meta.url)));
const { validateKubernetesYaml } = await import('./index.js');
const errors = validateKubernetesYaml(readFileSync(file, 'utf8'), file);
for (const error of errors) console.error(error);
process.exit(errors.length === 0 ? 0 : 1);
