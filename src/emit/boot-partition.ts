// Finds the system-boot partition while the image is still being decompressed: the partition
// table is read once the first MiB is there, each partition's boot sector as soon as it has been
// written. A file that is not a disk image, or has no system-boot partition, fails in the first
// seconds instead of after gigabytes.
import { msg } from '../errors.js';
import { isBootVolume, type Partition, readFatBootSector, readPartitionTable, type ReadAt, SECTOR } from './partitions.js';
import { ProblemError } from './problem-error.js';

/** GPT entries end well within the first MiB; Pi images start their first partition there. */
const TABLE_BYTES = 2 ** 20;

export interface BootPartition extends Partition {
  /** Bytes the FAT file system spans (at most the partition's size). */
  fatBytes: number;
}

export class BootPartitionFinder {
  private pending: Partition[] | null = null;
  private checked = 0;
  found: BootPartition | null = null;

  constructor(
    private readonly image: string,
    private readonly read: ReadAt,
  ) {}

  /** Called whenever the first `available` bytes are final; throws as soon as the image cannot hold a system-boot partition. */
  advance(available: number, complete = false): void {
    if (this.found) return;
    if (this.pending === null) {
      if (available < TABLE_BYTES && !complete) return;
      const table = readPartitionTable(this.read);
      if (!table) throw new ProblemError(msg.noPartitionTable(this.image));
      this.pending = [...table].sort((a, b) => a.start - b.start);
    }
    while (this.pending.length > 0 && this.pending[0]!.start + SECTOR <= available) {
      const partition = this.pending.shift()!;
      this.checked++;
      const volume = readFatBootSector(this.read(partition.start, SECTOR));
      if (volume && isBootVolume(volume)) {
        if (volume.bytes > partition.size) throw new ProblemError(msg.fatExceedsPartition(this.image, volume.bytes, partition.size));
        this.found = { ...partition, fatBytes: volume.bytes };
        return;
      }
    }
    if (this.pending.length === 0 || complete) {
      const beyondEnd = this.pending[0];
      if (beyondEnd) throw new ProblemError(msg.imageTruncated(this.image, beyondEnd.start + SECTOR, available));
      throw new ProblemError(msg.noBootPartition(this.image, this.checked));
    }
  }

  /** After the whole image is there: the boot partition, which must end inside the image. */
  result(size: number): BootPartition {
    this.advance(size, true);
    const found = this.found!;
    if (found.start + found.size > size) throw new ProblemError(msg.imageTruncated(this.image, found.start + found.size, size));
    return found;
  }
}
