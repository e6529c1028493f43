// Where the stand-ins keep things: under the node root (PI_SEED_ROOT) what the real programs write
// under /, and in $PI_SEED_DOUBLES_DIR what the tests read (calls.log, pid files, records).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function doublesDir(): string {
  const dir = process.env.PI_SEED_DOUBLES_DIR;
  if (!dir) {
    console.error('PI_SEED_DOUBLES_DIR must point at the doubles state directory');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function nodeRoot(): string {
  return process.env.PI_SEED_ROOT || join(doublesDir(), 'root');
}

export const k8s = (root: string, ...parts: string[]) => join(root, 'etc', 'kubernetes', ...parts);
export const pki = (root: string, ...parts: string[]) => k8s(root, 'pki', ...parts);

export function recordCall(program: string, argv: string[]): void {
  appendFileSync(join(doublesDir(), 'calls.log'), `${program} ${argv.join(' ')}\n`);
}

export function pidFile(node: string): string {
  return join(doublesDir(), `apiserver-${node}.pid`);
}

/** The pid in a pid file when that process is alive and is a stand-in API server, else undefined. */
export function runningApiServer(node: string): number | undefined {
  const file = pidFile(node);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // /proc says what it runs: a recycled pid belonging to anything else is not ours to signal.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('api-server') ? pid : undefined;
  } catch {
    return undefined;
  }
}
