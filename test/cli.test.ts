// Command-line conventions: every command's --help shows examples and its exit statuses;
// `pi-seed completion` prints a bash or zsh script; no colour codes in what pi-seed prints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, seedWorkspace } from './helpers.js';

const CLI = join(REPO, 'bin', 'pi-seed.js');
const COMMANDS = ['init', 'validate', 'build', 'write', 'bake', 'diff', 'status', 'plan'];

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

for (const command of COMMANDS) {
  test(`pi-seed ${command} --help shows examples and the exit statuses`, () => {
    const help = cli([command, '--help']);
    assert.is(help.status, 0);
    assert.match(help.stdout, new RegExp(`Examples:\\n  pi-seed ${command}`));
    assert.match(help.stdout, /Exit status:\n  0  .+\n  1  .+\n  2  wrong command line\n  70 internal error/);
  });
}

test('pi-seed --help lists every command, completion included, and the exit statuses', () => {
  const help = cli(['--help']);
  for (const command of [...COMMANDS, 'completion']) assert.match(help.stdout, new RegExp(`^  pi-seed ${command} `, 'm'), command);
  assert.match(help.stdout, /Exit status \(every command: see its --help\):/);
});

test('pi-seed completion prints a bash script, or a zsh one under zsh, and the completions work', () => {
  const bash = cli(['completion'], { SHELL: '/bin/bash' });
  assert.is(bash.status, 0, bash.stderr);
  assert.match(bash.stdout, /complete -o bashdefault -o default -F _pi-seed_yargs_completions pi-seed/);
  const zsh = cli(['completion'], { SHELL: '/usr/bin/zsh' });
  assert.is(zsh.status, 0, zsh.stderr);
  assert.match(zsh.stdout, /^#compdef pi-seed$/m);
  const words = cli(['--get-yargs-completions', 'pi-seed', 'b']).stdout.split('\n');
  for (const command of ['build', 'bake']) assert.ok(words.includes(command), `completes ${command}: ${words.join(' ')}`);
  const options = cli(['--get-yargs-completions', 'pi-seed', 'bake', '--']).stdout.split('\n');
  for (const option of ['--image', '--node', '--force']) assert.ok(options.includes(option), option);
});

test('no colour codes in errors, reports or help, on a terminal or not', () => {
  const { config } = seedWorkspace('pi-seed-cli-');
  for (const [args, env] of [[['validate', '--config', join(config, '..', 'missing.yaml')], {}], [['build', '--config', config, '--out', join(config, '..', 'out')], { FORCE_COLOR: '1' }], [['--help'], {}]] as const) {
    const result = cli([...args], env);
    assert.not.match(result.stdout + result.stderr, /\x1b\[/, args.join(' '));
  }
});

test('a reader that goes away (| head) ends pi-seed quietly: no stack trace', () => {
  const { config } = seedWorkspace('pi-seed-cli-');
  const errors = join(config, '..', 'stderr.txt');
  const piped = spawnSync('sh', ['-c', `"$0" "$1" build --config "$2" --tar - 2>"$3" | head -c 1 >/dev/null`, process.execPath, CLI, config, errors], { encoding: 'utf8' });
  assert.is(piped.status, 0);
  const stderr = readFileSync(errors, 'utf8');
  assert.not.match(stderr, /node:events|EPIPE|\n\s+at /, stderr);
});

test.run();
