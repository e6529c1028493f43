// Sparse files: all-zero blocks are skipped (the file system leaves a hole that reads as zeros),
// so a 4 GiB image that is mostly empty takes the disk space of its data only. Writing the file's
// size at the end (ftruncate) makes trailing zeros a hole too.
import { spawnSync } from 'node:child_process';
import { ftruncateSync, readSync, writeSync } from 'node:fs';

export const BLOCK = 64 * 1024;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const CHUNK = 16 * BLOCK;

export const isZero = (block: Buffer): boolean => block.equals(block.length === BLOCK ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, block.length));

/** Fills `buffer` from `offset`; returns how many bytes were read (fewer at the end of the file). */
function readInto(fd: number, buffer: Buffer, offset: number): number {
  let done = 0;
  while (done < buffer.length) {
    const n = readSync(fd, buffer, done, buffer.length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Reads up to `length` bytes at `offset`; shorter at the end of the file. */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  return buffer.subarray(0, readInto(fd, buffer, offset));
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Writes `data` at `position`, leaving a hole for every all-zero, block-aligned 64 KiB block. */
export function writeSparse(fd: number, data: Buffer, position: number): void {
  let offset = 0;
  while (offset < data.length) {
    // Cut at block boundaries of the file, not of `data`, so holes line up with the file system's.
    const end = Math.min(data.length, offset + BLOCK - ((position + offset) % BLOCK));
    const block = data.subarray(offset, end);
    if (!isZero(block)) writeFully(fd, block, position + offset);
    offset = end;
  }
}

/** Lets signal handlers and timers (progress, Ctrl-C clean-up) run between chunks of a long copy. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Copies `length` bytes from `from` at `fromOffset` to `to` at `toOffset`, keeping holes. */
export async function copySparse(from: number, fromOffset: number, to: number, toOffset: number, length: number, onProgress?: (copied: number) => void): Promise<void> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let done = 0; done < length; ) {
    const n = readInto(from, buffer.subarray(0, Math.min(CHUNK, length - done)), fromOffset + done);
    if (n === 0) break;
    writeSparse(to, buffer.subarray(0, n), toOffset + done);
    done += n;
    onProgress?.(done);
    await yieldToEventLoop();
  }
}

/** Runs a copying tool; when it is missing or fails, Node copies instead, into a file emptied first. */
async function toolOrNode(tool: string, args: string[], toFd: number, nodeCopy: () => Promise<void>): Promise<void> {
  const result = spawnSync(tool, args);
  if (!result.error && result.status === 0) return;
  ftruncateSync(toFd, 0);
  await nodeCopy();
}

/**
 * Copies a whole sparse file. GNU cp finds the data with SEEK_DATA and copies only that (or
 * clones it on btrfs and XFS): milliseconds for a mostly empty 4 GiB image, where reading every
 * hole takes seconds. Elsewhere (macOS cp has no --sparse) Node copies block by block.
 */
export function copySparseFile(from: OpenFile, to: OpenFile, size: number, onProgress?: (copied: number) => void): Promise<void> {
  return toolOrNode('cp', ['--sparse=always', '--reflink=auto', '--', from.path, to.path], to.fd, () => copySparse(from.fd, 0, to.fd, 0, size, onProgress));
}

/**
 * Copies a byte range of one file into another, sparse. GNU dd reads with O_DIRECT: a hole read
 * that way costs nothing, while a first read through the page cache costs the kernel a zeroed
 * page per 4 KiB (over a second for a mostly empty 512 MiB boot partition). Elsewhere (no GNU
 * dd, or a file system without O_DIRECT such as tmpfs) Node copies block by block.
 */
export function copySparseRange(from: OpenFile, offset: number, length: number, to: OpenFile): Promise<void> {
  const ddArgs = [`if=${from.path}`, `of=${to.path}`, 'bs=1M', `skip=${offset}`, `count=${length}`, 'iflag=direct,skip_bytes,count_bytes', 'conv=sparse,notrunc', 'status=none'];
  return toolOrNode('dd', ddArgs, to.fd, () => copySparse(from.fd, offset, to.fd, 0, length));
}

export interface OpenFile {
  path: string;
  fd: number;
}
