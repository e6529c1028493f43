// Which command line the Pi firmware reads (src/emit/boot-config.ts), and `pi-seed write` on a
// card of each layout: Ubuntu up to 24.04 reads cmdline.txt in the partition root; 25.10+ boots
// A/B and reads current/cmdline.txt (new/cmdline.txt in tryboot), never the root's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firmwareCmdlines } from '../src/emit/boot-config.js';
import { UBUNTU } from '../src/spec/v1/support.js';
import { readTree, runCli, seedWorkspace } from './helpers.js';

const none = () => null;

/**
 * The layout of Ubuntu 26.04's config.txt (canonical/pi-gadget, branch classic,
 * configs/resolute-arm64-server/config.txt): the os_prefix block first, then the usual settings.
 */
export const RESOLUTE_CONFIG = [
  '[all]',
  'os_prefix=current/',
  '',
  '[tryboot]',
  'os_prefix=new/',
  '',
  '[all]',
  'arm_64bit=1',
  'kernel=vmlinuz',
  'cmdline=cmdline.txt',
  'initramfs initrd.img followkernel',
  '',
  '[pi4]',
  'max_framebuffers=2',
  '',
  '[all]',
  'enable_uart=1',
  '',
].join('\n');
const NOBLE_CONFIG = '[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n\n[pi4]\nmax_framebuffers=2\n\n[all]\narm_64bit=1\n';

const TABLE: Array<{ name: string; config: string; board?: 'pi3b' | 'pi4' | 'pi5'; files?: Record<string, string>; boot: string[]; tryboot: string[] }> = [
  { name: '24.04: the root cmdline.txt, in both modes', config: NOBLE_CONFIG, boot: ['cmdline.txt'], tryboot: ['cmdline.txt'] },
  { name: '26.04 (A/B): current/, and new/ in tryboot', config: RESOLUTE_CONFIG, boot: ['current/cmdline.txt'], tryboot: ['new/cmdline.txt'] },
  { name: 'no cmdline= at all: the firmware default name', config: '[all]\nkernel=vmlinuz\n', boot: ['cmdline.txt'], tryboot: ['cmdline.txt'] },
  { name: 'a model section applies to its board only', config: '[pi4]\ncmdline=pi4.txt\n[pi5]\ncmdline=pi5.txt\n[all]\n', board: 'pi5', boot: ['pi5.txt'], tryboot: ['pi5.txt'] },
  { name: 'a model section of another board is ignored', config: '[pi4]\ncmdline=pi4.txt\n[all]\n', board: 'pi3b', boot: ['cmdline.txt'], tryboot: ['cmdline.txt'] },
  { name: '[cm4] applies to a CM4 only, [pi4] to every Pi 4: a "pi4" may be either', config: '[pi4]\ncmdline=a.txt\n[cm4]\ncmdline=b.txt\n[all]\n', board: 'pi4', boot: ['a.txt', 'b.txt'], tryboot: ['a.txt', 'b.txt'] },
  { name: 'an [all] inside an included file clears the filter of the file that included it', config: '[pi5]\ninclude extra.txt\ncmdline=after.txt\n', files: { 'extra.txt': '[all]\n' }, board: 'pi4', boot: ['after.txt'], tryboot: ['after.txt'] },
  { name: 'the last setting wins', config: 'cmdline=a.txt\ncmdline=b.txt\n', boot: ['b.txt'], tryboot: ['b.txt'] },
  { name: '[none] applies to nothing', config: '[none]\ncmdline=never.txt\n[all]\n', boot: ['cmdline.txt'], tryboot: ['cmdline.txt'] },
  { name: 'include reads the file in place (20.04/22.04 use syscfg.txt, usercfg.txt)', config: '[all]\ninclude syscfg.txt\n', files: { 'syscfg.txt': 'cmdline=from-syscfg.txt\n' }, boot: ['from-syscfg.txt'], tryboot: ['from-syscfg.txt'] },
  { name: 'an included file that is missing is skipped', config: 'include usercfg.txt\n', boot: ['cmdline.txt'], tryboot: ['cmdline.txt'] },
  { name: 'a filter pi-seed cannot evaluate keeps both outcomes', config: '[HDMI:0]\ncmdline=hdmi.txt\n[all]\n', boot: ['cmdline.txt', 'hdmi.txt'], tryboot: ['cmdline.txt', 'hdmi.txt'] },
  { name: 'comments, CRLF and a leading slash', config: '# the card\'s config\r\nos_prefix=/current/ # A/B\r\n', boot: ['current/cmdline.txt'], tryboot: ['current/cmdline.txt'] },
];

for (const row of TABLE) {
  test(`firmware command line: ${row.name}`, () => {
    const read = (name: string) => row.files?.[name] ?? null;
    assert.equal(firmwareCmdlines(row.config, row.files ? read : none, row.board), { boot: row.boot, tryboot: row.tryboot });
  });
}

/** A seed workspace for one Ubuntu release, built, with a stock card of that release's layout. */
async function workspace(release: '24.04' | '26.04', withNew = false): Promise<{ config: string; out: string; card: string }> {
  const { dir, config } = seedWorkspace('pi-seed-layout-');
  const text = readFileSync(config, 'utf8');
  assert.match(text, /^  ubuntu: "24\.04"$/m);
  writeFileSync(config, text.replace(/^  ubuntu: "24\.04"$/m, `  ubuntu: "${release}"`));
  const out = join(dir, 'out');
  const built = await runCli(['build', '--config', config, '--out', out]);
  assert.is(built.code, 0, built.stderr);
  const card = join(dir, 'system-boot');
  mkdirSync(card);
  const line = `${UBUNTU[release].defaultCmdline}\n`;
  if (release === '26.04') {
    writeFileSync(join(card, 'config.txt'), RESOLUTE_CONFIG);
    mkdirSync(join(card, 'current'));
    writeFileSync(join(card, 'current', 'cmdline.txt'), line);
    writeFileSync(join(card, 'current', 'state'), 'good\n');
    if (withNew) {
      mkdirSync(join(card, 'new'));
      writeFileSync(join(card, 'new', 'cmdline.txt'), line);
      writeFileSync(join(card, 'new', 'state'), 'unknown\n');
    }
  } else {
    writeFileSync(join(card, 'config.txt'), NOBLE_CONFIG);
    writeFileSync(join(card, 'cmdline.txt'), line);
  }
  return { config, out, card };
}

test('build puts the 26.04 command line where the firmware reads it: out/<node>/current/cmdline.txt', async () => {
  const { out } = await workspace('26.04');
  const files = readTree(join(out, 'mas01'));
  assert.ok(files.has('current/cmdline.txt'));
  assert.not.ok(files.has('cmdline.txt'), 'a root cmdline.txt would never be read');
  assert.is(files.get('current/cmdline.txt')!.toString(), `${UBUNTU['26.04'].defaultCmdline} cgroup_enable=memory cgroup_memory=1\n`);
  assert.match(files.get('current/cmdline.txt')!.toString(), /panic=10/);
});

test('write on a stock 26.04 card merges the flags into current/cmdline.txt and creates no root cmdline.txt', async () => {
  const { config, out, card } = await workspace('26.04');
  const result = await runCli(['write', '--config', config, '--node', 'mas01', '--to', card]);
  assert.is(result.code, 0, result.stderr);
  assert.is(readFileSync(join(card, 'current', 'cmdline.txt'), 'utf8'), readFileSync(join(out, 'mas01', 'current', 'cmdline.txt'), 'utf8'));
  assert.not.ok(existsSync(join(card, 'cmdline.txt')));
  assert.not.ok(existsSync(join(card, 'new')), 'no new/ is created: it exists only while new assets wait');
  assert.is(readFileSync(join(card, 'pi-seed-backup', 'current', 'cmdline.txt'), 'utf8'), `${UBUNTU['26.04'].defaultCmdline}\n`);
  assert.match(result.stderr, /current\/cmdline\.txt \(merged: \+cgroup_enable=memory \+cgroup_memory=1\)/);
  // A second write changes nothing.
  const again = await runCli(['write', '--config', config, '--node', 'mas01', '--to', card]);
  assert.match(again.stderr, /nothing changed/);
});

test('write on a 26.04 card with new boot assets waiting merges new/cmdline.txt too', async () => {
  const { config, card } = await workspace('26.04', true);
  const result = await runCli(['write', '--config', config, '--node', 'mas01', '--to', card]);
  assert.is(result.code, 0, result.stderr);
  for (const folder of ['current', 'new']) assert.match(readFileSync(join(card, folder, 'cmdline.txt'), 'utf8'), /panic=10 rootwait fixrtc cgroup_enable=memory cgroup_memory=1\n$/, folder);
});

test('write on a 24.04 card still merges the root cmdline.txt', async () => {
  const { config, out, card } = await workspace('24.04');
  const result = await runCli(['write', '--config', config, '--node', 'mas01', '--to', card]);
  assert.is(result.code, 0, result.stderr);
  assert.is(readFileSync(join(card, 'cmdline.txt'), 'utf8'), readFileSync(join(out, 'mas01', 'cmdline.txt'), 'utf8'));
  assert.not.ok(existsSync(join(card, 'current')));
});

test('a 26.04 card whose current/cmdline.txt is missing is refused, naming the file', async () => {
  const { config, card } = await workspace('26.04');
  rmSync(join(card, 'current', 'cmdline.txt'));
  const result = await runCli(['write', '--config', config, '--node', 'mas01', '--to', card]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /error\[not-a-boot-partition\].*no current\/cmdline\.txt/);
});

test.run();
