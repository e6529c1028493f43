// Named checks and phase timings for the VM suite. A failed check is recorded and the suite
// carries on where that makes sense, so one run reports everything that is wrong; the summary
// ends with the "N passed, N failed" line CI reads.
import { log } from './tools.js';

export class Checks {
  readonly passed: string[] = [];
  readonly failed: Array<{ name: string; why: string }> = [];
  /** Checks not run, with the reason: counted and printed as skipped, never as passed. */
  readonly skipped: Array<{ name: string; why: string }> = [];

  skip(name: string, why: string): void {
    this.skipped.push({ name, why });
    log(`  SKIP ${name}: ${why}`);
  }

  /** Records `name` as passed when `condition` is true (or `condition()` returns without throwing). */
  check(name: string, condition: boolean | (() => unknown), detail = ''): boolean {
    let ok: boolean;
    let why = detail;
    try {
      if (typeof condition === 'function') {
        const value = condition();
        ok = value !== false;
      } else ok = condition;
    } catch (error) {
      ok = false;
      why = `${error instanceof Error ? error.message : String(error)}${detail ? `\n${detail}` : ''}`;
    }
    if (ok) {
      this.passed.push(name);
      log(`  ok   ${name}`);
    } else {
      this.failed.push({ name, why });
      log(`  FAIL ${name}${why ? `\n         ${why.split('\n').slice(0, 30).join('\n         ')}` : ''}`);
    }
    return ok;
  }

  equal(name: string, actual: unknown, expected: unknown): boolean {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    return this.check(name, a === e, `expected ${e}\n         got      ${a}`);
  }

  /** An error that ends the scenario (a wait that timed out, a VM that died). */
  abort(name: string, error: unknown): void {
    this.failed.push({ name, why: error instanceof Error ? error.message : String(error) });
    log(`  FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export class Timings {
  private readonly rows: Array<{ phase: string; seconds: number }> = [];

  async phase<T>(name: string, body: () => Promise<T> | T): Promise<T> {
    const started = Date.now();
    log(`--- ${name}`);
    try {
      return await body();
    } finally {
      const seconds = (Date.now() - started) / 1000;
      this.rows.push({ phase: name, seconds });
      log(`--- ${name}: ${seconds.toFixed(1)} s`);
    }
  }

  /** Records a duration measured elsewhere (e.g. from power-on to a console line). */
  note(name: string, seconds: number): void {
    this.rows.push({ phase: name, seconds });
  }

  table(): string {
    const width = Math.max(...this.rows.map((r) => r.phase.length), 5);
    return this.rows.map((r) => `  ${r.phase.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)} s`).join('\n');
  }

  json(): Array<{ phase: string; seconds: number }> {
    return this.rows;
  }
}
