// pi-seed bake: a flashable image per node from an Ubuntu Raspberry Pi image (docs/card-and-image.md).
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT_INVALID, EXIT_OK, type Io } from '../cli-io.js';
import { nodeCard, loadSeeds } from '../emit/card-files.js';
import { type BakeResult, bakeImages } from '../emit/image.js';
import { reportingProblems } from '../emit/problem-error.js';

export interface BakeOptions {
  config: string;
  image: string;
  /** Empty means every node (--all). */
  nodes: string[];
  output?: string;
  /** Replace existing output images. */
  force: boolean;
  strict: boolean;
}

export const NODE_PLACEHOLDER = '{node}';
export const DEFAULT_OUTPUT = `${NODE_PLACEHOLDER}.img`;

/**
 * Where each node's image goes. OUT with `{node}` is a name pattern; without it, OUT is a folder
 * (holding `<node>.img`) when several images are baked, when it ends in "/" or when it is an
 * existing folder, and otherwise the one image's file name.
 */
export function outputPaths(output: string | undefined, nodes: readonly string[]): string[] {
  const out = output ?? DEFAULT_OUTPUT;
  if (out.includes(NODE_PLACEHOLDER)) return nodes.map((node) => out.split(NODE_PLACEHOLDER).join(node));
  const folder = nodes.length > 1 || /[\\/]$/.test(out) || statSync(out, { throwIfNoEntry: false })?.isDirectory();
  return folder ? nodes.map((node) => join(out, `${node}.img`)) : [out];
}

export function runBake(options: BakeOptions, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const seeds = await loadSeeds({ config: options.config, strict: options.strict, nodes: options.nodes, createSecrets: true }, io);
    if (!seeds) return EXIT_INVALID;
    const outputs = outputPaths(options.output, seeds.nodes.map((n) => n.name));
    for (const output of outputs) mkdirSync(dirname(output), { recursive: true });
    const targets = seeds.nodes.map((node, i) => ({ card: nodeCard(seeds.plan, seeds.secrets, node), output: outputs[i]! }));
    const results = await bakeImages(options.image, targets, (line) => io.err(`${line}\n`), options.force);
    for (const result of results) io.err(describeResult(result));
    return EXIT_OK;
  });
}

function describeResult(result: BakeResult): string {
  const cmdline = result.cmdlines
    .map(({ path, merge: { added, removed, changed } }) => (changed ? `${path} merged (${[...added.map((f) => `+${f}`), ...removed.map((f) => `-${f}`)].join(' ')})` : `${path} already had pi-seed's flags`))
    .join(', ');
  const fsck = result.fsck === 'clean' ? 'fsck.fat -n: clean' : 'fsck.fat is not installed, the FAT was not checked (apt-get install dosfstools)';
  return `wrote ${result.output}: seed files written, ${cmdline}; ${fsck}\n`;
}
