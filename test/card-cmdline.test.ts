// Merging pi-seed's kernel flags into a card's own cmdline.txt (src/emit/cmdline-merge.ts): the
// card's line is kept, missing flags are appended, conflicting values lose, merging is idempotent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cmdlineTokens, mergeCmdline, piSeedCmdlineFlags } from '../src/emit/cmdline-merge.js';
import { loadCluster } from '../src/pipeline.js';
import { cmdline } from '../src/render/boot-files.js';
import { UBUNTU } from '../src/spec/v1/support.js';
import { SEED_CONFIG } from './helpers.js';

const FLAGS = ['cgroup_enable=memory', 'cgroup_memory=1'];
const FALLBACK = 'root=LABEL=writable cgroup_enable=memory cgroup_memory=1\n';

test('a stock card of every release gets exactly the line pi-seed renders', () => {
  const plan = loadCluster(SEED_CONFIG).plan!;
  assert.equal(piSeedCmdlineFlags(plan), FLAGS);
  for (const [release, facts] of Object.entries(UBUNTU)) {
    const merged = mergeCmdline(`${facts.defaultCmdline}\n`, FLAGS, FALLBACK);
    assert.is(merged.text, `${facts.defaultCmdline} ${FLAGS.join(' ')}\n`, release);
    assert.equal(merged.added, FLAGS);
  }
  const stock = `${UBUNTU['24.04'].defaultCmdline}\n`;
  assert.is(mergeCmdline(stock, piSeedCmdlineFlags(plan), cmdline(plan)).text, cmdline(plan));
});

test('20.04 with Kubernetes 1.35+ also gets the unified cgroup hierarchy flag', () => {
  const plan = loadCluster(SEED_CONFIG).plan!;
  const old = { ...plan, os: { ...plan.os, ubuntu: '20.04' as const, cmdline: [...UBUNTU['20.04'].defaultCmdline.split(' '), ...FLAGS, 'systemd.unified_cgroup_hierarchy=1'] } };
  assert.equal(piSeedCmdlineFlags(old), [...FLAGS, 'systemd.unified_cgroup_hierarchy=1']);
});

test('the card\'s own tokens stay, in order, even ones pi-seed does not know', () => {
  const card = 'console=serial0,115200 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes quiet splash rootwait\n';
  const merged = mergeCmdline(card, FLAGS, FALLBACK);
  assert.is(merged.text, `${card.trimEnd()} cgroup_enable=memory cgroup_memory=1\n`);
  assert.equal(merged.removed, []);
});

test('merging twice changes nothing the second time, byte for byte', () => {
  const once = mergeCmdline('console=tty1 root=LABEL=writable  rootwait', FLAGS, FALLBACK);
  const twice = mergeCmdline(once.text, FLAGS, FALLBACK);
  assert.ok(once.changed);
  assert.not.ok(twice.changed);
  assert.is(twice.text, once.text);
  // A card that already has the flags (somewhere in its line) is left exactly as it was.
  const done = 'cgroup_memory=1 console=tty1 cgroup_enable=memory root=LABEL=writable';
  assert.is(mergeCmdline(done, FLAGS, FALLBACK).text, done);
});

test('cgroup_disable=memory loses memory; other controllers in its list stay', () => {
  assert.is(mergeCmdline('root=/dev/sda2 cgroup_disable=memory rootwait\n', FLAGS, FALLBACK).text, 'root=/dev/sda2 rootwait cgroup_enable=memory cgroup_memory=1\n');
  const list = mergeCmdline('root=/dev/sda2 cgroup_disable=cpuset,memory\n', FLAGS, FALLBACK);
  assert.is(list.text, 'root=/dev/sda2 cgroup_disable=cpuset cgroup_enable=memory cgroup_memory=1\n');
  assert.equal(list.removed, ['cgroup_disable=cpuset,memory']);
  assert.is(mergeCmdline(list.text, FLAGS, FALLBACK).changed, false);
});

test('a conflicting value of a flag pi-seed sets is replaced; repeatable keys are not', () => {
  const merged = mergeCmdline('root=/dev/sda2 cgroup_memory=0 cgroup_enable=cpuset\n', FLAGS, FALLBACK);
  assert.is(merged.text, 'root=/dev/sda2 cgroup_enable=cpuset cgroup_enable=memory cgroup_memory=1\n');
  assert.equal(merged.removed, ['cgroup_memory=0']);
  assert.equal(merged.added, FLAGS);
});

test('no cmdline.txt, or an empty one: pi-seed\'s whole line', () => {
  for (const card of [null, '', '  \n']) {
    const merged = mergeCmdline(card, FLAGS, FALLBACK.trimEnd());
    assert.is(merged.text, FALLBACK);
    assert.ok(merged.changed);
  }
});

test('quoted values stay whole; CRLF and lines after the first are handled', () => {
  assert.equal(cmdlineTokens('a="b c" d'), ['a="b c"', 'd']);
  assert.is(mergeCmdline('root=x init="/bin/sh -x"\r\n# note\n', FLAGS, FALLBACK).text, 'root=x init="/bin/sh -x" cgroup_enable=memory cgroup_memory=1\n# note\n');
});

test('property: merging is idempotent and keeps every unrelated token', () => {
  const token = fc.stringMatching(/^[a-z_.]{1,8}(=[a-z0-9,]{1,6})?$/);
  fc.assert(
    fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
      const once = mergeCmdline(`${tokens.join(' ')}\n`, FLAGS, FALLBACK);
      assert.is(mergeCmdline(once.text, FLAGS, FALLBACK).text, once.text);
      for (const flag of FLAGS) assert.ok(cmdlineTokens(once.text).includes(flag));
      const related = (t: string) => /^(cgroup_memory|cgroup_disable)=/.test(t);
      for (const t of tokens.filter((t) => !related(t))) assert.ok(cmdlineTokens(once.text).includes(t), t);
    }),
    { numRuns: 300 },
  );
});

test.run();
