// One bundle for every stand-in (scripts/bundle-stand-ins.mjs → dist/stand-ins/stand-ins.cjs):
// `node stand-ins.cjs api-server|kubeadm|kubectl ARGS…`. The sh doubles in test/doubles/ call it.
// Each tool is imported only when it is the one asked for: esbuild bundles a dynamic import as a
// module evaluated on first use, so a kubectl call does not evaluate the API server's X.509 and
// ASN.1 libraries. Under TCG in the VM suite every kubectl call is a fresh Node process, and their
// start-up was most of the control plane's bootstrap time.
type Main = (argv: string[]) => Promise<number>;

const [command, ...argv] = process.argv.slice(2);
const commands: Record<string, () => Promise<Main>> = {
  'api-server': async () => (await import('./api-server.js')).apiServerMain,
  kubeadm: async () => (await import('./kubeadm.js')).kubeadmMain,
  kubectl: async () => (await import('./kubectl.js')).kubectlMain,
};
const load = command ? commands[command] : undefined;
if (!load) {
  console.error(`usage: stand-ins.cjs ${Object.keys(commands).join('|')} ARGS...`);
  process.exit(2);
}
load()
  .then((run) => run(argv))
  .then(
    (code) => {
      // The API server keeps running (its promise never settles); everything else ends here.
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exit(1);
    },
  );
