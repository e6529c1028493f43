// pi-seed validate: every problem in cluster.yaml at once; writes nothing.
import { EXIT_INVALID, EXIT_OK, type Io, reportDiagnostics } from '../cli-io.js';
import { hasErrors } from '../diagnostics.js';
import { loadCluster } from '../pipeline.js';

export interface ValidateOptions {
  config: string;
  strict: boolean;
}

export function runValidate(options: ValidateOptions, io: Io): number {
  const loaded = loadCluster(options.config, options.strict);
  reportDiagnostics(io, loaded.diagnostics, loaded.source?.text);
  if (hasErrors(loaded.diagnostics)) return EXIT_INVALID;
  io.err(`${options.config}: valid (${loaded.plan!.nodes.length} node${loaded.plan!.nodes.length === 1 ? "" : "s"})\n`);
  return EXIT_OK;
}
