// Shared helpers for the benchmarks: timing whole commands, medians, generated clusters.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = new URL('..', import.meta.url).pathname;
export const CLI = join(REPO, 'bin', 'pi-seed.js');

export function tempDir(prefix = 'pi-seed-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs argv `runs` times (after one warm-up) and returns wall-clock seconds of each run. */
export function timeCommand(argv, runs, env = process.env) {
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
    if (i > 0) times.push(seconds);
  }
  return times;
}

/** Peak resident set size (KiB) of a command, from GNU time's %M, or from /proc when absent. */
export function peakRssKiB(argv) {
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.error) return null;
  const lines = result.stderr.trim().split('\n');
  return Number(lines[lines.length - 1]);
}

/** A cluster of `count` nodes (one control plane) on a /21 LAN, as cluster.yaml text. */
export function generatedCluster(count) {
  const lines = [
    'apiVersion: pi-seed/v1',
    'cluster: {name: big, domain: big.example}',
    'kubernetes: {metallb: {addresses: 10.8.7.200-10.8.7.250}}',
    'network: {subnet: 10.8.0.0/21, gateway: 10.8.0.1}',
    "admin: {sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqO6n1ZbBsmOpPw2nG0d3xE1x2bDRgqQpXbJ1d2dJxY bench']}",
    'nodes:',
  ];
  for (let i = 0; i < count; i++) {
    const address = 10 * 2 ** 24 + 8 * 2 ** 16 + 10 + i;
    const dotted = [24, 16, 8, 0].map((s) => Math.floor(address / 2 ** s) % 256).join('.');
    lines.push(`  - {name: n${String(i).padStart(4, '0')}, role: ${i === 0 ? 'control-plane' : 'worker'}, address: ${dotted}, board: pi4, memory: 4GB}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * A folder holding cluster.yaml and its secrets: one untimed build makes the cluster's CAs and a
 * token per worker first, so the timed builds measure rendering, not key generation.
 */
export function clusterFolder(text) {
  const dir = tempDir();
  writeFileSync(join(dir, 'cluster.yaml'), text);
  const made = spawnSync(process.execPath, [CLI, 'build', '--config', join(dir, 'cluster.yaml'), '--out', join(dir, 'secrets-run')], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`making the secrets for ${dir} failed: ${made.stderr}`);
  rmSync(join(dir, 'secrets-run'), { recursive: true, force: true });
  return join(dir, 'cluster.yaml');
}

export const seedConfig = () => clusterFolder(readFileSync(join(REPO, 'examples', 'seed', 'cluster.yaml'), 'utf8'));
