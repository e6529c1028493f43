// One node's card: the base image with the node's seed files on its `system-boot` partition, put
// there by `pi-seed bake` exactly as a user would (or, while bake does not exist, by copying
// out/<node>/ with mcopy: the same files, no cmdline.txt merge). Then the Raspberry Pi firmware's
// part, emulated: read config.txt from the FAT partition, load the kernel and initrd it names and
// the command line from cmdline.txt.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers.js';
import { type DiskLayout } from './image.js';
import { run, runBuffer } from './tools.js';

const CLI = join(REPO, 'bin', 'pi-seed.js');
const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const SEED_FILES = ['pi-seed-node.key', 'user-data', 'network-config', 'cmdline.txt', 'meta-data'];

export type CardRoute = 'bake' | 'mcopy';

/** Does this checkout's CLI have `pi-seed bake` (issue 5)? */
export function bakeAvailable(): boolean {
  return run([process.execPath, CLI, 'bake', '--help'], { allowFail: true, timeoutMs: 30_000 }).code === 0;
}

/**
 * Writes `node`'s seed files into a copy of `base` at `dest`. With bake: one CLI call, as a user
 * runs it. Without: a sparse copy of the base and mcopy of out/<node>/ into its FAT.
 */
export function makeCard(route: CardRoute, options: { base: string; layout: DiskLayout; config: string; outDir: string; node: string; dest: string }): string {
  if (route === 'bake') {
    const result = run([process.execPath, CLI, 'bake', '--config', options.config, '--image', options.base, '--node', options.node, '-o', options.dest], { timeoutMs: 300_000 });
    return result.stderr.trim();
  }
  run(['cp', '--sparse=always', options.base, options.dest], { timeoutMs: 300_000 });
  const files = SEED_FILES.map((name) => join(options.outDir, options.node, name));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`pi-seed build did not write ${missing.join(', ')}`);
  run(['mcopy', '-o', '-Q', '-i', `${options.dest}@@${options.layout.fat.offset}`, ...files, '::/'], { env: MTOOLS_ENV });
  return `copied ${SEED_FILES.join(', ')} with mcopy`;
}

/**
 * A copy of the base card laid out like Ubuntu 26.04's A/B boot: kernel, initrd and cmdline.txt
 * moved into current/ (with its `state` file), and config.txt starting with the os_prefix block
 * of canonical/pi-gadget's resolute config.txt. Nothing is left in the root for the firmware.
 */
export function makeAbBootBase(base: string, layout: DiskLayout, dest: string): void {
  run(['cp', '--sparse=always', base, dest], { timeoutMs: 300_000 });
  const drive = `${dest}@@${layout.fat.offset}`;
  const config = fatRead(dest, layout, 'config.txt')!.toString('utf8');
  run(['mmd', '-i', drive, '::/current'], { env: MTOOLS_ENV });
  for (const name of ['vmlinuz', 'initrd.img', 'cmdline.txt']) run(['mmove', '-i', drive, `::/${name}`, `::/current/${name}`], { env: MTOOLS_ENV });
  const staging = `${dest}.files`;
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'state'), 'good\n');
  writeFileSync(join(staging, 'config.txt'), `[all]\nos_prefix=current/\n\n[tryboot]\nos_prefix=new/\n\n${config}`);
  run(['mcopy', '-o', '-Q', '-i', drive, join(staging, 'state'), '::/current/state'], { env: MTOOLS_ENV });
  run(['mcopy', '-o', '-Q', '-i', drive, join(staging, 'config.txt'), '::/config.txt'], { env: MTOOLS_ENV });
  rmSync(staging, { recursive: true, force: true });
}

/** Reads one file from the FAT partition of a raw disk image (null when absent). */
export function fatRead(image: string, layout: DiskLayout, name: string): Buffer | null {
  const result = runBuffer(['mtype', '-i', `${image}@@${layout.fat.offset}`, `::/${name}`], { env: MTOOLS_ENV });
  return result.code === 0 ? result.stdout : null;
}

/** Names in the FAT partition's root folder. */
export function fatList(image: string, layout: DiskLayout): string[] {
  const result = run(['mdir', '-b', '-a', '-i', `${image}@@${layout.fat.offset}`, '::/'], { env: MTOOLS_ENV });
  return result.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^::\//, ''));
}

export interface Firmware {
  kernel: string;
  initrd: string;
  /** The command-line file the firmware read (cmdline.txt, or current/cmdline.txt on A/B boot). */
  cmdlineFile: string;
  /** Its content as found on the card. */
  cmdlineTxt: string;
  /** The kernel command line for the VM (see vmKernelLine). */
  append: string;
}

/**
 * What a Pi's firmware does before Linux runs (a normal boot, not tryboot): config.txt's [all]
 * sections name the kernel, the initramfs, the command-line file and `os_prefix`, which is put in
 * front of all three (A/B boot on Ubuntu 25.10+: `os_prefix=current/`); they are read from the FAT
 * partition. Written here independently of pi-seed's own reader (src/emit/boot-config.ts).
 */
export function loadFirmware(image: string, layout: DiskLayout, outDir: string, extraFlags: string[] = []): Firmware {
  const config = fatRead(image, layout, 'config.txt')?.toString('utf8');
  if (!config) throw new Error('config.txt is missing from system-boot');
  let section = 'all';
  const settings: Record<string, string> = { kernel: 'kernel8.img', cmdline: 'cmdline.txt', os_prefix: '' };
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'all') continue;
    const initramfs = /^initramfs\s+(\S+)/.exec(line);
    if (initramfs) settings.initramfs = initramfs[1]!;
    const kv = /^(kernel|cmdline|os_prefix)=(\S+)$/.exec(line);
    if (kv) settings[kv[1]!] = kv[2]!;
  }
  const prefix = settings.os_prefix!;
  const get = (name: string, target: string) => {
    run(['mcopy', '-o', '-n', '-i', `${image}@@${layout.fat.offset}`, `::/${name}`, target], { env: MTOOLS_ENV });
    return target;
  };
  if (!settings.initramfs) throw new Error('config.txt names no initramfs');
  const cmdlineFile = `${prefix}${settings.cmdline!}`;
  const cmdlineTxt = fatRead(image, layout, cmdlineFile)?.toString('utf8');
  if (cmdlineTxt === undefined) throw new Error(`${cmdlineFile} is missing from system-boot`);
  return {
    kernel: get(`${prefix}${settings.kernel!}`, join(outDir, 'vmlinuz')),
    initrd: get(`${prefix}${settings.initramfs}`, join(outDir, 'initrd.img')),
    cmdlineFile,
    cmdlineTxt,
    append: vmKernelLine(cmdlineTxt, extraFlags),
  };
}

/**
 * The card's cmdline.txt, where it applies to an x86 VM: `console=serial0,...` (the Pi's UART
 * alias) becomes the VM's serial port, added last so /dev/console is the serial log; everything
 * else is passed on as the firmware would (root=LABEL=writable, rootfstype, rootwait, the cgroup
 * flags; Pi-only flags such as dwc_otg.lpm_enable and fixrtc the kernel ignores). No `rw`: as on
 * the Pi, the initramfs mounts the root read-only and systemd remounts it from /etc/fstab. Added:
 * net.ifnames=0 (the NIC is eth0 as on a Pi), panic=10 (a failed boot ends the VM instead of
 * waiting at an initramfs shell), and the test's own flags (`extraFlags`).
 */
export function vmKernelLine(cmdlineTxt: string, extraFlags: string[] = []): string {
  const lines = cmdlineTxt.split('\n').filter((l) => l.trim());
  if (lines.length !== 1) throw new Error(`cmdline.txt must be one line, found ${lines.length}`);
  const flags = lines[0]!.trim().split(/\s+/);
  if (!flags.includes('root=LABEL=writable')) throw new Error(`cmdline.txt lost root=LABEL=writable: ${lines[0]}`);
  const kept = flags.filter((f) => !/^console=(serial\d|ttyAMA\d|ttyS\d)/.test(f));
  return [...kept, 'net.ifnames=0', 'panic=10', ...extraFlags, 'console=ttyS0,115200'].join(' ');
}
