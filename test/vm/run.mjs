#!/usr/bin/env node
// Runs the VM suite (test/vm/suite.ts, compiled to dist/test/vm/suite.js) under a hard time
// bound: `npm run test:vm`. Checks the prerequisites first: with CI=true a missing one fails the
// run; elsewhere the suite is skipped with a loud message. Whatever happens, the suite's VMs and
// network namespace are gone when this ends. Ends with the "N passed, N failed" line CI reads.
//
// PI_SEED_VM_TIMEOUT: the hard bound in seconds (default 2700: both scenarios, about 15 + 20
// minutes on 2 cores under TCG, plus slack; PI_SEED_VM_SCENARIOS runs one of them).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO = process.cwd();
const SUITE = join(REPO, 'dist', 'test', 'vm', 'suite.js');
// The stand-ins (kubeadm, kubectl, the API server) the image carries.
const STAND_INS = join(REPO, 'dist', 'stand-ins', 'stand-ins.cjs');
const LIMIT_S = Number(process.env.PI_SEED_VM_TIMEOUT ?? 2700);
const CI = process.env.CI === 'true';
const RUN_ID = `${process.pid % 100000}`;
const NS = `pisvm-${RUN_ID}`;

function sh(argv) {
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
}

const has = (cmd) => sh(['sh', '-c', `command -v '${cmd}'`]).status === 0;

/** Everything the suite needs on this machine; [] when it can run. */
async function missingPrerequisites() {
  const missing = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, taps, mmdebstrap --mode=root)');
  if (!existsSync(SUITE)) missing.push(`${SUITE} (run npm run build first)`);
  if (!existsSync(STAND_INS)) missing.push(`${STAND_INS} (run node scripts/bundle-stand-ins.mjs first)`);
  const tools = {
    'qemu-system-x86_64': 'qemu-system-x86', 'qemu-img': 'qemu-utils', 'mkfs.vfat': 'dosfstools', mcopy: 'mtools', mtype: 'mtools', mdir: 'mtools', mmove: 'mtools', chronyd: 'chrony',
    sfdisk: 'fdisk', 'mkfs.ext4': 'e2fsprogs', debugfs: 'e2fsprogs', ip: 'iproute2', timeout: 'coreutils', tar: 'tar', 'dpkg-query': 'dpkg',
    // The HA scenario's desktop asks the VIP with curl --cacert.
    curl: 'curl',
  };
  for (const [cmd, pkg] of Object.entries(tools)) if (!has(cmd)) missing.push(`${cmd} (apt-get install ${pkg})`);
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun (taps for the VMs)');
  if (existsSync(SUITE) && existsSync(STAND_INS)) {
    // mmdebstrap (and the network) only when the base image is not cached yet.
    const image = await import(pathToFileURL(join(REPO, 'dist', 'test', 'vm', 'image.js')).href);
    const cached = existsSync(join(REPO, '.cache', 'vm', `image-${image.imageKey()}`, 'manifest.json')) || existsSync(join(REPO, '.cache', 'vm', `rootfs-${image.rootfsKey()}.tar`));
    if (!cached && !has('mmdebstrap')) missing.push('mmdebstrap (apt-get install mmdebstrap; the base image is not cached)');
  }
  if (process.getuid?.() === 0 && has('ip')) {
    const probe = `pisvmprobe${process.pid}`;
    const add = sh(['ip', 'netns', 'add', probe]);
    if (add.status !== 0) missing.push(`network namespaces (ip netns add: ${add.stderr.trim()})`);
    else {
      const tap = sh(['ip', '-n', probe, 'tuntap', 'add', 'dev', 'probe0', 'mode', 'tap']);
      if (tap.status !== 0) missing.push(`tap devices (${tap.stderr.trim()})`);
      sh(['ip', 'netns', 'del', probe]);
    }
  }
  return missing;
}

function removeNamespace() {
  const pids = (sh(['ip', 'netns', 'pids', NS]).stdout ?? '').split(/\s+/).filter(Boolean);
  if (pids.length) sh(['kill', '-9', ...pids]);
  sh(['ip', 'netns', 'del', NS]);
}

const missing = await missingPrerequisites();
if (missing.length) {
  const message = `the VM suite cannot run here; missing:\n  - ${missing.join('\n  - ')}`;
  if (CI) {
    console.error(`error: ${message}\n(CI=true: the VM suite must run; .ci/run must provide these)`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.warn(`\n!!! SKIPPED: ${message}\n`);
  console.log('0 passed, 0 failed, 1 skipped');
  process.exit(0);
}

const started = Date.now();
// The suite cuts its own waits and qemu lifetimes to this, leaving a minute to clean up.
const deadline = started + (LIMIT_S - 60) * 1000;
const child = spawn(process.execPath, [SUITE], {
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
  env: { ...process.env, PI_SEED_VM_DEADLINE_MS: String(deadline), PI_SEED_VM_RUN_ID: RUN_ID },
});
let summary = false;
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  if (/^\d+ passed, \d+ failed/m.test(String(d))) summary = true;
});
let timedOut = false;
const killGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
const hard = setTimeout(() => {
  timedOut = true;
  console.error(`\nerror: the VM suite hit its hard time bound of ${LIMIT_S} s; stopping it`);
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 30_000).unref();
}, LIMIT_S * 1000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killGroup('SIGTERM');
    setTimeout(() => {
      killGroup('SIGKILL');
      removeNamespace();
      process.exit(1);
    }, 15_000);
  });
}
const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
clearTimeout(hard);
// Belt and braces: nothing of this run survives it, even if the suite was killed.
removeNamespace();
console.log(`VM suite: ${((Date.now() - started) / 1000).toFixed(0)} s (bound ${LIMIT_S} s)`);
if (timedOut || !summary) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
process.exit(code === 0 ? 0 : 1);
