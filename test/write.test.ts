// pi-seed write into a folder that mimics a mounted Ubuntu boot partition: the check for a boot
// partition, backups of the card's originals, the cmdline.txt merge, idempotence, --dry-run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UBUNTU } from '../src/spec/v1/support.js';
import { builtSeedWorkspace, readTree, runCli } from './helpers.js';

const STOCK = {
  'config.txt': '[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\narm_64bit=1\n',
  'cmdline.txt': `${UBUNTU['24.04'].defaultCmdline}\n`,
  'user-data': '#cloud-config\n# Ubuntu\'s stock user-data: expire the default password\nchpasswd:\n  expire: true\n',
  'network-config': 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    optional: true\n',
  'meta-data': 'instance-id: stock\n',
};

/** A workspace with the seed config, a fixed cluster key, its built out/ and a stock card. */
async function workspace(): Promise<{ dir: string; config: string; card: string; out: string }> {
  const { dir, config, out } = await builtSeedWorkspace('pi-seed-write-');
  const card = join(dir, 'system-boot');
  mkdirSync(card);
  for (const [name, content] of Object.entries(STOCK)) writeFileSync(join(card, name), content);
  return { dir, config, card, out };
}

const write = (config: string, card: string, ...extra: string[]) => runCli(['write', '--config', config, '--node', 'mas01', '--to', card, ...extra]);

test('writes the node\'s files, merges cmdline.txt and backs up the originals', async () => {
  const { config, card, out } = await workspace();
  const result = await write(config, card);
  assert.is(result.code, 0, result.stderr);
  for (const name of ['user-data', 'network-config', 'meta-data', 'pi-seed-node.key', 'cmdline.txt']) {
    assert.ok(readFileSync(join(card, name)).equals(readFileSync(join(out, 'mas01', name))), `${name} differs from out/mas01/${name}`);
  }
  assert.is(readFileSync(join(card, 'config.txt'), 'utf8'), STOCK['config.txt']);
  const backup = readTree(join(card, 'pi-seed-backup'));
  for (const name of ['user-data', 'network-config', 'meta-data', 'cmdline.txt']) assert.is(backup.get(name)?.toString(), STOCK[name as keyof typeof STOCK], name);
  assert.not.ok(backup.has('pi-seed-node.key'), 'the secret key must never be copied into the backup');
  assert.is(backup.get('added-by-pi-seed.txt')?.toString(), 'pi-seed-node.key\n');
  assert.equal(readdirSync(card).filter((n) => n.startsWith('.')), [], 'no temporary file is left on the card');
});

test('a second write gives the same card, and the backups stay the originals', async () => {
  const { config, card } = await workspace();
  // What a card pulled in the middle of a write leaves: a temporary file beside the old one.
  writeFileSync(join(card, '.user-data.pi-seed-4242-0badcafe'), '#cloud-config\nhalf');
  await write(config, card);
  assert.not.ok(existsSync(join(card, '.user-data.pi-seed-4242-0badcafe')), 'the next write removes it');
  const once = readTree(card);
  const second = await write(config, card);
  assert.is(second.code, 0);
  assert.match(second.stderr, /nothing changed/);
  assert.equal(readTree(card), once);
  // A changed cluster rewrites the seed, but the backup keeps the card's originals.
  writeFileSync(config, readFileSync(config, 'utf8').replace('timezone: Asia/Tokyo', 'timezone: Europe/Paris'));
  assert.is((await write(config, card)).code, 0);
  assert.match(readFileSync(join(card, 'user-data'), 'utf8'), /Europe\/Paris/);
  assert.is(readFileSync(join(card, 'pi-seed-backup', 'user-data'), 'utf8'), STOCK['user-data']);
  assert.is(readFileSync(join(card, 'pi-seed-backup', 'cmdline.txt'), 'utf8'), STOCK['cmdline.txt']);
});

test('--dry-run prints the plan and writes nothing, not even the secrets', async () => {
  const { dir, config, card } = await workspace();
  const before = readTree(card);
  const result = await write(config, card, '--dry-run');
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /dry run/);
  assert.match(result.stdout, /back up\s+user-data -> pi-seed-backup\/user-data/);
  assert.match(result.stdout, /replace\s+cmdline\.txt \(merged: \+cgroup_enable=memory \+cgroup_memory=1\)/);
  assert.match(result.stdout, /create\s+pi-seed-node\.key/);
  assert.equal(readTree(card), before);
  // Without secrets, a dry run does not create them either.
  const fresh = join(dir, 'fresh');
  mkdirSync(fresh);
  copyFileSync(config, join(fresh, 'cluster.yaml'));
  assert.is((await write(join(fresh, 'cluster.yaml'), card, '--dry-run')).code, 0);
  assert.not.ok(existsSync(join(fresh, 'cluster.secrets.yaml')));
  assert.equal(readTree(card), before);
});

test('refuses a folder that is not a boot partition unless --force; a card without cmdline.txt gets pi-seed\'s line', async () => {
  const { config, dir, out } = await workspace();
  const home = join(dir, 'not-a-card');
  mkdirSync(home);
  const refused = await write(config, home);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /error\[not-a-boot-partition\]: .* \(no config\.txt\)/);
  assert.match(refused.stderr, /hint: .*--force/);
  assert.equal(readdirSync(home), []);
  // config.txt alone: the command line it names is missing.
  writeFileSync(join(home, 'config.txt'), STOCK['config.txt']);
  assert.match((await write(config, home)).stderr, /error\[not-a-boot-partition\]: .* \(no cmdline\.txt\)/);
  rmSync(join(home, 'config.txt'));
  assert.is((await write(config, home, '--force')).code, 0);
  assert.ok(readFileSync(join(home, 'cmdline.txt')).equals(readFileSync(join(out, 'mas01', 'cmdline.txt'))));
  const missing = await write(config, join(dir, 'nowhere'), '--force');
  assert.match(missing.stderr, /error\[not-a-folder\]/);
});

test('a wrong --to is refused before cluster.secrets.yaml is created', async () => {
  const { dir } = await workspace();
  const fresh = join(dir, 'fresh');
  mkdirSync(fresh);
  copyFileSync(join(dir, 'cluster.yaml'), join(fresh, 'cluster.yaml'));
  for (const to of [join(dir, 'nowhere'), join(dir, 'not-a-card')]) {
    mkdirSync(join(dir, 'not-a-card'), { recursive: true });
    const refused = await write(join(fresh, 'cluster.yaml'), to);
    assert.is(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /error\[not-a-(folder|boot-partition)\]/);
    assert.not.ok(existsSync(join(fresh, 'cluster.secrets.yaml')), `a refused write to ${to} created the secrets file`);
  }
});

test('keeps a customised cmdline.txt and adds only the missing flags', async () => {
  const { config, card } = await workspace();
  writeFileSync(join(card, 'cmdline.txt'), 'console=tty1 root=PARTUUID=abcd-02 rootwait cgroup_memory=1 usb-storage.quirks=152d:0578:u\n');
  assert.is((await write(config, card)).code, 0);
  assert.is(readFileSync(join(card, 'cmdline.txt'), 'utf8'), 'console=tty1 root=PARTUUID=abcd-02 rootwait cgroup_memory=1 usb-storage.quirks=152d:0578:u cgroup_enable=memory\n');
});

test('write needs exactly one node', async () => {
  const { config, card } = await workspace();
  assert.is((await runCli(['write', '--config', config, '--to', card])).code, 2);
  assert.is((await runCli(['write', '--config', config, '--node', 'mas01,work01', '--to', card])).code, 2);
  const unknown = await runCli(['write', '--config', config, '--node', 'mas1', '--to', card]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /did you mean "mas01"/);
});

test.run();
