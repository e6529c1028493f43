// Reads a disk image's partition table (MBR or GPT, 512-byte sectors as in every Raspberry Pi
// image) and a FAT boot sector's volume label: enough to find the system-boot partition without
// mounting anything. Every read goes through `read(offset, length)`, so the same code works on
// a whole file or on an image still being decompressed.

export const SECTOR = 512;

export interface Partition {
  /** 1-based, as `fdisk` and `lsblk` number them. */
  number: number;
  start: number;
  size: number;
  scheme: 'mbr' | 'gpt';
}

export type ReadAt = (offset: number, length: number) => Buffer;

const MBR_PROTECTIVE = 0xee;
const MBR_EXTENDED = new Set([0x05, 0x0f, 0x85]);

/** null when there is no MBR signature at all; a GPT when the MBR is only its protective entry. */
export function readPartitionTable(read: ReadAt): Partition[] | null {
  const mbr = read(0, SECTOR);
  if (mbr.length < SECTOR || mbr.readUInt16LE(510) !== 0xaa55) return null;
  const entries = [0, 1, 2, 3].map((i) => mbr.subarray(446 + i * 16, 462 + i * 16));
  if (entries.some((e) => e[4] === MBR_PROTECTIVE)) return readGpt(read);
  return entries
    .map((e, i) => ({ number: i + 1, type: e[4]!, start: e.readUInt32LE(8) * SECTOR, size: e.readUInt32LE(12) * SECTOR }))
    // Pi firmware boots from a primary partition: logical ones inside an extended one are not followed.
    .filter((p) => p.type !== 0 && p.size > 0 && !MBR_EXTENDED.has(p.type))
    .map(({ number, start, size }) => ({ number, start, size, scheme: 'mbr' as const }));
}

function readGpt(read: ReadAt): Partition[] | null {
  const header = read(SECTOR, SECTOR);
  if (header.length < 92 || header.toString('latin1', 0, 8) !== 'EFI PART') return null;
  const entriesAt = Number(header.readBigUInt64LE(72)) * SECTOR;
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || count > 1024) return null;
  const table = read(entriesAt, count * entrySize);
  const partitions: Partition[] = [];
  for (let i = 0; i < count && (i + 1) * entrySize <= table.length; i++) {
    const entry = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (entry.subarray(0, 16).every((b) => b === 0)) continue; // unused slot
    const first = Number(entry.readBigUInt64LE(32));
    const last = Number(entry.readBigUInt64LE(40));
    if (last >= first) partitions.push({ number: i + 1, start: first * SECTOR, size: (last - first + 1) * SECTOR, scheme: 'gpt' });
  }
  return partitions;
}

export interface FatVolume {
  label: string;
  /** Bytes the file system says it spans (sectors × sector size). */
  bytes: number;
}

/** The FAT boot sector's facts, or null when the sector is not a FAT boot sector. */
export function readFatBootSector(sector: Buffer): FatVolume | null {
  if (sector.length < SECTOR || sector.readUInt16LE(510) !== 0xaa55) return null;
  const bytesPerSector = sector.readUInt16LE(11);
  const sectorsPerCluster = sector[13]!;
  const fats = sector[16]!;
  const validGeometry = [512, 1024, 2048, 4096].includes(bytesPerSector) && sectorsPerCluster > 0 && (sectorsPerCluster & (sectorsPerCluster - 1)) === 0 && fats > 0;
  if (!validGeometry || sector.readUInt16LE(14) === 0) return null;
  const sectors = sector.readUInt16LE(19) || sector.readUInt32LE(32);
  // FAT32 has no 16-bit FAT size; its extended boot record, and so its label, sits further on.
  const fat32 = sector.readUInt16LE(22) === 0;
  const extended = fat32 ? 0x40 : 0x24;
  const hasLabel = sector[extended + 2] === 0x29;
  const label = hasLabel ? sector.toString('latin1', extended + 7, extended + 18).replace(/ +$/, '') : '';
  return { label, bytes: sectors * bytesPerSector };
}

export const BOOT_LABEL = 'system-boot';

export const isBootVolume = (volume: FatVolume | null): boolean => volume !== null && volume.label.toLowerCase() === BOOT_LABEL;

export function describePartition(p: Partition): string {
  const mib = (n: number) => `${Math.round((n / 2 ** 20) * 10) / 10} MiB`;
  return `partition ${p.number} (${p.scheme.toUpperCase()}, ${mib(p.size)} at ${mib(p.start)})`;
}
