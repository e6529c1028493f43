// The FAT file system inside an image is read and written by mtools (mdir, mtype, mcopy with
// `-i image@@offset`), a maintained FAT implementation, never by pi-seed itself; the result is
// checked with dosfstools' fsck.fat. Each tool missing gives the catalog's install hint.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msg } from '../errors.js';
import { errnoError, ProblemError } from './problem-error.js';

/** A FAT file system at a byte offset inside an image file. */
export interface FatLocation {
  image: string;
  offset: number;
}

function mtools(tool: string, args: string[]): SpawnSyncReturns<Buffer> {
  // MTOOLS_SKIP_CHECK: images have no floppy geometry, which mtools would otherwise complain about.
  const result = spawnSync(tool, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, maxBuffer: 64 * 2 ** 20 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new ProblemError(msg.missingTool(tool, 'mtools', 'write into the image\'s FAT partition'));
  if (result.error) throw result.error;
  return result;
}

const drive = (fat: FatLocation): string[] => ['-i', `${fat.image}@@${fat.offset}`];
const stderrOf = (result: SpawnSyncReturns<Buffer>): string => result.stderr.toString('utf8').trim() || `exit status ${result.status}`;

export function requireMtools(): void {
  for (const tool of ['mdir', 'mtype', 'mcopy']) mtools(tool, ['-V']);
}

/** Names in the root folder, as stored (mtools matches them without regard to case). */
export function fatRootNames(fat: FatLocation): string[] {
  const result = mtools('mdir', ['-b', '-a', ...drive(fat), '::/']);
  if (result.status !== 0) throw new ProblemError(msg.toolFailed('mdir', stderrOf(result)));
  return result.stdout.toString('utf8').split('\n').filter(Boolean).map((line) => line.replace(/^::\//, ''));
}

export function fatReadFile(fat: FatLocation, name: string): Buffer {
  const result = mtools('mtype', [...drive(fat), `::/${name}`]);
  if (result.status !== 0) throw new ProblemError(msg.toolFailed('mtype', stderrOf(result)));
  return result.stdout;
}

/** Copies the files into the root folder, replacing files of the same name. */
export function fatWriteFiles(fat: FatLocation, files: ReadonlyArray<{ name: string; content: Buffer }>): void {
  // A private folder (0700): one of the files is the node's secret key.
  const staging = mkdtempSync(join(tmpdir(), 'pi-seed-fat-'));
  try {
    const paths = files.map((file) => {
      const path = join(staging, file.name);
      writeFileSync(path, file.content, { mode: 0o600 });
      return path;
    });
    const result = mtools('mcopy', ['-o', '-Q', ...drive(fat), ...paths, '::/']);
    if (result.status !== 0) {
      const detail = stderrOf(result);
      // "Disk full" is the FAT partition; "No space left on device" the disk holding the image.
      if (/no space left on device/i.test(detail)) throw errnoError('ENOSPC', detail);
      throw new ProblemError(/disk full/i.test(detail) ? msg.bootPartitionFull(detail) : msg.toolFailed('mcopy', detail));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export type FatCheck = 'clean' | 'not-installed';

/** `fsck.fat -n` (read-only) on a file holding just the FAT partition; throws when it finds problems. */
export function checkFat(partitionFile: string): FatCheck {
  // /usr/sbin is not on an ordinary user's PATH on Debian, yet fsck.fat is installed there.
  for (const tool of ['fsck.fat', '/usr/sbin/fsck.fat', '/sbin/fsck.fat']) {
    const result = spawnSync(tool, ['-n', partitionFile], { encoding: 'utf8' });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') continue;
    if (result.error) throw result.error;
    if (result.status !== 0) throw new ProblemError(msg.fatCheckFailed(`${result.stdout}${result.stderr}`));
    return 'clean';
  }
  return 'not-installed';
}
