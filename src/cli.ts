// The command line: parse flags with yargs, call a command, map the outcome to an exit code.
// Command modules are imported only when chosen, so `pi-seed validate` does not load renderers.
import yargs, { type Argv } from 'yargs';
import { EXIT_INVALID, EXIT_USAGE, type Io, processIo, UserError } from './cli-io.js';
import { formatProblem, ProblemError } from './emit/problem-error.js';
import { packageVersion } from './paths.js';

const DEFAULT_CONFIG = 'cluster.yaml';
const DEFAULT_OUT = 'out';

const configOption = { type: 'string', default: DEFAULT_CONFIG, describe: 'cluster description', requiresArg: true } as const;
const serverOption = { type: 'string', describe: 'the API server as host or host:port, instead of the control plane\'s address (port 6443)', requiresArg: true } as const;
const strictOption = { type: 'boolean', default: false, describe: 'treat warnings as errors' } as const;

/** Each command's exit statuses, shown at the end of its --help (and in README.md). */
const EXIT_CODES = {
  init: ['0  the file was written', '1  it exists (pass --force) or cannot be written'],
  validate: ['0  valid (warnings allowed, unless --strict)', '1  problems were reported'],
  build: ['0  written, or already up to date', '1  invalid cluster.yaml or secrets; with --check: something would change'],
  diff: ['0  build would change nothing', '1  build would change files, or the input is invalid'],
  status: ['0  the API server answered (with --watch: the last refresh did)', '1  invalid input, no secrets, or the API server did not answer or was not this cluster\'s'],
  plan: ['0  the cluster matches cluster.yaml', '1  something differs, invalid input, or the API server did not answer'],
  kubeconfig: ['0  the kubeconfig was written', '1  invalid input or no cluster.secrets.yaml (run build first)'],
  write: ['0  written (or planned, with --dry-run)', '1  invalid input, or the folder is not a boot partition'],
  bake: ['0  every image was written', '1  invalid input, a bad image, an existing output without --force, a full disk'],
  /** pi-seed --help: what every command shares. */
  all: ['0  success', '1  a problem was reported (or diff/--check: something would change)'],
} as const;

const exitEpilogue = (command: keyof typeof EXIT_CODES, heading = 'Exit status:'): string =>
  [heading, ...EXIT_CODES[command].map((l) => `  ${l}`), '  2  wrong command line', '  70 internal error (a bug in pi-seed: please report it)'].join('\n');

function usageError(message: string): never {
  throw new UserError(message, EXIT_USAGE);
}

/** Repeated `--node a --node b` and `--node a,b` both work. */
function nodeList(value: unknown): string[] {
  const items = (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((v) => String(v).split(','));
  return items.map((s) => s.trim()).filter(Boolean);
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode = 0;
  const parser: Argv = yargs(argv)
    .scriptName('pi-seed')
    .usage('$0 <command> [options]\n\nTurns cluster.yaml into cloud-init seed files for each Raspberry Pi.')
    .command('init', 'write a commented starter cluster.yaml', (y) => y.option('config', configOption).option('force', { type: 'boolean', default: false, describe: 'overwrite an existing file' }).example('$0 init', 'write ./cluster.yaml to edit').example('$0 init --config lab/cluster.yaml', 'somewhere else').epilogue(exitEpilogue('init')), async (args) => {
      const { runInit } = await import('./commands/init.js');
      exitCode = runInit({ config: args.config, force: args.force }, io);
    })
    .command('validate', 'check cluster.yaml and report every problem', (y) => y.option('config', configOption).option('strict', strictOption).example('$0 validate', 'check ./cluster.yaml').example('$0 validate --strict --config lab/cluster.yaml', 'warnings count as errors').epilogue(exitEpilogue('validate')), async (args) => {
      const { runValidate } = await import('./commands/validate.js');
      exitCode = runValidate({ config: args.config, strict: args.strict }, io);
    })
    .command(
      'build',
      'write each node\'s seed files to the output folder',
      (y) =>
        y
          .option('config', configOption)
          .option('out', { type: 'string', default: DEFAULT_OUT, describe: 'output folder', requiresArg: true })
          .option('node', { type: 'string', array: true, describe: 'build only this node (repeatable)', requiresArg: true })
          .option('all', { type: 'boolean', default: false, describe: 'build every node (the default without --node)' })
          .option('check', { type: 'boolean', default: false, describe: 'write nothing; show what would change and exit 1 if anything would' })
          .option('tar', { type: 'string', nargs: 1, describe: 'write the nodes\' card files as one reproducible tar to FILE (-: standard output) instead of the output folder' })
          .option('strict', strictOption).example('$0 build', 'every node into ./out/').example('$0 build --node mas01', 'one node').example('$0 build --check', 'what would change (exit 1 if anything)').example('$0 build --tar seeds.tar', 'the card files, keys included, as one tar').epilogue(exitEpilogue('build')),
      async (args) => {
        const nodes = nodeList(args.node);
        if (args.all && nodes.length > 0) usageError('--all and --node exclude each other');
        if (args.tar !== undefined && args.check) usageError('--tar and --check exclude each other');
        const { runBuild, runBuildTar } = await import('./commands/build.js');
        if (args.tar !== undefined) exitCode = await runBuildTar({ config: args.config, nodes, strict: args.strict, tar: args.tar }, io);
        else exitCode = await runBuild({ config: args.config, out: args.out, nodes, strict: args.strict, check: args.check }, io);
      },
    )
    .command(
      'write',
      'put one node\'s seed files on a mounted boot partition (backs up what it replaces, merges cmdline.txt)',
      (y) =>
        y
          .option('config', configOption)
          .option('node', { type: 'string', describe: 'the node this card is for', requiresArg: true, demandOption: true })
          .option('to', { type: 'string', describe: 'the mounted system-boot partition, e.g. /media/$USER/system-boot', requiresArg: true, demandOption: true })
          .option('force', { type: 'boolean', default: false, describe: 'write even if the folder lacks config.txt or cmdline.txt' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be written and write nothing' })
          .option('strict', strictOption).example('$0 write --node mas01 --to /media/$USER/system-boot', 'onto a mounted card').example('$0 write --node work01 --to /media/$USER/system-boot --dry-run', 'show the plan only').epilogue(exitEpilogue('write')),
      async (args) => {
        const nodes = nodeList(args.node);
        if (nodes.length !== 1) usageError('write puts one node on one card: name exactly one --node');
        const { runWrite } = await import('./commands/write.js');
        exitCode = await runWrite({ config: args.config, node: nodes[0]!, to: args.to, force: args.force, dryRun: args.dryRun, strict: args.strict }, io);
      },
    )
    .command(
      'bake',
      'write a flashable image per node from an Ubuntu Raspberry Pi image (.img or .img.xz), without root',
      (y) =>
        y
          .option('config', configOption)
          .option('image', { type: 'string', describe: 'the Ubuntu image, .img or .img.xz', requiresArg: true, demandOption: true })
          .option('node', { type: 'string', array: true, describe: 'bake an image for this node (repeatable)', requiresArg: true })
          .option('all', { type: 'boolean', default: false, describe: 'bake one image per node' })
          .option('output', { alias: 'o', type: 'string', describe: 'output file, folder, or name pattern with {node} (default {node}.img)', requiresArg: true })
          .option('force', { type: 'boolean', default: false, describe: 'replace output images that already exist' })
          .option('strict', strictOption).example("$0 bake --image ubuntu-24.04.img.xz --all -o 'images/{node}.img'", 'one image per node').example('$0 bake --image ubuntu.img --node mas01 -o mas01.img --force', 'replace an earlier image').epilogue(exitEpilogue('bake')),
      async (args) => {
        const nodes = nodeList(args.node);
        if (args.all === (nodes.length > 0)) usageError('name the nodes to bake with --node, or pass --all (not both)');
        const { runBake } = await import('./commands/bake.js');
        exitCode = await runBake({ config: args.config, image: args.image, nodes, output: args.output, force: args.force, strict: args.strict }, io);
      },
    )
    .command(
      'diff',
      'show what `build` would change in the output folder; exit 1 if anything would',
      (y) => y.option('config', configOption).option('out', { type: 'string', default: DEFAULT_OUT, describe: 'output folder', requiresArg: true }).option('node', { type: 'string', array: true, requiresArg: true, describe: 'compare only this node' }).option('strict', strictOption).example('$0 diff', 'the diff build would make in ./out/').epilogue(exitEpilogue('diff')),
      async (args) => {
        const { runBuild } = await import('./commands/build.js');
        exitCode = await runBuild({ config: args.config, out: args.out, nodes: nodeList(args.node), strict: args.strict, check: true }, io);
      },
    )
    .command(
      'status',
      'read each node\'s phase and readiness from the API server',
      (y) =>
        y
          .option('config', configOption)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .option('watch', { type: 'boolean', default: false, describe: 'refresh every 5 seconds until interrupted' })
          .option('server', serverOption).example('$0 status', "a table of every node's phase").example('$0 status --watch', 'refresh until Ctrl-C').example('$0 status --json', 'for scripts').example('$0 status --server 127.0.0.1:6443', 'through an SSH tunnel').epilogue(exitEpilogue('status')),
      async (args) => {
        const { runStatus } = await import('./commands/status.js');
        exitCode = await runStatus({ config: args.config, json: args.json, watch: args.watch, server: args.server }, io);
      },
    )
    .command(
      'plan',
      'show what differs between cluster.yaml and the running cluster (nodes to register, remove or label; a version change)',
      (y) =>
        y
          .option('config', configOption)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .option('server', serverOption).example('$0 plan', 'what differs, in the order it would change').example('$0 plan --json', 'for scripts').epilogue(exitEpilogue('plan')),
      async (args) => {
        const { runPlan } = await import('./commands/plan.js');
        exitCode = await runPlan({ config: args.config, json: args.json, server: args.server }, io);
      },
    )
    .command(
      'kubeconfig',
      'write an admin kubeconfig for this machine, with a short-lived certificate from the cluster CA',
      (y) =>
        y
          .option('config', configOption)
          .option('out', { type: 'string', describe: 'where to write it (default ~/.kube/pi-seed-<cluster>.yaml); never inside out/', requiresArg: true })
          .option('ttl', { type: 'string', default: '1h', describe: 'how long the certificate lasts: 30m, 12h, 7d (at most 30d)', requiresArg: true })
          .option('server', serverOption).example('$0 kubeconfig', 'then: export KUBECONFIG=~/.kube/pi-seed-<cluster>.yaml; kubectl get nodes').example('eval "$($0 kubeconfig --ttl 12h)"', 'write it and point kubectl at it').epilogue(exitEpilogue('kubeconfig')),
      async (args) => {
        const { runKubeconfig } = await import('./commands/kubeconfig.js');
        exitCode = await runKubeconfig({ config: args.config, out: args.out, ttl: args.ttl, server: args.server }, io);
      },
    )
    // yargs' own: `pi-seed completion >> ~/.bashrc` (bash) or `>> ~/.zshrc` (zsh, from $SHELL).
    .completion('completion', 'print a bash or zsh completion script (add it to ~/.bashrc or ~/.zshrc)')
    .example('$0 init && $0 validate && $0 build', 'a first cluster')
    .example('$0 completion >> ~/.bashrc', 'tab completion in bash')
    .epilogue(`${exitEpilogue('all', 'Exit status (every command: see its --help):')}\n\npi-seed prints no colour codes; progress bars appear only on a terminal.`)
    .demandCommand(1, 'name a command: init, validate, build, diff, status, kubeconfig, write, bake or completion')
    .strict()
    .help()
    // package.json is read only when the version is asked for: not on every command's start-up.
    .version('version', 'show the version number', argv.includes('--version') ? packageVersion() : '')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      usageError(message);
    });

  try {
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    if (err instanceof ProblemError) {
      io.err(formatProblem(err.problem));
      return err.exitCode;
    }
    if (err instanceof UserError) {
      io.err(`error: ${err.message}\n${err.exitCode === EXIT_USAGE ? 'run `pi-seed --help` for usage\n' : ''}`);
      return err.exitCode;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code && /^E[A-Z]+$/.test(code)) {
      // File-system problems the user can fix (permissions, full disk, read-only card).
      io.err(`error: ${(err as Error).message}\n`);
      return EXIT_INVALID;
    }
    throw err;
  }
}
