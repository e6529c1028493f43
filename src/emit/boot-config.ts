// Which kernel command-line files a Raspberry Pi's firmware reads, from the card's own config.txt.
// Ubuntu up to 24.04 boots from cmdline.txt in the partition root; 25.10+ boots A/B, with
// `os_prefix=current/` (and `os_prefix=new/` under [tryboot]) in config.txt, so the line is
// current/cmdline.txt (new/cmdline.txt while new boot assets wait to be tried), and a cmdline.txt
// in the root is never read. pi-seed asks the card rather than assuming the release's layout.
//
// The firmware's rules (Raspberry Pi documentation, "config.txt": conditional filters, os_prefix,
// cmdline, include): settings apply in file order, the last one wins; `[all]` clears every
// filter; a model filter such as `[pi4]` applies to that model family only; `[tryboot]` applies
// only in tryboot mode; `[none]` to nothing; `include FILE` reads FILE in place; the command line
// is read from os_prefix + cmdline (default cmdline.txt). Filters pi-seed cannot evaluate (HDMI,
// EDID, GPIO, serial numbers) may or may not apply, so both outcomes are kept as candidates; so
// are the outcomes for each model a board of cluster.yaml can be (a "pi4" may be a 4B or a CM4).
import { type Board } from '../spec/v1/types.js';

/**
 * The models each board of pi-seed's can be, each with the model filters that match it (Raspberry
 * Pi documentation, "Model filters": [pi4] matches every Pi 4 family member, [pi400] and [cm4]
 * only theirs). A "pi4" in cluster.yaml may be a 4B, a 400 or a CM4, so each is evaluated.
 */
const MODELS: Record<Board, ReadonlyArray<ReadonlySet<string>>> = {
  pi3b: [new Set(['pi3']), new Set(['pi3', 'pi3+'])],
  pi4: [new Set(['pi4']), new Set(['pi4', 'pi400']), new Set(['pi4', 'cm4']), new Set(['pi4', 'cm4s'])],
  pi5: [new Set(['pi5']), new Set(['pi5', 'pi500']), new Set(['pi5', 'cm5'])],
};
const ALL_MODELS = new Set(['pi0', 'pi0w', 'pi02', 'pi1', 'pi2', 'pi3', 'pi3+', 'pi4', 'pi400', 'cm4', 'cm4s', 'pi5', 'pi500', 'cm5']);
const MAX_INCLUDE_DEPTH = 4;

export interface FirmwareCmdlines {
  /** What a normal boot may read (more than one only where pi-seed cannot evaluate a filter). */
  boot: string[];
  /** What a tryboot (testing new boot assets) may read. */
  tryboot: string[];
}

/** The filters in force at a point of config.txt. */
interface Filters {
  model: string | null;
  tryboot: boolean;
  none: boolean;
  /** Under a filter pi-seed cannot evaluate. */
  conditional: boolean;
}

/** One `key=value` setting, with the filters it stands under. */
interface Line extends Filters {
  key: string;
  value: string;
}

const NO_FILTER: Filters = { model: null, tryboot: false, none: false, conditional: false };

/**
 * config.txt as settings, each with the filters in force where it stands. An `include` is read
 * in place, as the firmware does: its sections change the filters for what follows it too.
 */
function settings(text: string, read: (name: string) => string | null, filters: Filters = { ...NO_FILTER }, depth = 0, lines: Line[] = []): Line[] {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const section = /^\[([^\]]*)\]$/.exec(line);
    if (section) {
      const filter = section[1]!.trim().toLowerCase();
      if (filter === 'all') Object.assign(filters, NO_FILTER);
      else if (filter === 'none') filters.none = true;
      else if (filter === 'tryboot') filters.tryboot = true;
      else if (ALL_MODELS.has(filter)) filters.model = filter;
      else filters.conditional = true;
      continue;
    }
    const include = /^include\s+(\S+)$/.exec(line);
    if (include) {
      const included = depth < MAX_INCLUDE_DEPTH ? read(include[1]!) : null;
      if (included !== null) settings(included, read, filters, depth + 1, lines);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) lines.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), ...filters });
  }
  return lines;
}

/** The command-line paths one boot mode can end up with on one model: each assumption about unknown filters. */
function resolve(lines: readonly Line[], model: ReadonlySet<string>, tryboot: boolean, outcomes: Set<string>): void {
  for (const conditionalApplies of [false, true]) {
    let prefix = '';
    let cmdline = 'cmdline.txt';
    for (const line of lines) {
      if (line.none || (line.model !== null && !model.has(line.model)) || (line.tryboot && !tryboot)) continue;
      if (line.conditional && !conditionalApplies) continue;
      if (line.key === 'os_prefix') prefix = line.value;
      else if (line.key === 'cmdline') cmdline = line.value;
    }
    outcomes.add(`${prefix}${cmdline}`.replace(/^\/+/, ''));
  }
}

/**
 * `config` is the card's config.txt; `read` reads another file of the partition (for `include`),
 * null when it does not exist. `board` narrows model filters to the node's board.
 */
export function firmwareCmdlines(config: string, read: (name: string) => string | null, board?: Board): FirmwareCmdlines {
  const lines = settings(config, read);
  const models = board ? MODELS[board] : Object.values(MODELS).flat();
  const outcomes = (tryboot: boolean): string[] => {
    const found = new Set<string>();
    for (const model of models) resolve(lines, model, tryboot, found);
    return [...found].sort();
  };
  return { boot: outcomes(false), tryboot: outcomes(true) };
}
