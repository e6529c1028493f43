// pi-seed bake on synthetic Ubuntu-like card images made here with Debian's tools (sfdisk,
// mkfs.vfat, mcopy, mkfs.ext4 -d; no root, no loop mounts): the node's files read back with mtools
// equal out/<node>/, cmdline.txt is merged, fsck.fat is clean, every byte outside the boot
// partition is unchanged, the output is sparse; bad input, a size limit and a signal leave no file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UBUNTU } from '../src/spec/v1/support.js';
import { REPO, builtSeedWorkspace, testWithTools, runCli, tempDir } from './helpers.js';

// fsck.fat, mkfs.vfat and sfdisk live in /usr/sbin, which is not on an ordinary user's PATH.
process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

const MiB = 2 ** 20;
const IMAGE_SIZE = 96 * MiB;
const BOOT_START = 1 * MiB;
const BOOT_SIZE = 64 * MiB; // FAT32 needs 65525 clusters: 64 MiB of 512-byte clusters
const WRITABLE_START = BOOT_START + BOOT_SIZE;
const SEED_FILES = ['user-data', 'network-config', 'meta-data', 'pi-seed-node.key', 'cmdline.txt'];

const TOOLS = ['sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'mcopy', 'mtype', 'mmd', 'mdel', 'xz', 'fsck.fat'];
/** A bake test: it builds and checks card images with these tools, so it is skipped (or fails in CI) without them. */
const bakeTest = (name: string, fn: () => unknown) => testWithTools(name, TOOLS, fn);

function run(command: string, args: string[], input?: string): Buffer {
  const result = spawnSync(command, args, { input, env: MTOOLS_ENV, maxBuffer: 256 * MiB });
  assert.is(result.status, 0, `${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr?.toString()}`);
  return result.stdout;
}

/** The boot partition's stock files, as an Ubuntu image ships them (firmware shortened to 1 MiB of noise). */
const stockBootFiles = (): Record<string, Buffer> => ({
  'config.txt': Buffer.from('[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n\n[all]\ndtparam=audio=on\narm_64bit=1\nenable_uart=1\n'),
  'cmdline.txt': Buffer.from(`${UBUNTU['24.04'].defaultCmdline}\n`),
  'user-data': Buffer.from('#cloud-config\nchpasswd:\n  expire: true\n  users:\n  - name: ubuntu\n    password: ubuntu\n    type: text\n'),
  'network-config': Buffer.from('version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    optional: true\n'),
  'meta-data': Buffer.from('instance-id: cloud-image\n'),
  'start4.elf': randomBytes(MiB),
});

interface Card {
  image: string;
  bootFiles: Record<string, Buffer>;
}

/** A 96 MiB sparse card: FAT32 `label` at 1 MiB (64 MiB), ext4 `writable` after it with known content. */
function makeCard(dir: string, name: string, scheme: 'mbr' | 'gpt', label = 'system-boot', extra: Record<string, Buffer> = {}): Card {
  const image = join(dir, name);
  const files = join(dir, `${name}.files`);
  mkdirSync(join(files, 'root', 'etc'), { recursive: true });
  writeFileSync(join(files, 'root', 'etc', 'hostname'), 'ubuntu\n');
  writeFileSync(join(files, 'root', 'etc', 'blob'), randomBytes(2 * MiB));
  run('truncate', ['-s', String(IMAGE_SIZE), image]);
  const sectors = (bytes: number) => bytes / 512;
  const table =
    scheme === 'mbr'
      ? `label: dos\nstart=${sectors(BOOT_START)}, size=${sectors(BOOT_SIZE)}, type=c, bootable\nstart=${sectors(WRITABLE_START)}, type=83\n`
      : `label: gpt\nstart=${sectors(BOOT_START)}, size=${sectors(BOOT_SIZE)}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="system-boot"\nstart=${sectors(WRITABLE_START)}, size=${sectors(IMAGE_SIZE - WRITABLE_START - MiB)}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="writable"\n`;
  run('sfdisk', ['-q', image], table);
  run('mkfs.vfat', ['-F', '32', '-s', '1', '-n', label, '--offset', String(sectors(BOOT_START)), image, String(BOOT_SIZE / 1024)]);
  run('mkfs.ext4', ['-q', '-L', 'writable', '-d', join(files, 'root'), '-E', `offset=${WRITABLE_START},nodiscard`, image, `${(IMAGE_SIZE - WRITABLE_START - MiB) / 1024}k`]);
  const bootFiles = { ...stockBootFiles(), ...extra };
  for (const [file, content] of Object.entries(bootFiles)) writeFileSync(join(files, file), content);
  run('mcopy', ['-i', `${image}@@${BOOT_START}`, ...Object.keys(bootFiles).map((f) => join(files, f)), '::/']);
  return { image, bootFiles };
}

interface Fixtures {
  dir: string;
  config: string;
  out: string;
  mbr: Card;
  gpt: Card;
  xz: string;
}

let fixtures: Fixtures | undefined;
/** Built once for the file: the seed cluster with a fixed key, its out/, and the card images. */
async function setUp(): Promise<Fixtures> {
  if (fixtures) return fixtures;
  const { dir, config, out } = await builtSeedWorkspace('pi-seed-bake-');
  const mbr = makeCard(dir, 'ubuntu-mbr.img', 'mbr');
  run('xz', ['-T0', '-1', '-k', mbr.image]);
  fixtures = { dir, config, out, mbr, gpt: makeCard(dir, 'ubuntu-gpt.img', 'gpt'), xz: `${mbr.image}.xz` };
  return fixtures;
}

function sha256(file: string, start: number, end: number): string {
  const fd = openSync(file, 'r');
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(MiB);
  for (let at = start; at < end; ) {
    const n = readSync(fd, buffer, 0, Math.min(MiB, end - at), at);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    at += n;
  }
  closeSync(fd);
  return hash.digest('hex');
}

const fatFile = (image: string, name: string): Buffer => run('mtype', ['-i', `${image}@@${BOOT_START}`, `::/${name}`]);

/** Everything the issue asks of a baked image, for one node. */
function assertBaked(output: string, card: Card, node: string, f: Fixtures): void {
  const stat = statSync(output);
  assert.is(stat.mode & 0o777, 0o600, 'the image holds the node\'s key: owner only');
  assert.is(stat.size, IMAGE_SIZE, 'same size as the input image');
  assert.ok(stat.blocks * 512 < IMAGE_SIZE / 8, `sparse: ${stat.blocks * 512} bytes allocated for ${IMAGE_SIZE}`);
  for (const name of SEED_FILES) assert.ok(fatFile(output, name).equals(readFileSync(join(f.out, node, name))), `${name} in the image differs from out/${node}/${name}`);
  assert.is(fatFile(output, 'cmdline.txt').toString(), `${UBUNTU['24.04'].defaultCmdline} cgroup_enable=memory cgroup_memory=1\n`);
  for (const name of ['config.txt', 'start4.elf']) assert.ok(fatFile(output, name).equals(card.bootFiles[name]!), `${name} changed`);
  assert.is(sha256(output, 0, BOOT_START), sha256(card.image, 0, BOOT_START), 'bytes before the boot partition changed');
  assert.is(sha256(output, WRITABLE_START, IMAGE_SIZE), sha256(card.image, WRITABLE_START, IMAGE_SIZE), 'the writable partition (or what follows) changed');
  const partition = join(tempDir('pi-seed-fsck-'), 'system-boot.fat');
  run('dd', [`if=${output}`, `of=${partition}`, `bs=${MiB}`, `skip=${BOOT_START / MiB}`, `count=${BOOT_SIZE / MiB}`, 'conv=sparse', 'status=none']);
  const fsck = spawnSync('fsck.fat', ['-n', partition], { encoding: 'utf8' });
  assert.is(fsck.status, 0, `fsck.fat -n: ${fsck.stdout}${fsck.stderr}`);
  assert.not.match(fsck.stdout, /differences|dirty|error/i);
  rmSync(join(partition, '..'), { recursive: true });
}

/** Temporary or output files bake left in a folder (the fixtures themselves excluded). */
const leftovers = (dir: string, keep: readonly string[] = []): string[] => readdirSync(dir).filter((n) => !keep.includes(n) && (n.startsWith('.') || n.endsWith('.img')));

/** Bakes one node's image from `image` into the fixtures folder and runs every check on it. */
async function bakeAndCheck(image: (f: Fixtures) => string, card: (f: Fixtures) => Card, node: string): Promise<string> {
  const f = await setUp();
  const output = join(f.dir, `${node}-from-${image(f).split('/').pop()}.img`);
  const result = await runCli(['bake', '--config', f.config, '--image', image(f), '--node', node, '-o', output]);
  assert.is(result.code, 0, result.stderr);
  assertBaked(output, card(f), node, f);
  return result.stderr;
}

bakeTest('an MBR .img: the seed goes into system-boot and nothing else changes', async () => {
  const report = await bakeAndCheck((f) => f.mbr.image, (f) => f.mbr, 'mas01');
  assert.match(report, /system-boot is partition 1 \(MBR, 64 MiB at 1 MiB\)/);
  assert.match(report, /cmdline\.txt merged \(\+cgroup_enable=memory \+cgroup_memory=1\); fsck\.fat -n: clean/);
});

bakeTest('a folder passed as --image is named as such', async () => {
  const f = await setUp();
  const result = await runCli(['bake', '--config', f.config, '--image', f.dir, '--node', 'mas01', '-o', join(f.dir, 'x.img')]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /error\[image-is-a-folder\]: .* is a folder, not an image/);
});

bakeTest('an existing output image is not replaced without --force', async () => {
  const f = await setUp();
  const output = join(f.dir, 'existing.img');
  writeFileSync(output, 'an image the user still needs');
  const refused = await runCli(['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '-o', output]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /error\[image-exists\]: .*existing\.img already exists\n  = hint: pass --force/);
  assert.is(readFileSync(output, 'utf8'), 'an image the user still needs');
  const forced = await runCli(['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '-o', output, '--force']);
  assert.is(forced.code, 0, forced.stderr);
  assertBaked(output, f.mbr, 'mas01', f);
  rmSync(output);
});

bakeTest('a 26.04 (A/B boot) image: the flags go into current/cmdline.txt, new/ when it exists; no root cmdline.txt', async () => {
  const f = await setUp();
  const dir = join(f.dir, 'resolute');
  mkdirSync(dir, { recursive: true });
  const card = makeCard(dir, 'ubuntu-26.04.img', 'mbr', 'system-boot', { 'config.txt': Buffer.from('[all]\nos_prefix=current/\n\n[tryboot]\nos_prefix=new/\n\n[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n') });
  const drive = `${card.image}@@${BOOT_START}`;
  run('mdel', ['-i', drive, '::/cmdline.txt']);
  const line = Buffer.from(`${UBUNTU['26.04'].defaultCmdline}\n`);
  const files = join(dir, 'files');
  mkdirSync(files);
  writeFileSync(join(files, 'cmdline.txt'), line);
  for (const folder of ['current', 'new']) {
    run('mmd', ['-i', drive, `::/${folder}`]);
    run('mcopy', ['-i', drive, join(files, 'cmdline.txt'), `::/${folder}/cmdline.txt`]);
  }
  const output = join(dir, 'mas01.img');
  const result = await runCli(['bake', '--config', f.config, '--image', card.image, '--node', 'mas01', '-o', output]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /current\/cmdline\.txt merged \(\+cgroup_enable=memory \+cgroup_memory=1\), new\/cmdline\.txt merged/);
  for (const folder of ['current', 'new']) assert.is(fatFile(output, `${folder}/cmdline.txt`).toString(), `${UBUNTU['26.04'].defaultCmdline} cgroup_enable=memory cgroup_memory=1\n`, folder);
  assert.is(spawnSync('mtype', ['-i', `${output}@@${BOOT_START}`, '::/cmdline.txt'], { env: MTOOLS_ENV }).status, 1, 'no cmdline.txt in the root');
  const fsck = spawnSync('sh', ['-c', `dd if=${output} bs=1M skip=1 count=64 status=none of=${output}.fat && fsck.fat -n ${output}.fat`], { encoding: 'utf8' });
  assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
  rmSync(dir, { recursive: true });
});

bakeTest('an .img.xz, decompressed as a stream, gives the same checks', async () => {
  await bakeAndCheck((f) => f.xz, (f) => f.mbr, 'work01');
});

bakeTest('a GPT image: system-boot found there too', async () => {
  assert.match(await bakeAndCheck((f) => f.gpt.image, (f) => f.gpt, 'work02'), /partition 1 \(GPT, 64 MiB at 1 MiB\)/);
});

bakeTest('--all: one image per node from one decompression; -o is a pattern or a folder', async () => {
  const f = await setUp();
  const result = await runCli(['bake', '--config', f.config, '--image', f.xz, '--all', '-o', join(f.dir, 'all', 'pi-{node}.img')]);
  assert.is(result.code, 0, result.stderr);
  for (const node of ['mas01', 'work01', 'work02']) assertBaked(join(f.dir, 'all', `pi-${node}.img`), f.mbr, node, f);
  assert.equal(readdirSync(join(f.dir, 'all')).sort(), ['pi-mas01.img', 'pi-work01.img', 'pi-work02.img']);
  assert.is((await runCli(['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '--node', 'work01', '-o', join(f.dir, 'folder')])).code, 0);
  assert.equal(readdirSync(join(f.dir, 'folder')).sort(), ['mas01.img', 'work01.img']);
  assert.is((await runCli(['bake', '--config', f.config, '--image', f.xz])).code, 2, 'neither --node nor --all');
});

bakeTest('baking the same image twice gives an image with the same files (the input stays untouched)', async () => {
  const f = await setUp();
  const before = sha256(f.mbr.image, 0, IMAGE_SIZE);
  const output = join(f.dir, 'twice.img');
  for (let i = 0; i < 2; i++) assert.is((await runCli(['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '-o', output, ...(i === 1 ? ['--force'] : [])])).code, 0);
  assertBaked(output, f.mbr, 'mas01', f);
  assert.is(sha256(f.mbr.image, 0, IMAGE_SIZE), before);
  const same = await runCli(['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '-o', f.mbr.image]);
  assert.match(same.stderr, /error\[output-is-input\]/);
});

bakeTest('a truncated .xz, no system-boot, no disk image, a full boot partition, no image: a clear error and no file left', async () => {
  const f = await setUp();
  const dir = join(f.dir, 'errors');
  mkdirSync(dir);
  const xz = readFileSync(f.xz);
  writeFileSync(join(dir, 'truncated.img.xz'), xz.subarray(0, Math.floor(xz.length / 2)));
  const noBoot = makeCard(dir, 'no-boot.img', 'mbr', 'FIRMWARE');
  writeFileSync(join(dir, 'random.img'), randomBytes(3 * MiB));
  // The 64 MiB FAT holds 63 MiB of files; this firmware leaves about 38 KiB, less than user-data needs.
  makeCard(dir, 'full-boot.img', 'mbr', 'system-boot', { 'firmware.bin': randomBytes(61 * MiB + 980 * 1024) });
  const cases: Array<[string, RegExp]> = [
    ['truncated.img.xz', /error\[image-corrupt\]: cannot decompress .*truncated\.img\.xz: Unexpected end of input\n {2}= hint: .*download it again/],
    ['no-boot.img', /error\[no-boot-partition\]: .*no-boot\.img has no FAT partition labelled system-boot \(2 partitions checked\)/],
    ['random.img', /error\[no-partition-table\]: .*random\.img has no MBR or GPT partition table/],
    ['full-boot.img', /error\[boot-partition-full\]: the system-boot partition has no room for the seed files/],
    ['missing.img.xz', /error\[no-such-image\]: cannot read the image .*missing\.img\.xz: no such file/],
  ];
  const inputs = readdirSync(dir);
  for (const [input, expected] of cases) {
    const result = await runCli(['bake', '--config', f.config, '--image', join(dir, input), '--node', 'mas01', '-o', join(dir, 'out.img')]);
    assert.is(result.code, 1, input);
    assert.match(result.stderr, expected);
    assert.equal(leftovers(dir, inputs), [], `${input} left files behind`);
  }
  assert.ok(existsSync(noBoot.image));
});

/** Runs the shipped CLI (bin/pi-seed.js) through sh, for what needs a process of its own. */
function shippedCli(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('/bin/sh', ['-c', script, process.execPath, join(REPO, 'bin', 'pi-seed.js'), ...args], { encoding: 'utf8', env });
}

bakeTest('a file-size limit or a full disk (EFBIG, ENOSPC) stops the bake cleanly with no partial output', async () => {
  const f = await setUp();
  const dir = join(f.dir, 'limited');
  mkdirSync(dir);
  // A 40000-block limit (20 or 40 MB, by the shell's unit) is far below the 96 MiB image.
  for (const image of [f.mbr.image, f.xz]) {
    const result = shippedCli('trap "" XFSZ; ulimit -f 40000; exec "$0" "$@"', ['bake', '--config', f.config, '--image', image, '--node', 'mas01', '-o', join(dir, 'big.img')]);
    assert.is(result.status, 1, result.stderr);
    assert.match(result.stderr, /error\[file-too-large-for-disk\]: .*big\.img is larger than this file system or your file-size limit allows/);
    assert.equal(readdirSync(dir), []);
  }
});

bakeTest('a signal mid-way (Ctrl-C, SIGTERM) removes the temporary file; the process dies of that signal', async () => {
  const f = await setUp();
  const dir = join(f.dir, 'signal');
  mkdirSync(dir);
  const fifo = join(dir, 'slow.img');
  run('mkfifo', [fifo]);
  const child = spawn(process.execPath, [join(REPO, 'bin', 'pi-seed.js'), 'bake', '--config', f.config, '--image', fifo, '--node', 'mas01', '-o', join(dir, 'out.img')], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Feed the first 4 MiB, then nothing: bake has started writing and waits for more.
  const writer = openSync(fifo, 'w');
  writeSync(writer, readFileSync(f.mbr.image).subarray(0, 4 * MiB));
  const deadline = Date.now() + 20_000;
  while (!readdirSync(dir).some((n) => n.startsWith('.out.img.pi-seed-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(readdirSync(dir).some((n) => n.startsWith('.out.img.pi-seed-')), 'bake never created its temporary file');
  child.kill('SIGTERM');
  assert.is(await exited, 'SIGTERM');
  closeSync(writer);
  assert.equal(readdirSync(dir), ['slow.img']);
});

bakeTest('without mtools: a clear error with the install hint', async () => {
  const f = await setUp();
  const empty = tempDir('pi-seed-nopath-');
  const result = shippedCli('exec "$0" "$@"', ['bake', '--config', f.config, '--image', f.mbr.image, '--node', 'mas01', '-o', join(empty, 'x.img')], { ...process.env, PATH: empty });
  assert.is(result.status, 1);
  assert.match(result.stderr, /error\[missing-tool\]: mdir is not installed; pi-seed needs it to write into the image's FAT partition\n {2}= hint: install it: apt-get install mtools/);
  assert.equal(readdirSync(empty), []);
});

test.after(() => {
  if (fixtures) rmSync(fixtures.dir, { recursive: true, force: true });
});

test.run();
