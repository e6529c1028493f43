// `pi-seed bake`: from a Raspberry Pi image to one flashable image per node, without root or
// loop mounts. The input is expanded once into a sparse temporary file beside the output; the
// system-boot partition is found from the partition table and its FAT boot sector; mtools writes
// the node's files into that FAT (nothing else in the image is touched); fsck.fat checks it; the
// file is fsynced and renamed into place. Any failure or signal removes every temporary file.
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { msg } from '../errors.js';
import { tempSibling } from './atomic.js';
import { BootPartitionFinder, type BootPartition } from './boot-partition.js';
import { type NodeCard } from './card-files.js';
import { Cleanup } from './cleanup.js';
import { type CmdlineEdit, cmdlineEdits } from './cmdline-merge.js';
import { checkFat, type FatCheck, fatReadIfPresent, fatWriteFiles, requireMtools } from './fat-tools.js';
import { expandImage, type ImageInput, inspectImage } from './image-source.js';
import { describePartition } from './partitions.js';
import { ProblemError } from './problem-error.js';
import { progressBar } from './progress.js';
import { copySparseFile, copySparseRange, type OpenFile, readAt } from './sparse-file.js';

export interface BakeTarget {
  card: NodeCard;
  output: string;
}

export interface BakeResult {
  output: string;
  /** Each command line the image's firmware reads (see boot-config.ts), merged. */
  cmdlines: CmdlineEdit[];
  fsck: FatCheck;
}

export async function bakeImages(image: string, targets: readonly BakeTarget[], log: (line: string) => void, force = false): Promise<BakeResult[]> {
  for (const target of targets) checkOutputPath(image, target.output, force);
  requireMtools();
  const input = inspectImage(image);
  const cleanup = new Cleanup();
  let current = targets[0]!.output;
  try {
    return await cleanup.guard(async () => {
      // One target: the expanded image is that target's temporary file. Several: a pristine
      // copy that each target's file is copied from, so the input is decompressed only once.
      const path = cleanup.track(tempSibling(targets.length === 1 ? current : `${current}.pristine`));
      // 0600: the image holds the node's key (the control plane's is the cluster key).
      const pristine: OpenFile = { path, fd: openSync(path, 'wx+', 0o600) };
      try {
        const { boot, size } = await expand(image, input, pristine.fd, cleanup);
        log(`${image}: system-boot is ${describePartition(boot)}`);
        const results: BakeResult[] = [];
        for (const target of targets) {
          current = target.output;
          const file = targets.length === 1 ? pristine : await copyFor(target, pristine, size, cleanup);
          try {
            results.push(await bakeOne(target, boot, file, cleanup));
          } finally {
            if (file !== pristine) closeSync(file.fd);
          }
        }
        return results;
      } finally {
        closeSync(pristine.fd);
      }
    });
  } catch (err) {
    throw diskProblem(err, current) ?? err;
  }
}

/** The input, expanded into `fd`; the boot partition is found on the way. */
async function expand(image: string, input: ImageInput, fd: number, cleanup: Cleanup): Promise<{ boot: BootPartition; size: number }> {
  const finder = new BootPartitionFinder(image, (offset, length) => readAt(fd, offset, length));
  const bar = progressBar(`reading ${basename(image)}`, input.size);
  const size = await expandImage(input, fd, (done) => (bar.update(done), finder.advance(done)), cleanup);
  bar.finish();
  ftruncateSync(fd, size); // trailing zeros become a hole too
  return { boot: finder.result(size), size };
}

async function copyFor(target: BakeTarget, pristine: OpenFile, size: number, cleanup: Cleanup): Promise<OpenFile> {
  const path = cleanup.track(tempSibling(target.output));
  const fd = openSync(path, 'wx+', 0o600);
  const bar = progressBar(`copying for ${target.card.node}`, size);
  await copySparseFile(pristine, { path, fd }, size, (done) => bar.update(done));
  bar.finish();
  ftruncateSync(fd, size);
  return { path, fd };
}

async function bakeOne(target: BakeTarget, boot: BootPartition, file: OpenFile, cleanup: Cleanup): Promise<BakeResult> {
  const cmdlines = writeSeed(file.path, boot, target.card);
  const fsck = await checkBootFat(file, boot, target.output, cleanup);
  fsyncSync(file.fd);
  renameSync(file.path, target.output);
  cleanup.keep(file.path);
  return { output: target.output, cmdlines, fsck };
}

/** Writes the node's files into the boot FAT, pi-seed's flags merged into the command line(s) the firmware reads. */
function writeSeed(imageFile: string, boot: BootPartition, card: NodeCard): CmdlineEdit[] {
  const fat = { image: imageFile, offset: boot.start };
  const edits = cmdlineEdits(card, (path) => fatReadIfPresent(fat, path)?.toString('utf8') ?? null);
  const changed = edits.filter((e) => e.merge.changed).map((e) => ({ name: e.path, content: Buffer.from(e.merge.text, 'utf8') }));
  fatWriteFiles(fat, [...card.files, ...changed]);
  return edits;
}

/** fsck.fat reads a whole device or file, so it gets a sparse copy of just the partition. */
async function checkBootFat(image: OpenFile, boot: BootPartition, output: string, cleanup: Cleanup): Promise<FatCheck> {
  const path = cleanup.track(`${tempSibling(output)}.fat`);
  const fd = openSync(path, 'wx+', 0o600);
  try {
    await copySparseRange(image, boot.start, boot.size, { path, fd });
    ftruncateSync(fd, boot.size);
  } finally {
    closeSync(fd);
  }
  try {
    return checkFat(path);
  } finally {
    cleanup.discard(path);
  }
}

function checkOutputPath(image: string, output: string, force: boolean): void {
  if (output.includes('@@')) throw new ProblemError(msg.unsafeImagePath(output));
  if (/\.(xz|gz|zst|bz2|zip)$/i.test(output)) throw new ProblemError(msg.compressedOutput(output));
  const input = statSync(image, { throwIfNoEntry: false });
  const existing = statSync(output, { throwIfNoEntry: false });
  if (resolve(image) === resolve(output) || (input && existing && input.ino === existing.ino && input.dev === existing.dev)) {
    throw new ProblemError(msg.outputIsInput(output));
  }
  if (existing && !force) throw new ProblemError(msg.imageExists(output));
}

/** Errors of a full disk or a file-size limit, named after the file being written. */
function diskProblem(err: unknown, output: string): ProblemError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC') return new ProblemError(msg.diskFull(output));
  if (code === 'EFBIG') return new ProblemError(msg.fileTooLarge(output));
  return null;
}
