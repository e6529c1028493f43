// Atomic writes: data goes to a temporary file in the same folder, is flushed, then renamed over
// the target, so a reader (or a card pulled mid-way) sees the old file or the new one, never half.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A unique sibling name for temporary files and folders (not a secret: collision avoidance). */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.pi-seed-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * `durable` also flushes the data to the device before the rename, so a power cut leaves the old
 * or the new file: wanted for secrets and SD cards, too slow for out/, which a build recreates.
 */
export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644, durable = true): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
