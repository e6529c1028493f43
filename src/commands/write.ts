// pi-seed write: one node's seed files onto a mounted boot partition, safely (docs/card-and-image.md).
import { EXIT_INVALID, EXIT_OK, type Io } from '../cli-io.js';
import { applyCardWrite, checkBootPartition, describeCardWrite, planCardWrite } from '../emit/card.js';
import { cmdlineTarget, loadSeeds, nodeCard } from '../emit/card-files.js';
import { reportingProblems } from '../emit/problem-error.js';

export interface WriteOptions {
  config: string;
  node: string;
  to: string;
  force: boolean;
  dryRun: boolean;
  strict: boolean;
}

export function runWrite(options: WriteOptions, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const seeds = await loadSeeds(
      {
        config: options.config,
        strict: options.strict,
        nodes: [options.node],
        createSecrets: !options.dryRun,
        // The card first: a wrong --to must not leave a new cluster.secrets.yaml behind.
        checkDestination: (plan, nodes) => checkBootPartition(options.to, options.force, cmdlineTarget(plan, nodes[0]!)),
      },
      io,
    );
    if (!seeds) return EXIT_INVALID;
    const card = nodeCard(seeds.plan, seeds.secrets, seeds.nodes[0]!);
    const steps = planCardWrite(options.to, card);
    const changes = steps.filter((s) => s.action !== 'unchanged').length;
    if (options.dryRun) {
      io.out(`pi-seed write ${options.node} to ${options.to} (dry run: nothing is written)\n${describeCardWrite(steps)}`);
      if (seeds.secretsMissing) io.out(`  (a real run first creates cluster.secrets.yaml beside ${options.config})\n`);
      return EXIT_OK;
    }
    applyCardWrite(options.to, steps);
    io.err(`${options.to}: ${changes === 0 ? `already holds ${options.node}'s seed; nothing changed` : `wrote ${options.node}'s seed`}\n${describeCardWrite(steps)}`);
    return EXIT_OK;
  });
}
