// Bundles the test stand-ins (test/stand-ins/: API server, kubeadm, kubectl) into one CommonJS
// file, dist/stand-ins/stand-ins.cjs, that the sh doubles in test/doubles/ run. Target node18:
// the VM tests run it on Debian bookworm's nodejs 18. Test code only; never shipped.
import { build } from 'esbuild';

await build({
  entryPoints: ['test/stand-ins/main.ts'],
  outfile: 'dist/stand-ins/stand-ins.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  legalComments: 'none',
  logLevel: 'warning',
});
