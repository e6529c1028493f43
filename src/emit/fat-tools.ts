// The FAT file system inside an image is read and written by mtools (mdir, mtype, mcopy with
// `-i image@@offset`), a maintained FAT implementation, never by pi-seed itself; the result is
// checked with dosfstools' fsck.fat. Each tool missing gives the catalog's install hint.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  for (const tool of ['mdir', 'mtype', 'mcopy', 'mmd']) mtools(tool, ['-V']);
}

/** A file's bytes (a path such as current/cmdline.txt; any case), or null when there is none. */
export function fatReadIfPresent(fat: FatLocation, path: string): Buffer | null {
  const result = mtools('mtype', [...drive(fat), `::/${path}`]);
  if (result.status === 0) return result.stdout;
  if (/not found/i.test(stderrOf(result))) return null;
  throw new ProblemError(msg.toolFailed('mtype', stderrOf(result)));
}

/** Copies the files into the partition (names may be in a folder: current/cmdline.txt), replacing files of the same name. */
export function fatWriteFiles(fat: FatLocation, files: ReadonlyArray<{ name: string; content: Buffer }>): void {
  // A private folder (0700): one of the files is the node's secret key.
  const staging = mkdtempSync(join(tmpdir(), 'pi-seed-fat-'));
  try {
    const byFolder = new Map<string, string[]>();
    files.forEach((file, i) => {
      const slash = file.name.lastIndexOf('/');
      const folder = slash === -1 ? '' : file.name.slice(0, slash);
      // Each file keeps its own name inside a staging folder of its own (names may repeat across folders).
      mkdirSync(join(staging, String(i)));
      const path = join(staging, String(i), file.name.slice(slash + 1));
      writeFileSync(path, file.content, { mode: 0o600 });
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), path]);
    });
    for (const [folder, paths] of byFolder) {
      if (folder !== '') ensureFolder(fat, folder);
      copyInto(fat, paths, `::/${folder}${folder ? '/' : ''}`);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function ensureFolder(fat: FatLocation, folder: string): void {
  if (mtools('mdir', ['-b', ...drive(fat), `::/${folder}`]).status === 0) return;
  const result = mtools('mmd', ['-D', 's', ...drive(fat), `::/${folder}`]);
  if (result.status !== 0) throw new ProblemError(msg.toolFailed('mmd', stderrOf(result)));
}

function copyInto(fat: FatLocation, paths: string[], target: string): void {
  const result = mtools('mcopy', ['-o', '-Q', ...drive(fat), ...paths, target]);
  if (result.status !== 0) {
    const detail = stderrOf(result);
    // "Disk full" is the FAT partition; "No space left on device" the disk holding the image.
    if (/no space left on device/i.test(detail)) throw errnoError('ENOSPC', detail);
    throw new ProblemError(/disk full/i.test(detail) ? msg.bootPartitionFull(detail) : msg.toolFailed('mcopy', detail));
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
