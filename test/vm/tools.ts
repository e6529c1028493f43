// Small process helpers for the VM suite: every external command is bounded by a timeout and
// fails with its stderr; a shared clock and log show where the time goes.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';

const started = Date.now();

/** Seconds since the suite started, for log lines and phase timings. */
export function elapsed(): number {
  return (Date.now() - started) / 1000;
}

export function log(message: string): void {
  process.stdout.write(`[vm ${elapsed().toFixed(1).padStart(6)}s] ${message}\n`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded); throws with its output when it fails, unless allowed. */
export function run(argv: string[], options: { timeoutMs?: number; input?: string | Buffer; env?: NodeJS.ProcessEnv; allowFail?: boolean; cwd?: string } = {}): RunResult {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd!, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 2 ** 20,
    ...(options.input !== undefined ? { input: options.input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const out: RunResult = { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  if (!options.allowFail && (result.error || result.status !== 0)) {
    const why = result.error ? result.error.message : `exit status ${result.status}`;
    throw new Error(`${argv.join(' ')}: ${why}\n${out.stderr.trim()}`);
  }
  return out;
}

/** Runs a command with binary output (bounded). */
export function runBuffer(argv: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): { code: number | null; stdout: Buffer; stderr: string } {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd!, args, { timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 256 * 2 ** 20, stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
  return { code: result.status, stdout: result.stdout ?? Buffer.alloc(0), stderr: result.stderr?.toString('utf8') ?? '' };
}

/** Runs a long command asynchronously (bounded), streaming its output to the log when asked. */
export function runAsync(argv: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; echo?: boolean }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) };
    const child = spawn(cmd!, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      if (options.echo) process.stdout.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (options.echo) process.stdout.write(d);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new Error(`${argv.join(' ')}: ${signal ? `killed by ${signal} (time limit ${options.timeoutMs} ms?)` : `exit status ${code}`}\n${stderr.trim().split('\n').slice(-30).join('\n')}`));
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The suite's own deadline (set by test/vm/run.mjs); every wait is cut to what is left of it. */
export function deadline(): number {
  const value = Number(process.env.PI_SEED_VM_DEADLINE_MS);
  return Number.isFinite(value) && value > 0 ? value : Date.now() + 20 * 60_000;
}

export function remainingMs(): number {
  return deadline() - Date.now();
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitUntil<T>(what: string, check: () => T | undefined | false, timeoutMs: number, intervalMs = 500): Promise<T> {
  const limit = Date.now() + Math.min(timeoutMs, Math.max(0, remainingMs() - 30_000));
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > limit) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}
