// Shared test helpers: paths, temporary folders, running the CLI in-process, required tools.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { test } from 'uvu';
import { main } from '../src/cli.js';
import { clusterTrust } from '../src/pipeline.js';
import { type ClusterTrust } from '../src/plan/plan.js';
import { readSecrets } from '../src/secrets/cluster-secrets.js';

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

/** The tools of `tools` that are not on PATH. */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((tool) => !hasCommand(tool));
}

/** Prints why a check is skipped, loudly, so nobody mistakes it for a pass. */
function announceSkip(name: string, why: string): void {
  console.warn(`\n!!! SKIPPED: ${name}: ${why}\n`);
}

/**
 * A check that needs something this machine may lack (`missing` says what, empty when all is
 * there). Outside CI it is registered as skipped, which uvu counts and the summary line prints
 * (`N skipped`), never as passed. Under CI=true the check runs and fails with the reason, so CI
 * cannot go green without it.
 */
export function testNeeding(name: string, missing: string | null, fn: () => unknown): void {
  if (missing === null) {
    test(name, fn as () => void);
  } else if (process.env.CI === 'true') {
    test(name, () => {
      throw new Error(`${missing}: required in CI (.ci/run must install it)`);
    });
  } else {
    announceSkip(name, missing);
    test.skip(name, fn as () => void);
  }
}

/** testNeeding for external commands: skipped (or failing in CI) unless every tool is installed. */
export function testWithTools(name: string, tools: readonly string[], fn: () => unknown): void {
  const missing = missingTools(tools);
  testNeeding(name, missing.length === 0 ? null : `${missing.join(', ')} not installed (apt-get install it to run this check)`, fn);
}

/**
 * The folder holding the newest cloud-init JSON schemas this machine has, and what it is:
 * $PI_SEED_CLOUD_INIT_SCHEMAS, else ../shared/cloud-init-schemas beside the clone (the newest
 * upstream schemas, when present), else the schemas of the installed Debian cloud-init package.
 * null when there is none. A file missing from the chosen folder is looked up in the next one.
 */
export function cloudInitSchemaFile(file: string, newestOnly = false): { path: string; source: string } | null {
  const candidates: Array<[string | undefined, string]> = [
    [process.env.PI_SEED_CLOUD_INIT_SCHEMAS, '$PI_SEED_CLOUD_INIT_SCHEMAS'],
    [join(SHARED, 'cloud-init-schemas'), '../shared/cloud-init-schemas'],
    // Debian's cloud-init is older than the images' newest: less strict (no top-level
    // additionalProperties before 23.x), so checks of the newest schema's strictness skip it.
    ...(newestOnly ? [] : ([['/usr/lib/python3/dist-packages/cloudinit/config/schemas', "the installed cloud-init package's schemas"]] as Array<[string, string]>)),
  ];
  for (const [dir, source] of candidates) {
    if (dir && existsSync(join(dir, file))) return { path: join(dir, file), source };
  }
  return null;
}

/** Why a cloud-init schema file cannot be had (`newestOnly`: not from the installed package), or null when it can. */
export function missingSchema(file: string, newestOnly = false): string | null {
  if (cloudInitSchemaFile(file, newestOnly)) return null;
  const where = 'set PI_SEED_CLOUD_INIT_SCHEMAS to a folder holding it, or put ../shared/cloud-init-schemas beside the clone';
  return newestOnly ? `the newest ${file} is not here (${where}; the installed cloud-init package's is older and less strict)` : `cloud-init's ${file} was found nowhere (${where}, or apt-get install cloud-init)`;
}

/** A base config (the seed example) with edits applied by a function, as YAML text. */
export function seedText(): string {
  return readFileSync(SEED_CONFIG, 'utf8');
}

/** A private copy of the seed config with a fixed cluster key, so builds are comparable. */
/**
 * The committed secrets of an example (scripts/make-test-secrets.mjs): public test keys, so the
 * committed outputs are reproducible. Never for a real cluster.
 */
export const fixtureSecretsFile = (example: string): string => join(REPO, 'examples', example, 'cluster.secrets.yaml');

/** The seed example's cluster CA as the renderers see it. */
export function fixtureTrust(): ClusterTrust {
  return clusterTrust(readSecrets(fixtureSecretsFile('seed')));
}

/** A temporary copy of the seed example with the seed's test secrets beside it. */
export function seedWorkspace(prefix = 'pi-seed-test-'): { dir: string; config: string } {
  const dir = tempDir(prefix);
  const config = join(dir, 'cluster.yaml');
  copyFileSync(SEED_CONFIG, config);
  writeFileSync(join(dir, 'cluster.secrets.yaml'), readFileSync(fixtureSecretsFile('seed')), { mode: 0o600 });
  return { dir, config };
}

/** The same, built into `<dir>/out` with the CLI. */
export async function builtSeedWorkspace(prefix?: string): Promise<{ dir: string; config: string; out: string }> {
  const { dir, config } = seedWorkspace(prefix);
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

const requireCjs = createRequire(import.meta.url);

/**
 * An ajv validator for one of cloud-init's JSON schemas (see cloudInitSchemaFile; call only when
 * missingSchema(file) is null). A subschema marked deprecated that applies to the data fails it:
 * cloud-init would warn on the Pi. cloud-config's schema is draft-04, network-config's draft-07.
 */
export function cloudInitValidator(file: string, newestOnly = false): ((data: unknown) => boolean) & { errors?: unknown } {
  const found = cloudInitSchemaFile(file, newestOnly);
  if (!found) throw new Error(missingSchema(file, newestOnly)!);
  const schema = JSON.parse(readFileSync(found.path, 'utf8')) as { $schema?: string };
  const AjvClass = /draft-04/.test(schema.$schema ?? '') ? requireCjs('ajv-draft-04') : requireCjs('ajv').default;
  const ajv = new AjvClass({ allErrors: true, strict: false, validateFormats: false });
  ajv.removeKeyword('deprecated');
  ajv.addKeyword({ keyword: 'deprecated', errors: false, validate: (deprecated: boolean) => !deprecated });
  return ajv.compile(schema);
}

export interface BuiltNode {
  example: string;
  node: string;
  /** The node's folder in the example's fresh out/. */
  dir: string;
}

/** Builds every example (examples/<name>/cluster.yaml) into its own temp folder, as a user would: one entry per node. */
export async function builtExamples(): Promise<BuiltNode[]> {
  const results: BuiltNode[] = [];
  const root = tempDir();
  for (const example of readdirSync(join(REPO, 'examples')).sort()) {
    const config = join(REPO, 'examples', example, 'cluster.yaml');
    if (!existsSync(config)) continue;
    const work = join(root, example);
    mkdirSync(work);
    copyFileSync(config, join(work, 'cluster.yaml'));
    writeFileSync(join(work, 'cluster.secrets.yaml'), readFileSync(fixtureSecretsFile(example)), { mode: 0o600 });
    const out = join(work, 'out');
    const built = await runCli(['build', '--config', join(work, 'cluster.yaml'), '--out', out]);
    if (built.code !== 0) throw new Error(`building examples/${example} failed:\n${built.stderr}`);
    for (const node of readdirSync(out, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
      results.push({ example, node, dir: join(out, node) });
    }
  }
  return results;
}
