// The command line: parse flags with yargs, call a command, map the outcome to an exit code.
// Command modules are imported only when chosen, so `pi-seed validate` does not load renderers.
import yargs, { type Argv } from 'yargs';
import { EXIT_INVALID, EXIT_USAGE, type Io, processIo, UserError } from './cli-io.js';
import { packageVersion } from './paths.js';

const DEFAULT_CONFIG = 'cluster.yaml';
const DEFAULT_OUT = 'out';

const configOption = { type: 'string', default: DEFAULT_CONFIG, describe: 'cluster description', requiresArg: true } as const;
const strictOption = { type: 'boolean', default: false, describe: 'treat warnings as errors' } as const;

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
    .command('init', 'write a commented starter cluster.yaml', (y) => y.option('config', configOption).option('force', { type: 'boolean', default: false, describe: 'overwrite an existing file' }), async (args) => {
      const { runInit } = await import('./commands/init.js');
      exitCode = runInit({ config: args.config, force: args.force }, io);
    })
    .command('validate', 'check cluster.yaml and report every problem', (y) => y.option('config', configOption).option('strict', strictOption), async (args) => {
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
          .option('strict', strictOption),
      async (args) => {
        const nodes = nodeList(args.node);
        if (args.all && nodes.length > 0) usageError('--all and --node exclude each other');
        if (args.tar !== undefined && args.check) usageError('--tar and --check exclude each other');
        const { runBuild, runBuildTar } = await import('./commands/build.js');
        if (args.tar !== undefined) exitCode = await runBuildTar({ config: args.config, nodes, strict: args.strict, tar: args.tar }, io);
        else exitCode = runBuild({ config: args.config, out: args.out, nodes, strict: args.strict, check: args.check }, io);
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
          .option('strict', strictOption),
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
          .option('strict', strictOption),
      async (args) => {
        const nodes = nodeList(args.node);
        if (args.all === (nodes.length > 0)) usageError('name the nodes to bake with --node, or pass --all (not both)');
        const { runBake } = await import('./commands/bake.js');
        exitCode = await runBake({ config: args.config, image: args.image, nodes, output: args.output, strict: args.strict }, io);
      },
    )
    .command(
      'diff',
      'show what `build` would change in the output folder; exit 1 if anything would',
      (y) => y.option('config', configOption).option('out', { type: 'string', default: DEFAULT_OUT, describe: 'output folder', requiresArg: true }).option('node', { type: 'string', array: true, requiresArg: true, describe: 'compare only this node' }).option('strict', strictOption),
      async (args) => {
        const { runBuild } = await import('./commands/build.js');
        exitCode = runBuild({ config: args.config, out: args.out, nodes: nodeList(args.node), strict: args.strict, check: true }, io);
      },
    )
    .command(
      'status',
      'ask the control plane how far each node is',
      (y) =>
        y
          .option('config', configOption)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .option('watch', { type: 'boolean', default: false, describe: 'refresh every few seconds until interrupted' })
          .option('address', { type: 'string', describe: 'reach the control plane at this address instead of its LAN address', requiresArg: true }),
      async (args) => {
        const { runStatus } = await import('./commands/status.js');
        exitCode = await runStatus({ config: args.config, json: args.json, watch: args.watch, address: args.address }, io);
      },
    )
    .demandCommand(1, 'name a command: init, validate, build, diff, status, write or bake')
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
