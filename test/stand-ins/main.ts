// One bundle for every stand-in (scripts/bundle-stand-ins.mjs → dist/stand-ins/stand-ins.cjs):
// `node stand-ins.cjs api-server|kubeadm|kubectl ARGS…`. The sh doubles in test/doubles/ call it.
import 'reflect-metadata';
import { apiServerMain } from './api-server.js';
import { kubeadmMain } from './kubeadm.js';
import { kubectlMain } from './kubectl.js';

const [command, ...argv] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<number>> = { 'api-server': apiServerMain, kubeadm: kubeadmMain, kubectl: kubectlMain };
const run = command ? commands[command] : undefined;
if (!run) {
  console.error(`usage: stand-ins.cjs ${Object.keys(commands).join('|')} ARGS...`);
  process.exit(2);
}
run(argv).then(
  (code) => {
    // The API server keeps running (its promise never settles); everything else ends here.
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
