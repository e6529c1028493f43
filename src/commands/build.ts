// pi-seed build: renders every node's seed files into the output folder, atomically.
// With --check it writes nothing and reports what a build would change (like `pi-seed diff`).
import { randomBytes } from 'node:crypto';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, type Io, reportDiagnostics } from '../cli-io.js';
import { hasErrors } from '../diagnostics.js';
import { compareTree } from '../emit/compare.js';
import { outputPathProblem } from '../emit/paths.js';
import { type OutputWriteResult, generatedNodeDirs, removeStaleStaging, writeOutputTree } from '../emit/output-dir.js';
import { clusterTrust, fullFiles, loadCluster, outputEntries, publicFiles, selectNodes } from '../pipeline.js';
import { type LoadedSecrets, createSecrets, loadOrCreateSecrets } from '../secrets/cluster-secrets.js';
import { writeFileAtomic } from '../emit/atomic.js';
import { loadSeeds } from '../emit/card-files.js';
import { ProblemError, reportingProblems } from '../emit/problem-error.js';
import { deterministicTar, nodeTarFiles } from '../emit/tar.js';
import { msg } from '../errors.js';

export interface BuildOptions {
  config: string;
  out: string;
  nodes: string[];
  strict: boolean;
  check: boolean;
  /** Injected for tests; a CSPRNG in production. */
  random?: (n: number) => Buffer;
  /** Injected for tests: when new certificate authorities start (backdated a day). */
  now?: Date;
}

export async function runBuild(options: BuildOptions, io: Io): Promise<number> {
  const loaded = loadCluster(options.config, options.strict);
  const plan = loaded.plan;
  const unknown = plan ? selectNodes(plan, options.nodes) : [];
  reportDiagnostics(io, [...loaded.diagnostics, ...unknown], loaded.source?.text);
  if (!plan || hasErrors(loaded.diagnostics) || unknown.length > 0) return EXIT_INVALID;

  const badPath = outputPathProblem(options.out, outputEntries(plan, options.nodes));
  if (badPath) {
    io.err(`error[unsafe-output-path]: ${badPath}\n`);
    return EXIT_USAGE;
  }

  const joiners = plan.joiners.map((n) => n.name);
  if (options.check) {
    // Nothing is written: without secrets yet, throwaway ones show which files would change.
    const found = await loadOrCreateSecrets(options.config, options.random ?? randomBytes, false, joiners);
    const trust = clusterTrust(found?.secrets ?? (await createSecrets(options.random ?? randomBytes, joiners, options.now ?? new Date())));
    const changes = compareTree(options.out, publicFiles(plan, trust, options.nodes), options.nodes.length === 0 ? plan.nodes.map((n) => n.name) : null);
    if (changes.length === 0) {
      io.err(`${options.out}: up to date\n`);
      return EXIT_OK;
    }
    for (const change of changes) io.out(change.diff);
    io.err(`${changes.length} file${changes.length === 1 ? '' : 's'} would change: ${changes.map((c) => c.path).join(', ')}\nrun \`pi-seed build\` to update ${options.out}\n`);
    return EXIT_INVALID;
  }

  const secrets = (await loadOrCreateSecrets(options.config, options.random ?? randomBytes, true, joiners, options.now))!;
  reportSecrets(io, secrets);
  const all = options.nodes.length === 0;
  const prune = all ? generatedNodeDirs(options.out).filter((dir) => !plan.nodes.some((n) => n.name === dir)) : [];
  removeStaleStaging(options.out);
  const written = writeOutputTree(options.out, fullFiles(plan, secrets.secrets, options.nodes), prune);
  io.err(writeReport(options.out, written));
  for (const name of prune) io.err(`removed ${options.out}/${name}/ (no longer in the cluster)\n`);
  return EXIT_OK;
}

/** What a build did to cluster.secrets.yaml, if anything (shared with write, bake and build --tar). */
export function reportSecrets(io: Io, loaded: LoadedSecrets): void {
  if (loaded.secrets.publicTestKeys) {
    const warning = msg.publicTestKeys(loaded.path);
    io.err(`warning[${warning.code}]: ${warning.message}\n  = hint: ${warning.hint}\n`);
  }
  if (loaded.created) io.err(`created ${loaded.path} (mode 0600): back it up and never commit it\n`);
  else if (loaded.added.length > 0) io.err(`added a join token for ${loaded.added.join(', ')} to ${loaded.path}\n`);
}

/** Past this many, a build names a count instead of every folder it wrote. */
const REPORT_NAMES_MAX = 10;

/** One line on what a build changed; short however large the cluster. */
export function writeReport(out: string, result: OutputWriteResult): string {
  const names = result.changed.map((c) => `${out}/${c.name}${c.folder ? '/' : ''}`);
  const kept = result.unchanged > 0 ? ` (${result.unchanged} already up to date)` : '';
  if (names.length === 0) return `${out}/: up to date, nothing written\n`;
  if (names.length <= REPORT_NAMES_MAX) return `wrote ${names.join(', ')}${kept}\n`;
  const shown = names.slice(0, 3).join(', ');
  return `wrote ${names.length} entries in ${out}/: ${shown} and ${names.length - 3} more${kept}\n`;
}

/** `build --tar -` writes the archive to standard output. */
export const TAR_STDOUT = '-';

/**
 * pi-seed build --tar: the chosen nodes' card files (key files included, as 0600 entries) as one
 * deterministic tar instead of the output folder (docs/card-and-image.md). The file is 0600 too.
 */
export function runBuildTar(options: Omit<BuildOptions, 'out' | 'check'> & { tar: string }, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const toStdout = options.tar === TAR_STDOUT;
    if (toStdout && process.stdout.isTTY) throw new ProblemError(msg.tarToTerminal(), EXIT_USAGE);
    const seeds = await loadSeeds({ config: options.config, strict: options.strict, nodes: options.nodes, createSecrets: true }, io);
    if (!seeds) return EXIT_INVALID;
    const archive = await deterministicTar(nodeTarFiles(seeds.plan, seeds.secrets, options.nodes));
    if (toStdout) {
      await new Promise<void>((resolve, reject) => process.stdout.write(archive, (err) => (err ? reject(err) : resolve())));
    } else {
      writeFileAtomic(options.tar, archive, 0o600);
      io.err(`wrote ${options.tar} (${seeds.nodes.map((n) => n.name).join(', ')}; mode 0600: it holds the node keys)\n`);
    }
    return EXIT_OK;
  });
}
