// P-bake: `pi-seed bake` of a 4 GiB, mostly empty .img.xz against plain decompression
// (`xz -dc image.img.xz > plain.img`) of the same file, both timed in this run on this machine,
// interleaved so both see the same background load. Target: ratio <= 1.10.
// Run: npm run build && node bench/bake.mjs [runs]   (needs xz, sfdisk, mkfs.vfat, mkfs.ext4, mtools)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI, median, seedConfig, tempDir } from './lib.mjs';

const runs = Number(process.argv[2] ?? 3);
const MiB = 2 ** 20;
const IMAGE_SIZE = 4096 * MiB;
// 512 MiB as on Ubuntu 24.04 images (smaller FAT32 volumes fall under the 65525-cluster minimum).
const BOOT = { start: 1 * MiB, size: 512 * MiB };
const STOCK_CMDLINE = 'console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc\n';

function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', ...options });
  if (result.error || result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.error?.message ?? result.stderr}`);
  return result;
}

function seconds(argv, options) {
  const started = process.hrtime.bigint();
  run(argv, options);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** An Ubuntu-like card: a FAT32 system-boot partition with config.txt and cmdline.txt, and an ext4 writable partition holding 32 MiB of random data. */
function makeImage(dir) {
  const image = join(dir, 'ubuntu-like.img');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'data.bin'), randomBytes(32 * MiB));
  writeFileSync(join(dir, 'config.txt'), '[all]\narm_64bit=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n');
  writeFileSync(join(dir, 'cmdline.txt'), STOCK_CMDLINE);
  run(['truncate', '-s', String(IMAGE_SIZE), image]);
  const writableStart = BOOT.start + BOOT.size;
  run(['sfdisk', '-q', image], { input: `label: dos\nstart=${BOOT.start / 512}, size=${BOOT.size / 512}, type=c, bootable\nstart=${writableStart / 512}, type=83\n` });
  run(['mkfs.vfat', '-F', '32', '-n', 'system-boot', '--offset', String(BOOT.start / 512), image, String(BOOT.size / 1024)]);
  run(['mkfs.ext4', '-q', '-L', 'writable', '-d', root, '-E', `offset=${writableStart}`, image, `${(IMAGE_SIZE - writableStart) / 1024}k`]);
  run(['mcopy', '-i', `${image}@@${BOOT.start}`, join(dir, 'config.txt'), join(dir, 'cmdline.txt'), '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  run(['xz', '-T0', '-1', '-k', image]);
  rmSync(image);
  return `${image}.xz`;
}

const dir = tempDir();
try {
  const config = seedConfig();
  console.log('creating a 4 GiB sparse Ubuntu-like image and compressing it with xz (about a minute) ...');
  const xzImage = makeImage(dir);
  const plain = join(dir, 'plain.img');
  const baked = join(dir, 'baked.img');
  const decompress = [];
  const bake = [];
  for (let i = 0; i < runs; i++) {
    decompress.push(seconds(['sh', '-c', 'xz -dc "$1" > "$2"', 'sh', xzImage, plain]));
    rmSync(plain);
    bake.push(seconds([process.execPath, CLI, 'bake', '--config', config, '--image', xzImage, '--node', 'mas01', '-o', baked]));
    const { size, blocks } = statSync(baked);
    if (i === runs - 1) console.log(`baked image: ${(size / MiB).toFixed(0)} MiB, ${((blocks * 512) / MiB).toFixed(1)} MiB on disk (sparse)`);
    rmSync(baked);
  }
  const ratio = median(bake) / median(decompress);
  console.log(`P-bake: 4 GiB .img.xz (${runs} runs each, median)`);
  console.log(`  xz -dc image.xz > plain.img   ${median(decompress).toFixed(2)} s`);
  console.log(`  pi-seed bake                  ${median(bake).toFixed(2)} s`);
  console.log(`  ratio                         ${ratio.toFixed(3)}x   (target <= 1.10x: ${ratio <= 1.1 ? 'met' : 'NOT met'})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
