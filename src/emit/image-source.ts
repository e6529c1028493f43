// Turns the input image (raw .img or .img.xz) into a sparse copy in an output file. An .xz is
// decompressed by Debian's `xz -dc` writing straight into the output file: xz leaves holes for
// zero blocks itself when its output is a regular file, and no byte of the image passes through
// Node, so baking costs about what `xz -dc image.xz > plain.img` costs. A raw image is copied by
// Node, 64 KiB block by block, skipping zero blocks.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { msg } from '../errors.js';
import { type Cleanup } from './cleanup.js';
import { errnoError, ProblemError } from './problem-error.js';
import { readAt, writeSparse } from './sparse-file.js';

export interface ImageInput {
  path: string;
  format: 'raw' | 'xz';
  /** The image's size once decompressed, when it can be known up front (for the progress bar). */
  size: number | null;
}

const MAGIC: ReadonlyArray<[format: string, bytes: Buffer]> = [
  ['xz', Buffer.from('fd377a585a00', 'hex')],
  ['gzip', Buffer.from('1f8b', 'hex')],
  ['zstd', Buffer.from('28b52ffd', 'hex')],
  ['bzip2', Buffer.from('425a68', 'hex')],
];

/** Recognises the format by its first bytes; a pipe or FIFO cannot be peeked at, so there the name decides. */
export function inspectImage(path: string): ImageInput {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new ProblemError(msg.noSuchImage(path));
  if (stat.isDirectory()) throw new ProblemError(msg.imageIsAFolder(path));
  // Not even opened: a FIFO's writer would see its reader come and go.
  if (!stat.isFile()) return { path, format: path.endsWith('.xz') ? 'xz' : 'raw', size: null };
  const fd = openSync(path, 'r');
  const head = readAt(fd, 0, 8);
  closeSync(fd);
  const format = MAGIC.find(([, bytes]) => head.subarray(0, bytes.length).equals(bytes))?.[0] ?? 'raw';
  if (format === 'raw') return { path, format, size: stat.size };
  if (format !== 'xz') throw new ProblemError(msg.unsupportedCompression(path, format));
  return { path, format, size: xzUncompressedSize(path) };
}

/** `xz --robot --list` reads the index at the end of the file: the exact size, without decompressing. */
function xzUncompressedSize(path: string): number | null {
  const result = spawnSync('xz', ['--robot', '--list', '--', path], { encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new ProblemError(msg.missingTool('xz', 'xz-utils', 'decompress .xz images'));
  const totals = result.stdout?.split('\n').find((line) => line.startsWith('totals\t'));
  const size = Number(totals?.split('\t')[4]);
  return result.status === 0 && Number.isSafeInteger(size) ? size : null;
}

/**
 * Writes the whole image into `fd` (opened read-write) and returns its size. `onProgress(n)` is
 * told whenever the first n bytes are final; when it throws, the work stops and that error is thrown.
 */
export function expandImage(input: ImageInput, fd: number, onProgress: (bytes: number) => void, cleanup: Cleanup): Promise<number> {
  return input.format === 'xz' ? decompressXz(input, fd, onProgress, cleanup) : copyRaw(input, fd, onProgress);
}

const CHUNK = 2 ** 20;

async function copyRaw(input: ImageInput, fd: number, onProgress: (bytes: number) => void): Promise<number> {
  const source = await open(input.path, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    let position = 0;
    for (;;) {
      // Sequential reads (position null) work for files, FIFOs and pipes alike.
      const { bytesRead } = await source.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) return position;
      writeSparse(fd, buffer.subarray(0, bytesRead), position);
      position += bytesRead;
      onProgress(position);
    }
  } finally {
    await source.close();
  }
}

const POLL_MS = 200;

function decompressXz(input: ImageInput, fd: number, onProgress: (bytes: number) => void, cleanup: Cleanup): Promise<number> {
  const inputFd = openSync(input.path, 'r');
  return new Promise<number>((resolve, reject) => {
    const xz = spawn('xz', ['-dc'], { stdio: [inputFd, fd, 'pipe'] });
    cleanup.trackChild(xz);
    let stderr = '';
    let stoppedBy: unknown = null;
    xz.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // xz writes in order and leaves holes by seeking, so every byte below the file's size is final.
    const poll = setInterval(() => {
      try {
        onProgress(fstatSync(fd).size);
      } catch (err) {
        stoppedBy = err;
        xz.kill('SIGTERM');
      }
    }, POLL_MS);
    const finish = (error: unknown, size = 0) => {
      clearInterval(poll);
      closeSync(inputFd);
      if (error) reject(error);
      else resolve(size);
    };
    xz.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ENOENT' ? new ProblemError(msg.missingTool('xz', 'xz-utils', 'decompress .xz images')) : err));
    xz.on('close', (code, signal) => {
      if (stoppedBy) return finish(stoppedBy);
      if (code !== 0) return finish(xzFailure(input.path, stderr, signal));
      try {
        const size = fstatSync(fd).size;
        onProgress(size);
        finish(null, size);
      } catch (err) {
        finish(err);
      }
    });
  });
}

/**
 * xz's own words. A full disk or a file-size limit is not a damaged download: those come back as
 * the errno codes Node would give, for the caller to name the output file.
 */
function xzFailure(image: string, stderr: string, signal: NodeJS.Signals | null): Error {
  const detail = stderr.trim().split('\n').pop()?.replace(/^xz: \(std(in|out)\): /, '') || (signal ? `xz was stopped by ${signal}` : 'xz failed');
  if (/no space left/i.test(detail)) return errnoError('ENOSPC', detail);
  if (/file too large/i.test(detail) || signal === 'SIGXFSZ') return errnoError('EFBIG', detail);
  return new ProblemError(msg.imageCorrupt(image, detail));
}
