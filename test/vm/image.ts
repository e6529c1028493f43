// The base "card" image of the VM suite, built on x86_64 from Debian packages only and laid out
// like Ubuntu's Raspberry Pi images: an MBR disk whose partition 1 is a FAT32 file system labelled
// `system-boot` (mounted at /boot/firmware; the firmware's config.txt, cmdline.txt, kernel and
// initrd, and cloud-init's stock seed files) and partition 2 an ext4 file system labelled
// `writable` (the root). cloud-init reads its NoCloud seed from `system-boot`, as on a Pi.
//
// Real in the image: systemd, udev, cloud-init, netplan, python3, openssl, curl, the kernel. Test
// doubles (test/doubles/) stand in for kubeadm, kubectl, apt-get, apt-mark, dpkg-query,
// containerd, curl (internet downloads only; requests to the cluster go to the real curl) and
// gpg: the VMs have no internet (see test/vm/guest/double-wrapper). The kubeadm and kubectl
// doubles run the stand-ins (test/stand-ins/, bundled into dist/stand-ins/stand-ins.cjs) on
// Debian's nodejs, and a kubelet stand-in unit runs the stand-in API server from its static pod
// manifest (test/vm/guest/units/kubelet.service).
//
// Built without loop mounts: mmdebstrap into a tar, `mkfs.ext4 -d`, `mkfs.vfat` + mcopy, and
// sfdisk + dd at offsets. Cached in .cache/vm/ keyed on a hash of every input, in two layers:
// the Debian root (slow: downloads) and the finished image (fast: customisation and mkfs).
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVED_MANIFESTS, servedChecksums } from '../doubles-served.js';
import { REPO } from '../helpers.js';
import { log, remainingMs, run, runAsync } from './tools.js';

export const SUITE = 'bookworm';
export const MIRROR = process.env.PI_SEED_VM_MIRROR || 'http://deb.debian.org/debian';

/**
 * The root's packages. cloud-init, netplan.io, systemd, udev, python3 and openssl are what the
 * test is about; locales and tzdata let cloud-init's locale and timezone modules do their real
 * work; dbus lets logind handle the ACPI power button (clean shutdowns); dosfstools and
 * e2fsprogs are fstab's fsck helpers; procps (sysctl) and kmod (modprobe) are used for real by
 * the bootstrap; sudo and openssh-server are on every Ubuntu image and cloud-init configures both.
 * nodejs (bookworm: Node 18, the stand-in bundle's target) runs the stand-ins, not pi-seed.
 */
export const PACKAGES = [
  'systemd-sysv', 'udev', 'dbus', 'iproute2', 'cloud-init', 'netplan.io', 'python3', 'openssl', 'curl',
  'locales', 'tzdata', 'sudo', 'openssh-server', 'procps', 'kmod', 'mawk', 'e2fsprogs', 'dosfstools',
  'linux-image-cloud-amd64', 'initramfs-tools',
  // Ubuntu's NTP client up to 24.04: the bootstrap waits for it to synchronise from the LAN's server.
  'systemd-timesyncd',
  // The stand-ins (kubeadm, kubectl, the API server) are Node programs.
  'nodejs',
  // The HA scenario's virtual IP (issue 14): the real VRRP daemon, as the bootstrap installs it
  // from Ubuntu's archive (Debian 12: keepalived 2.2.7). Disabled in the image; see customise().
  'keepalived',
];

/** The doubles baked into the image; each gets a /usr/local/bin wrapper of the same name. */
export const DOUBLES = ['kubeadm', 'kubectl', 'apt-get', 'apt-mark', 'dpkg-query', 'containerd', 'curl', 'gpg'];

/** The stand-ins' bundle (node scripts/bundle-stand-ins.mjs), and where the image has it. */
export const STAND_INS = join(REPO, 'dist', 'stand-ins', 'stand-ins.cjs');
export const GUEST_STAND_INS = '/usr/local/lib/pi-seed-doubles/stand-ins.cjs';

const MIB = 2 ** 20;
const SECTOR = 512;
/** Ubuntu's images start the boot partition at 1 MiB. */
const FAT_START = 1 * MIB;
const FAT_SIZE = 256 * MIB;
const ROOT_SIZE = 2048 * MIB;

export interface Partition {
  offset: number;
  size: number;
}

export interface DiskLayout {
  fat: Partition;
  root: Partition;
  total: number;
}

export const LAYOUT: DiskLayout = {
  fat: { offset: FAT_START, size: FAT_SIZE },
  root: { offset: FAT_START + FAT_SIZE, size: ROOT_SIZE },
  total: FAT_START + FAT_SIZE + ROOT_SIZE,
};

export interface BaseImage {
  /** Raw disk image (sparse): MBR, system-boot, writable. Never written to by the suite. */
  disk: string;
  layout: DiskLayout;
  key: string;
  kernelVersion: string;
  /** Seconds spent building this run (0 when both layers came from the cache). */
  buildSeconds: number;
  fromCache: { rootfs: boolean; image: boolean };
}

const GUEST = join(REPO, 'test', 'vm', 'guest');
const DOUBLES_DIR = join(REPO, 'test', 'doubles');

function sha(parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(String(Buffer.byteLength(part)));
    hash.update('\0');
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

export function rootfsKey(): string {
  return sha(['rootfs/v1', SUITE, MIRROR, 'variant=apt', ...PACKAGES]);
}

function standInsBundle(): Buffer {
  if (!existsSync(STAND_INS)) throw new Error(`${STAND_INS} is missing: run node scripts/bundle-stand-ins.mjs (npm run test:vm does)`);
  return readFileSync(STAND_INS);
}

/** Everything the finished image is made of: the root's key, the guest files, the doubles and stand-ins, this recipe. */
export function imageKey(): string {
  const recipe = readFileSync(fileURLToPath(import.meta.url));
  const guest = filesUnder(GUEST).flatMap((f) => [f.slice(GUEST.length), readFileSync(f)]);
  const doubles = DOUBLES.flatMap((d) => [d, readFileSync(join(DOUBLES_DIR, d))]);
  return sha([rootfsKey(), recipe, JSON.stringify(LAYOUT), ...guest, ...doubles, 'stand-ins.cjs', standInsBundle(), servedChecksums()]);
}

/** The Debian root as a tar (mmdebstrap's output), cached: the slow, network-bound layer. */
async function ensureRootfs(cache: string): Promise<{ tar: string; cached: boolean }> {
  const tar = join(cache, `rootfs-${rootfsKey()}.tar`);
  if (existsSync(tar)) return { tar, cached: true };
  const tmp = `${tar}.tmp-${process.pid}.tar`;
  log(`building the Debian ${SUITE} root with mmdebstrap from ${MIRROR} (cached afterwards in ${cache})`);
  // The mirror is named explicitly: without it, mmdebstrap reads apt sources from a non-tty stdin.
  await runAsync(['mmdebstrap', '--mode=root', '--variant=apt', `--include=${PACKAGES.join(',')}`, SUITE, tmp, MIRROR], { timeoutMs: Math.min(15 * 60_000, Math.max(60_000, remainingMs() - 60_000)) });
  renameSync(tmp, tar);
  return { tar, cached: false };
}

function writeFile(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

/** Turns the plain Debian root into the test card's root (Ubuntu Pi layout plus the doubles). */
function customise(root: string): void {
  // cloud-init as on Ubuntu's Pi images: NoCloud from the FAT partition labelled system-boot.
  writeFile(join(root, 'etc/cloud/cloud.cfg.d/99-fake_cloud.cfg'), readFileSync(join(GUEST, '99-fake_cloud.cfg')));
  writeFile(join(root, 'etc/cloud/cloud.cfg.d/90-pi-seed-vm-test.cfg'), readFileSync(join(GUEST, '90-pi-seed-vm-test.cfg')));
  writeFile(join(root, 'etc/fstab'), readFileSync(join(GUEST, 'fstab')));
  mkdirSync(join(root, 'boot/firmware'), { recursive: true });
  // A flashed card knows nothing of the machine that built it.
  writeFile(join(root, 'etc/hostname'), 'ubuntu\n');
  writeFile(join(root, 'etc/hosts'), readFileSync(join(GUEST, 'hosts')));
  writeFile(join(root, 'etc/resolv.conf'), '');
  writeFile(join(root, 'etc/machine-id'), '');
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });
  for (const name of readdirSync(join(root, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_'))) unlinkSync(join(root, 'etc/ssh', name));
  // Debian's locale-gen ignores its argument and builds what /etc/locale.gen lists (Ubuntu's builds
  // the locale it is given): list the example's locale so cloud-init's locale module can build it.
  writeFileSync(join(root, 'etc/locale.gen'), readFileSync(join(root, 'etc/locale.gen'), 'utf8') + '\n# pi-seed VM test image: the example cluster\'s os.locale\nen_US.UTF-8 UTF-8\n');
  // No apt timers in the test window: they would run the apt-get double behind the bootstrap's back.
  for (const timer of ['apt-daily.timer', 'apt-daily-upgrade.timer']) {
    const link = join(root, 'etc/systemd/system', timer);
    rmSync(link, { force: true });
    symlinkSync('/dev/null', link);
  }
  // keepalived (the HA scenario's VRRP daemon) is real but, on a fresh Ubuntu card, not installed:
  // nothing may start it before the bootstrap installs it. Its postinst's enable and start are
  // played by the apt-get wrapper (guest/double-wrapper); the bootstrap then enables and restarts
  // it itself. Its log also goes to the console (--log-console), where the VM suite reads the
  // VRRP state changes ("(pi_seed_api) Entering MASTER STATE"); the unit is otherwise Debian's.
  rmSync(join(root, 'etc/systemd/system/multi-user.target.wants/keepalived.service'), { force: true });
  // Without Debian's SysV script beside the unit: `systemctl enable` then does not run
  // systemd-sysv-install (update-rc.d, Perl), which took up to two minutes under TCG.
  for (const dir of ['init.d', 'rc0.d', 'rc1.d', 'rc2.d', 'rc3.d', 'rc4.d', 'rc5.d', 'rc6.d']) {
    for (const name of readdirSync(join(root, 'etc', dir)).filter((n) => /^([SK]\d\d)?keepalived$/.test(n))) rmSync(join(root, 'etc', dir, name));
  }
  // It also runs from a copy of its config with a slower API server check: under TCG the busiest
  // VM (the init node, four VMs on two cores) needs more than the check's 3 s for curl's start-up
  // and a stand-in /livez, and lost its priority that way (docs/testing.md). The copy keeps the
  // bootstrap's own files as generated; a Pi runs them unchanged.
  const slowerCheck = [
    'mkdir -p /run/pi-seed-vm-test',
    'sed "s/--max-time 3 /--max-time 15 /" /usr/local/lib/pi-seed/check-apiserver.sh >/run/pi-seed-vm-test/check-apiserver.sh',
    'chmod 0755 /run/pi-seed-vm-test/check-apiserver.sh',
    'sed -e "s|/usr/local/lib/pi-seed/check-apiserver.sh|/run/pi-seed-vm-test/check-apiserver.sh|" -e "s/^    interval 3$$/    interval 10/" -e "s/^    timeout 4$$/    timeout 20/" /etc/keepalived/keepalived.conf >/run/pi-seed-vm-test/keepalived.conf',
  ].join(' && ');
  writeFile(
    join(root, 'etc/systemd/system/keepalived.service.d/pi-seed-vm-test.conf'),
    `# pi-seed VM test image: keepalived's log on the serial console too, and a slower API server check (test/vm/image.ts).\n[Service]\nExecStartPre=/bin/sh -c '${slowerCheck}'\nExecStart=\nExecStart=/usr/sbin/keepalived --dont-fork --log-console -f /run/pi-seed-vm-test/keepalived.conf $DAEMON_ARGS\nStandardOutput=journal+console\nStandardError=journal+console\n`,
  );
  // The doubles, each behind a wrapper in /usr/local/bin (ahead of /usr/bin on systemd's PATH).
  const lib = join(root, 'usr/local/lib/pi-seed-doubles');
  for (const name of DOUBLES) {
    writeFile(join(lib, name), readFileSync(join(DOUBLES_DIR, name)), 0o755);
    writeFile(join(root, 'usr/local/bin', name), readFileSync(join(GUEST, 'double-wrapper')), 0o755);
  }
  writeFile(join(root, GUEST_STAND_INS.slice(1)), standInsBundle());
  // The kubelet stand-in unit's loop: it runs the API server's static pod (units/kubelet.service).
  writeFile(join(lib, 'kubelet-stand-in'), readFileSync(join(GUEST, 'kubelet-stand-in')), 0o755);
  for (const unit of readdirSync(join(GUEST, 'units'))) writeFile(join(lib, 'units', unit), readFileSync(join(GUEST, 'units', unit)));
  mkdirSync(join(root, 'var/lib/pi-seed-doubles'), { recursive: true, mode: 0o755 });
  // The stand-in manifests the curl double serves, and their digests in place of the real pins
  // (the real bytes cannot be served here; the simulation shows a mismatch is refused).
  for (const [name, body] of Object.entries(SERVED_MANIFESTS)) writeFile(join(root, 'var/lib/pi-seed-doubles/served', name), body);
  writeFile(join(lib, 'served.sha256'), servedChecksums());
  // The stand-in manifests' digests, and a shorter cap on a joining node's poll interval (60 s by
  // default: a node waiting since long may notice the published join script up to a minute late,
  // which only costs the suite time).
  writeFile(join(root, 'etc/systemd/system/pi-seed-bootstrap.service.d/pi-seed-vm-test.conf'), '# pi-seed VM test image: the stand-in manifests\' digests (test/doubles-served.ts), a 20 s cap on the join script poll.\n[Service]\nEnvironment=PI_SEED_ADDON_CHECKSUMS=/usr/local/lib/pi-seed-doubles/served.sha256\nEnvironment=PI_SEED_FETCH_BACKOFF_CAP_SECONDS=20\n');
  writeFile(
    join(root, 'etc/pi-seed-test-image'),
    'pi-seed VM test card (test/vm/image.ts): Debian root in the layout of Ubuntu\'s Raspberry Pi images.\n' +
      `Test doubles in /usr/local/bin: ${DOUBLES.join(' ')} (state in /var/lib/pi-seed-doubles; stand-ins in ${GUEST_STAND_INS}).\n`,
  );
}

function kernelVersion(root: string): string {
  const kernels = readdirSync(join(root, 'boot')).filter((n) => n.startsWith('vmlinuz-'));
  if (kernels.length !== 1) throw new Error(`expected one kernel in the root, found ${kernels.join(', ') || 'none'}`);
  return kernels[0]!.slice('vmlinuz-'.length);
}

const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** The FAT32 `system-boot` file system: stock-like firmware config and seed, plus kernel and initrd. */
function buildFat(file: string, root: string, version: string): void {
  run(['mkfs.vfat', '-F', '32', '-n', 'system-boot', '-C', file, String(FAT_SIZE / 1024)]);
  const staging = join(file + '.d');
  mkdirSync(staging, { recursive: true });
  // Like flash-kernel on Ubuntu: the firmware loads these two from the boot partition (config.txt).
  copyFileSync(join(root, 'boot', `vmlinuz-${version}`), join(staging, 'vmlinuz'));
  copyFileSync(join(root, 'boot', `initrd.img-${version}`), join(staging, 'initrd.img'));
  for (const name of readdirSync(join(GUEST, 'boot'))) copyFileSync(join(GUEST, 'boot', name), join(staging, name));
  const files = readdirSync(staging).sort().map((n) => join(staging, n));
  run(['mcopy', '-Q', '-i', file, ...files, '::/'], { env: MTOOLS_ENV });
  rmSync(staging, { recursive: true, force: true });
}

function assembleDisk(disk: string, fat: string, rootImg: string): void {
  writeFileSync(disk, '');
  run(['truncate', '-s', String(LAYOUT.total), disk]);
  const sectors = (bytes: number) => bytes / SECTOR;
  const script = [
    'label: dos',
    'unit: sectors',
    '',
    `start=${sectors(LAYOUT.fat.offset)}, size=${sectors(LAYOUT.fat.size)}, type=c, bootable`,
    `start=${sectors(LAYOUT.root.offset)}, size=${sectors(LAYOUT.root.size)}, type=83`,
    '',
  ].join('\n');
  run(['sfdisk', '--quiet', '--no-reread', '--no-tell-kernel', disk], { input: script });
  for (const [file, part] of [[fat, LAYOUT.fat], [rootImg, LAYOUT.root]] as const) {
    run(['dd', `if=${file}`, `of=${disk}`, 'bs=1M', `seek=${part.offset / MIB}`, 'conv=notrunc,sparse', 'status=none'], { timeoutMs: 300_000 });
  }
}

/** Removes what a killed run left half-built (`...tmp-<pid>...` of a process that is gone). */
function removeAbandoned(cache: string): void {
  for (const name of readdirSync(cache)) {
    const pid = Number(/tmp-(\d+)/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(cache, name), { recursive: true, force: true });
  }
}

/** Returns the cached base image, building whichever layer is missing. */
export async function ensureBaseImage(cache = join(REPO, '.cache', 'vm')): Promise<BaseImage> {
  const startedAt = Date.now();
  mkdirSync(cache, { recursive: true });
  removeAbandoned(cache);
  const key = imageKey();
  const dir = join(cache, `image-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { kernelVersion: string };
    return { disk: join(dir, 'disk.img'), layout: LAYOUT, key, kernelVersion: manifest.kernelVersion, buildSeconds: 0, fromCache: { rootfs: true, image: true } };
  }
  const rootfs = await ensureRootfs(cache);
  log(`building the base card image ${key}`);
  const tmp = join(cache, `.image-${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const root = join(tmp, 'root');
  mkdirSync(root, { recursive: true });
  try {
    run(['tar', '--numeric-owner', '-xpf', rootfs.tar, '-C', root], { timeoutMs: 300_000 });
    customise(root);
    const version = kernelVersion(root);
    const packages = run(['dpkg-query', `--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package} ${Version}\\n']).stdout;
    buildFat(join(tmp, 'fat.img'), root, version);
    run(['mkfs.ext4', '-q', '-F', '-L', 'writable', '-d', root, join(tmp, 'root.img'), `${ROOT_SIZE / MIB}M`], { timeoutMs: 600_000 });
    rmSync(root, { recursive: true, force: true });
    assembleDisk(join(tmp, 'disk.img'), join(tmp, 'fat.img'), join(tmp, 'root.img'));
    rmSync(join(tmp, 'fat.img'));
    rmSync(join(tmp, 'root.img'));
    writeFileSync(join(tmp, 'packages.txt'), packages);
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ key, rootfs: rootfsKey(), suite: SUITE, mirror: MIRROR, kernelVersion: version, layout: LAYOUT, built: new Date().toISOString() }, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  // Only the current layers are kept: each is hundreds of megabytes.
  for (const name of readdirSync(cache)) {
    const stale = (name.startsWith('image-') && name !== `image-${key}`) || (name.startsWith('rootfs-') && name !== `rootfs-${rootfsKey()}.tar`);
    if (stale) rmSync(join(cache, name), { recursive: true, force: true });
  }
  const buildSeconds = (Date.now() - startedAt) / 1000;
  log(`base image ready in ${buildSeconds.toFixed(0)} s (${statSync(join(dir, 'disk.img')).blocks * 512 / MIB | 0} MiB on disk)`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kernelVersion: string };
  return { disk: join(dir, 'disk.img'), layout: LAYOUT, key, kernelVersion: manifest.kernelVersion, buildSeconds, fromCache: { rootfs: rootfs.cached, image: false } };
}
