// Reads a powered-off guest's disk without mounting it: debugfs for the ext4 root (through
// e2fsprogs' `image?offset=N` syntax) and mtools for the FAT boot partition.
import { type DiskLayout } from './image.js';
import { fatList, fatRead } from './card.js';
import { run, runBuffer } from './tools.js';

export interface ExtStat {
  mode: number;
  uid: number;
  gid: number;
  type: string;
}

export class GuestDisk {
  constructor(readonly image: string, readonly layout: DiskLayout) {}

  private get ext(): string {
    return `${this.image}?offset=${this.layout.root.offset}`;
  }

  /** A file of the root file system, or null when it does not exist. */
  read(path: string): string | null {
    const result = runBuffer(['debugfs', '-R', `cat "${path}"`, this.ext]);
    // debugfs exits 0 either way; a missing file shows on stderr.
    if (/not found|File not found|Bad file number|Ext2 inode is not a directory/i.test(result.stderr)) return null;
    return result.stdout.toString('utf8');
  }

  stat(path: string): ExtStat | null {
    const result = run(['debugfs', '-R', `stat "${path}"`, this.ext], { allowFail: true });
    const mode = /Mode:\s+(\d+)/.exec(result.stdout);
    if (!mode) return null;
    const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(result.stdout);
    const type = /Type:\s+(\w+)/.exec(result.stdout);
    return { mode: parseInt(mode[1]!, 8), uid: Number(owner?.[1]), gid: Number(owner?.[2]), type: type?.[1] ?? '?' };
  }

  /** Names in a folder of the root file system ([] when it does not exist). */
  list(path: string): string[] {
    const result = run(['debugfs', '-R', `ls -p "${path}"`, this.ext], { allowFail: true });
    // `ls -p` lines: /inode/mode/uid/gid/name/size/
    return result.stdout
      .split('\n')
      .map((l) => l.split('/'))
      .filter((f) => f.length >= 7 && f[5] !== '.' && f[5] !== '..')
      .map((f) => f[5]!);
  }

  fatNames(): string[] {
    return fatList(this.image, this.layout);
  }

  fatRead(name: string): string | null {
    return fatRead(this.image, this.layout, name)?.toString('utf8') ?? null;
  }
}
