// pi-seed build --tar: the archive is byte-identical whatever the umask, time zone and time of
// day, its entries are sorted with fixed owner, mtime and modes, and it holds what build writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { REPO, readTree, runCli, seedWorkspace, testWithTools } from './helpers.js';

const seedConfig = (): string => seedWorkspace('pi-seed-tar-').config;

/** Runs the shipped CLI under a shell with the given umask and time zone; returns stdout bytes. */
function cliUnder(umask: string, tz: string, args: string[]): Buffer {
  const result = spawnSync('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, join(REPO, 'bin', 'pi-seed.js'), ...args], { env: { ...process.env, TZ: tz } });
  assert.is(result.status, 0, result.stderr.toString());
  return result.stdout;
}

async function entries(archive: Buffer): Promise<Array<{ header: Header; content: Buffer }>> {
  const found: Array<{ header: Header; content: Buffer }> = [];
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      found.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  reader.end(archive);
  await done;
  return found;
}

test('byte-identical across umasks, time zones, runs, files and stdout', () => {
  const config = seedConfig();
  const dir = join(config, '..');
  cliUnder('077', 'Pacific/Chatham', ['build', '--config', config, '--tar', join(dir, 'a.tar')]);
  cliUnder('002', 'America/Los_Angeles', ['build', '--config', config, '--tar', join(dir, 'b.tar')]);
  const piped = cliUnder('022', 'UTC', ['build', '--config', config, '--tar', '-']);
  const a = readFileSync(join(dir, 'a.tar'));
  assert.ok(a.equals(readFileSync(join(dir, 'b.tar'))), 'umask 077/Chatham and umask 002/Los Angeles differ');
  assert.ok(a.equals(piped), 'the file and standard output differ');
  // The archive holds node keys, so the file is private whatever the umask.
  assert.is(statSync(join(dir, 'b.tar')).mode & 0o777, 0o600);
});

test('entries are sorted, owned by 0:0 with empty names, mtime 0, modes fixed; contents match build', async () => {
  const config = seedConfig();
  const dir = join(config, '..');
  assert.is((await runCli(['build', '--config', config, '--tar', join(dir, 'seeds.tar')])).code, 0);
  assert.is((await runCli(['build', '--config', config, '--out', join(dir, 'out')])).code, 0);
  const found = await entries(readFileSync(join(dir, 'seeds.tar')));
  const names = found.map((e) => e.header.name);
  assert.equal(names, [...names].sort());
  assert.equal(names.filter((n) => n.endsWith('/')), ['mas01/', 'work01/', 'work02/']);
  const built = readTree(join(dir, 'out'));
  const files = found.filter((e) => e.header.type === 'file');
  assert.equal(files.map((e) => e.header.name), [...built.keys()].filter((p) => p.includes('/')).sort());
  for (const { header, content } of found) {
    assert.is(header.mtime?.getTime(), 0, header.name);
    assert.is(header.uid, 0);
    assert.is(header.gid, 0);
    assert.is(header.uname, '');
    assert.is(header.gname, '');
    const mode = header.type === 'directory' ? 0o755 : header.name.endsWith('/pi-seed-node.key') ? 0o600 : 0o644;
    assert.is(header.mode, mode, header.name);
    if (header.type === 'file') assert.ok(content.equals(built.get(header.name)!), `${header.name} differs from build's`);
  }
});

test('--node picks one node', async () => {
  const config = seedConfig();
  const tarFile = join(config, '..', 'one.tar');
  assert.is((await runCli(['build', '--config', config, '--node', 'work01', '--tar', tarFile])).code, 0);
  const names = (await entries(readFileSync(tarFile))).map((e) => e.header.name);
  assert.equal(names, ['work01/', 'work01/cmdline.txt', 'work01/meta-data', 'work01/network-config', 'work01/pi-seed-node.key', 'work01/user-data']);
});

testWithTools('GNU tar lists the archive: modes, owners and the fixed time', ['tar'], async () => {
  const config = seedConfig();
  const tarFile = join(config, '..', 'one.tar');
  assert.is((await runCli(['build', '--config', config, '--node', 'work01', '--tar', tarFile])).code, 0);
  const listed = spawnSync('tar', ['-tvf', tarFile], { encoding: 'utf8' });
  assert.is(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /-rw------- 0\/0 .* 1970-01-01 \d\d:\d\d work01\/pi-seed-node\.key/);
});

test('--tar and --check exclude each other', async () => {
  const config = seedConfig();
  assert.is((await runCli(['build', '--config', config, '--tar', 'x.tar', '--check'])).code, 2);
});

test.run();
