// pi-seed status: asks the control plane's join service (authenticated with the admin key
// derived from cluster.secrets.yaml) how far each node is, and prints a table or JSON.
import { EXIT_INVALID, EXIT_OK, type Io, reportDiagnostics } from '../cli-io.js';
import { hasErrors } from '../diagnostics.js';
import { formatStatusTable, requestStatus } from '../join/status-client.js';
import { loadCluster } from '../pipeline.js';
import { loadOrCreateSecrets } from '../secrets/cluster-secrets.js';

export interface StatusOptions {
  config: string;
  json: boolean;
  watch: boolean;
  address?: string;
  /** Seconds between refreshes with --watch. */
  intervalSeconds?: number;
}

export async function runStatus(options: StatusOptions, io: Io): Promise<number> {
  const loaded = loadCluster(options.config);
  reportDiagnostics(io, loaded.diagnostics.filter((d) => d.severity === 'error'), loaded.source?.text);
  if (!loaded.plan || hasErrors(loaded.diagnostics)) return EXIT_INVALID;
  const plan = loaded.plan;
  const secrets = loadOrCreateSecrets(options.config, () => Buffer.alloc(0), false);
  if (!secrets) {
    io.err(`error: no cluster.secrets.yaml beside ${options.config}\n  = hint: status authenticates with the key \`pi-seed build\` created; run it from the folder you built in\n`);
    return EXIT_INVALID;
  }
  const address = options.address ?? plan.controlPlane.address;
  const port = plan.join.port;
  for (;;) {
    try {
      const status = await requestStatus({ address, port, clusterKey: secrets.secrets.clusterKey, timeoutMs: 10_000 });
      io.out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatusTable(status.nodes));
    } catch (err) {
      io.err(`error: cannot get the status from ${address}:${port}: ${(err as Error).message}\n  = hint: the join service starts once the control plane has run kubeadm init; check that this machine reaches ${address}\n`);
      if (!options.watch) return EXIT_INVALID;
    }
    if (!options.watch) return EXIT_OK;
    await new Promise((resolve) => setTimeout(resolve, (options.intervalSeconds ?? 5) * 1000));
  }
}
