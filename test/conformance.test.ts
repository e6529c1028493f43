// Every generated file is checked by the tools that will read it: the newest cloud-init schemas
// (ajv), Debian's cloud-init (the oldest validator), netplan, shellcheck and Python's compiler.
// In CI a missing tool fails the run; elsewhere its check is skipped loudly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { builtExamples, cloudInitSchemaFile, cloudInitValidator, missingSchema, tempDir, testNeeding, testWithTools, userDataWriteFiles } from './helpers.js';


const built = await builtExamples();

const CLOUD_CONFIG = 'schema-cloud-config-v1.json';
const NETWORK_CONFIG = 'schema-network-config-v2.json';

testNeeding('user-data passes the newest cloud-config schema available (draft-04, nothing deprecated)', missingSchema(CLOUD_CONFIG), () => {
  const validate = cloudInitValidator(CLOUD_CONFIG);
  console.log(`  (cloud-config schema from ${cloudInitSchemaFile(CLOUD_CONFIG)!.source})`);
  assert.ok(built.length >= 3);
  for (const { example, node, dir } of built) {
    const text = readFileSync(join(dir, 'user-data'), 'utf8');
    assert.ok(text.startsWith('#cloud-config\n'), `${example}/${node}: user-data must start with #cloud-config`);
    const ok = validate(yaml.load(text));
    assert.ok(ok, `${example}/${node}: ${JSON.stringify(validate.errors, null, 1)}`);
  }
});

testNeeding('with the newest schema, a key it does not know is refused by the same check (the check can fail)', missingSchema(CLOUD_CONFIG, true), () => {
  const validate = cloudInitValidator(CLOUD_CONFIG, true);
  assert.not.ok(validate({ hostname: 'x', not_a_cloud_init_key: true }));
  assert.not.ok(validate({ users: [{ name: 'x', 'lock-passwd': true }] }), 'deprecated keys fail');
});

testNeeding('network-config passes the newest network-config v2 schema', missingSchema(NETWORK_CONFIG), () => {
  const validate = cloudInitValidator(NETWORK_CONFIG);
  for (const { example, node, dir } of built) {
    const ok = validate(yaml.load(readFileSync(join(dir, 'network-config'), 'utf8')));
    assert.ok(ok, `${example}/${node}: ${JSON.stringify(validate.errors, null, 1)}`);
  }
});

testWithTools("Debian's cloud-init accepts every user-data (cloud-init schema --config-file)", ['cloud-init'], () => {
  for (const { example, node, dir } of built) {
    const result = spawnSync('cloud-init', ['schema', '--config-file', join(dir, 'user-data')], { encoding: 'utf8' });
    assert.is(result.status, 0, `${example}/${node}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /Valid cloud-config/);
    assert.not.match(`${result.stdout}${result.stderr}`, /deprecat/i, `${example}/${node}: deprecation warning`);
  }
});

testWithTools('netplan renders each network-config to the networkd settings we asked for', ['netplan'], () => {
  for (const { example, node, dir } of built) {
    const root = tempDir('pi-seed-netplan-');
    mkdirSync(join(root, 'etc', 'netplan'), { recursive: true });
    const target = join(root, 'etc', 'netplan', '50-cloud-init.yaml');
    const config = yaml.load(readFileSync(join(dir, 'network-config'), 'utf8')) as { network: { ethernets: Record<string, { addresses: string[]; routes: Array<{ via: string }>; nameservers: { addresses: string[] } }> } };
    writeFileSync(target, readFileSync(join(dir, 'network-config')));
    chmodSync(target, 0o600);
    const result = spawnSync('netplan', ['generate', '--root-dir', root], { encoding: 'utf8' });
    assert.is(result.status, 0, `${example}/${node}: ${result.stderr}`);
    const [iface, eth] = Object.entries(config.network.ethernets)[0]!;
    const networkDir = join(root, 'run', 'systemd', 'network');
    const file = readdirSync(networkDir).find((f) => f.endsWith(`${iface}.network`));
    assert.ok(file, `${example}/${node}: no .network file for ${iface}`);
    const unit = readFileSync(join(networkDir, file), 'utf8');
    assert.match(unit, new RegExp(`^Address=${eth.addresses[0]!.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(unit, new RegExp(`^Gateway=${eth.routes[0]!.via.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(unit, /^Destination=0\.0\.0\.0\/0$/m);
    for (const dns of eth.nameservers.addresses) assert.match(unit, new RegExp(`^DNS=${dns.replace(/\./g, '\\.')}$`, 'm'));
    assert.not.match(unit, /^DHCP=(yes|ipv4|ipv6)$/m, `${example}/${node}: DHCP must be off`);
  }
});

testWithTools('cloud-init converts each network-config (devel net-convert)', ['cloud-init'], () => {
  for (const { example, node, dir } of built) {
    const outDir = tempDir('pi-seed-netconv-');
    const result = spawnSync('cloud-init', ['devel', 'net-convert', '--network-data', join(dir, 'network-config'), '--kind', 'yaml', '--output-kind', 'netplan', '--distro', 'ubuntu', '--directory', outDir], { encoding: 'utf8' });
    assert.is(result.status, 0, `${example}/${node}: ${result.stdout}${result.stderr}`);
  }
});

/** Every shell script inside a user-data: write_files with a shell shebang, and sh -c commands. */
export function shellScripts(userData: string): Array<{ name: string; text: string; shell: 'sh' | 'bash' }> {
  const doc = yaml.load(userData) as { write_files?: Array<{ path: string; content: string }>; bootcmd?: unknown[]; runcmd?: unknown[] };
  const scripts: Array<{ name: string; text: string; shell: 'sh' | 'bash' }> = [];
  for (const file of doc.write_files ?? []) {
    const shebang = /^#!\s*(\S+)/.exec(file.content)?.[1] ?? '';
    if (/\/(ba)?sh$/.test(shebang)) scripts.push({ name: file.path, text: file.content, shell: shebang.endsWith('bash') ? 'bash' : 'sh' });
  }
  for (const [key, list] of [['bootcmd', doc.bootcmd], ['runcmd', doc.runcmd]] as const) {
    (list ?? []).forEach((entry, i) => {
      if (Array.isArray(entry) && entry[0] === 'sh' && entry[1] === '-c') scripts.push({ name: `${key}[${i}]`, text: `#!/bin/sh\n${entry[2]}\n`, shell: 'sh' });
      else if (typeof entry === 'string') scripts.push({ name: `${key}[${i}]`, text: `#!/bin/sh\n${entry}\n`, shell: 'sh' });
      else if (Array.isArray(entry)) scripts.push({ name: `${key}[${i}]`, text: `#!/bin/sh\n${entry.map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ')}\n`, shell: 'sh' });
    });
  }
  return scripts;
}

testWithTools('every shell script in the outputs passes shellcheck with no findings', ['shellcheck'], () => {
  let count = 0;
  for (const { example, node, dir } of built) {
    for (const script of shellScripts(readFileSync(join(dir, 'user-data'), 'utf8'))) {
      const result = spawnSync('shellcheck', ['--shell', script.shell, '--severity', 'style', '-'], { input: script.text, encoding: 'utf8' });
      assert.is(result.status, 0, `${example}/${node} ${script.name}:\n${result.stdout}${result.stderr}`);
      count++;
    }
  }
  assert.ok(count >= built.length * 3, 'found the scripts');
});

/**
 * keepalived checks a configuration against the machine it runs on (the interface must exist),
 * so each control plane's file is checked inside a namespace of its own with that interface (a
 * veth: this kernel has no dummy links) and the node's address. keepalived 2.2's --config-test
 * ends by signalling itself (exit 143) when the file is good, and exits non-zero otherwise;
 * either way every problem is a line in its log file, so the file must stay empty.
 */
function keepalivedConfigTest(config: string, iface: string, address: string): { ok: boolean; output: string } {
  const ns = `piska${process.pid % 100000}`;
  const dir = tempDir('pi-seed-keepalived-');
  const file = join(dir, 'keepalived.conf');
  const logFile = join(dir, 'check.log');
  writeFileSync(file, config);
  const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  try {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'pisk-peer');
    ip('-n', ns, 'link', 'set', iface, 'up');
    ip('-n', ns, 'addr', 'add', address, 'dev', iface);
    const result = spawnSync('ip', ['netns', 'exec', ns, 'keepalived', `--config-test=${logFile}`, '-f', file], { encoding: 'utf8', timeout: 30_000 });
    const output = `${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}${result.stderr}`.replace(/Terminated\s*$/, '').trim();
    const ended = result.signal === 'SIGTERM' || result.status === 0;
    return { ok: ended && output === '', output: `${result.signal ?? `exit ${result.status}`}: ${output}` };
  } finally {
    ip('netns', 'del', ns);
  }
}

const needsNetns = process.getuid?.() === 0 ? null : 'not running as root (keepalived is checked in a network namespace)';
const keepalivedFiles = built.flatMap(({ example, node, dir }) =>
  userDataWriteFiles(join(dir, 'user-data'))
    .filter((f) => f.path === '/etc/keepalived/keepalived.conf')
    .map((f) => ({ example, node, config: f.content, network: yaml.load(readFileSync(join(dir, 'network-config'), 'utf8')) as { network: { ethernets: Record<string, { addresses: string[] }> } } })),
);

testWithTools('keepalived accepts every control plane\'s keepalived.conf (keepalived --config-test)', ['keepalived', 'ip'], () => {
  if (needsNetns) throw new Error(needsNetns);
  assert.ok(keepalivedFiles.length >= 3, 'the HA example has three control planes');
  for (const { example, node, config, network } of keepalivedFiles) {
    const [iface, eth] = Object.entries(network.network.ethernets)[0]!;
    const result = keepalivedConfigTest(config, iface, eth.addresses[0]!);
    assert.ok(result.ok, `${example}/${node}: ${result.output}`);
  }
});

testWithTools('keepalived --config-test refuses a keyword it does not know (the check can fail)', ['keepalived', 'ip'], () => {
  if (needsNetns) throw new Error(needsNetns);
  const { config, network } = keepalivedFiles[0]!;
  const [iface, eth] = Object.entries(network.network.ethernets)[0]!;
  const result = keepalivedConfigTest(config.replace('advert_int 1', 'advert_int 1\n    not_a_keepalived_keyword 1'), iface, eth.addresses[0]!);
  assert.not.ok(result.ok);
  assert.match(result.output, /not_a_keepalived_keyword/);
});

test('the command line (cmdline.txt, current/cmdline.txt on A/B boot) keeps the release line, adds the cgroup flags, one line', () => {
  for (const { example, node, dir } of built) {
    const file = ['cmdline.txt', 'current/cmdline.txt'].filter((f) => existsSync(join(dir, f)));
    assert.is(file.length, 1, `${example}/${node}: exactly one command line`);
    const text = readFileSync(join(dir, file[0]!), 'utf8');
    assert.is(text.split('\n').length, 2, `${example}/${node}: one line plus the final newline`);
    assert.match(text, /root=LABEL=writable/);
    assert.match(text, / cgroup_enable=memory cgroup_memory=1( |\n)/);
  }
});

test.run();
