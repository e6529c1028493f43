// Shared test helpers: paths, temporary folders, running the CLI in-process, required tools.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { main } from '../src/cli.js';

export const REPO = process.cwd();
export const SHARED = join(REPO, '..', 'shared');
export const SEED_CONFIG = join(REPO, 'examples', 'seed', 'cluster.yaml');

export function tempDir(prefix = 'pi-seed-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Every file below `dir` as relative path → bytes (sorted), for byte-for-byte comparisons. */
export function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(relative(dir, full), readFileSync(full));
    }
  };
  if (statSync(dir, { throwIfNoEntry: false })) walk(dir);
  return files;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/**
 * A conformance check needs an external tool. In CI (CI=true) a missing tool is a failure;
 * elsewhere the check is skipped with a loud message so nobody mistakes it for a pass.
 */
export function requireTool(name: string, why: string): boolean {
  if (hasCommand(name)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI (${why}) but is not installed; .ci/run must install it`);
  console.warn(`\n!!! SKIPPED: ${why}: \`${name}\` is not installed (apt-get install it to run this check)\n`);
  return false;
}

/** A base config (the seed example) with edits applied by a function, as YAML text. */
export function seedText(): string {
  return readFileSync(SEED_CONFIG, 'utf8');
}

/** A private copy of the seed config with a fixed cluster key, so builds are comparable. */
export function seedWorkspace(prefix = 'pi-seed-test-', keyByte = 'ab'): { dir: string; config: string } {
  const dir = tempDir(prefix);
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  writeFileSync(join(dir, 'cluster.secrets.yaml'), `clusterKey: ${keyByte.repeat(32)}\n`, { mode: 0o600 });
  return { dir, config };
}

/** The same, built into `<dir>/out` with the CLI. */
export async function builtSeedWorkspace(prefix?: string, keyByte?: string): Promise<{ dir: string; config: string; out: string }> {
  const { dir, config } = seedWorkspace(prefix, keyByte);
  const out = join(dir, 'out');
  const result = await runCli(['build', '--config', config, '--out', out]);
  if (result.code !== 0) throw new Error(`building the seed example failed:\n${result.stderr}`);
  return { dir, config, out };
}

/** One write_files entry of a generated user-data. */
export interface WriteFileEntry {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

/** The write_files entries of the user-data at `path`, in order. */
export function userDataWriteFiles(path: string): WriteFileEntry[] {
  return (yaml.load(readFileSync(path, 'utf8')) as { write_files: WriteFileEntry[] }).write_files;
}
