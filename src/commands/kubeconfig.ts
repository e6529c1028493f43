// pi-seed kubeconfig: an admin kubeconfig for the desktop (`kubectl get nodes` from the laptop),
// with a short-lived client certificate minted from the cluster CA. Written 0600, atomically, and
// never into an output folder (those are copied onto cards and shared).
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, type Io } from '../cli-io.js';
import { writeFileAtomic } from '../emit/atomic.js';
import { ProblemError, reportingProblems } from '../emit/problem-error.js';
import { msg } from '../errors.js';
import { DEFAULT_TTL, MAX_TTL, kubeconfigText, mintAdminCredentials, parseTtl } from '../kube/admin-credentials.js';
import { clusterAccess } from '../kube/access.js';

export interface KubeconfigOptions {
  config: string;
  out?: string;
  ttl?: string;
  server?: string;
  /** Injected for tests. */
  now?: Date;
}

/** The first line of the .gitignore every build writes into its output folder (src/pipeline.ts). */
const OUTPUT_FOLDER_MARK = '# pi-seed: node keys';

/** The path with symbolic links resolved as far as it exists (the file itself may not yet). */
function canonical(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(canonical(parent), basename(absolute));
}

const inside = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

/** The output folder `path` would land in: out/ here or beside cluster.yaml, or any folder a build wrote. */
export function outputFolderHolding(path: string, config: string): string | null {
  const target = canonical(path);
  for (const folder of [resolve('out'), resolve(dirname(config), 'out')].map(canonical)) if (inside(target, folder)) return folder;
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    const gitignore = join(dir, '.gitignore');
    if (existsSync(gitignore) && readFileSync(gitignore, 'utf8').startsWith(OUTPUT_FOLDER_MARK)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

export function runKubeconfig(options: KubeconfigOptions, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const ttlText = options.ttl ?? DEFAULT_TTL;
    const ttl = parseTtl(ttlText);
    if (ttl === null) throw new ProblemError(msg.badDuration(ttlText), EXIT_USAGE);
    if (ttl === 'range') throw new ProblemError(msg.durationOutOfRange(ttlText, MAX_TTL), EXIT_USAGE);
    const access = clusterAccess(options.config, options.server, io, 'the kubeconfig\'s certificate is signed by the cluster CA that `pi-seed build` creates');
    if (!access) return EXIT_INVALID;
    const cluster = access.plan.cluster.name;
    const defaultDir = join(homedir(), '.kube');
    const out = resolve(options.out ?? join(defaultDir, `pi-seed-${cluster}.yaml`));
    const folder = outputFolderHolding(out, options.config);
    if (folder !== null) throw new ProblemError(msg.kubeconfigUnderOut(out, folder), EXIT_USAGE);

    const ca = access.secrets.certificateAuthorities.cluster;
    const credentials = await mintAdminCredentials({ ca, ttlMs: ttl, now: options.now });
    if (options.out === undefined) mkdirSync(defaultDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(out, kubeconfigText({ cluster, server: access.server, caCertificate: ca.certificate, credentials }), 0o600);
    io.err(`wrote ${out} (mode 0600): cluster-admin on ${cluster} at ${access.server} until ${credentials.notAfter.toISOString()} (${ttlText})\n`);
    io.err('  anyone holding this file is cluster-admin until then: the certificate cannot be revoked\n');
    // On standard output alone, so `eval "$(pi-seed kubeconfig)"` sets it.
    io.out(`export KUBECONFIG=${shellQuote(out)}\n`);
    return EXIT_OK;
  });
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
