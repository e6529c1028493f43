// No partial output, whatever happens: temporary files are tracked while a long job runs and
// removed on any error and on Ctrl-C, SIGTERM or a closed terminal (after which the process dies
// of that same signal, as the shell expects). Child processes (xz) are stopped first, so none
// keeps writing into a file that was just removed.
import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class Cleanup {
  private readonly paths = new Set<string>();
  private readonly children = new Set<ChildProcess>();

  track(path: string): string {
    this.paths.add(path);
    return path;
  }

  /** The file has been renamed into place: it is output now, not a leftover. */
  keep(path: string): void {
    this.paths.delete(path);
  }

  /** Removes a temporary file now, before the job ends. */
  discard(path: string): void {
    rmSync(path, { force: true, recursive: true });
    this.paths.delete(path);
  }

  trackChild(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  removeAll(): void {
    for (const child of this.children) child.kill('SIGTERM');
    this.children.clear();
    for (const path of this.paths) rmSync(path, { force: true, recursive: true });
    this.paths.clear();
  }

  /** Runs `work`; on an error or a signal every tracked file is removed. Tracked files left at the end are removed too. */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    const onSignal = (signal: NodeJS.Signals) => {
      this.removeAll();
      for (const s of SIGNALS) process.removeListener(s, onSignal);
      process.kill(process.pid, signal);
    };
    for (const s of SIGNALS) process.on(s, onSignal);
    try {
      return await work();
    } finally {
      this.removeAll();
      for (const s of SIGNALS) process.removeListener(s, onSignal);
    }
  }
}
