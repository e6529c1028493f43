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
// EDID, GPIO, serial numbers) may or may not apply, so both outcomes are kept as candidates.
import { type Board } from '../spec/v1/types.js';

/** The model filters that can match each board pi-seed knows (a "pi4" may be a 4B, a 400 or a CM4). */
const MODEL_FILTERS: Record<Board, readonly string[]> = {
  pi3b: ['pi3', 'pi3+'],
  pi4: ['pi4', 'pi400', 'cm4', 'cm4s'],
  pi5: ['pi5', 'pi500', 'cm5'],
};
const ALL_MODELS = new Set(['pi0', 'pi0w', 'pi02', 'pi1', 'pi2', 'pi3', 'pi3+', 'pi4', 'pi400', 'cm4', 'cm4s', 'pi5', 'pi500', 'cm5']);
const MAX_INCLUDE_DEPTH = 4;

export interface FirmwareCmdlines {
  /** What a normal boot may read (more than one only where pi-seed cannot evaluate a filter). */
  boot: string[];
  /** What a tryboot (testing new boot assets) may read. */
  tryboot: string[];
}

interface Line {
  key: string;
  value: string;
  model: string | null;
  tryboot: boolean;
  none: boolean;
  /** Under a filter pi-seed cannot evaluate. */
  conditional: boolean;
}

/** config.txt (with its includes) as settings, each with the filters in force where it stands. */
function settings(text: string, read: (name: string) => string | null, depth = 0): Line[] {
  const lines: Line[] = [];
  let model: string | null = null;
  let tryboot = false;
  let none = false;
  let conditional = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const section = /^\[([^\]]*)\]$/.exec(line);
    if (section) {
      const filter = section[1]!.trim().toLowerCase();
      if (filter === 'all') [model, tryboot, none, conditional] = [null, false, false, false];
      else if (filter === 'none') none = true;
      else if (filter === 'tryboot') tryboot = true;
      else if (ALL_MODELS.has(filter)) model = filter;
      else conditional = true;
      continue;
    }
    const include = /^include\s+(\S+)$/.exec(line);
    if (include) {
      const included = depth < MAX_INCLUDE_DEPTH ? read(include[1]!) : null;
      if (included !== null) {
        for (const inner of settings(included, read, depth + 1)) {
          // An included file's filters add to those in force where it is included.
          lines.push({ ...inner, model: inner.model ?? model, tryboot: inner.tryboot || tryboot, none: inner.none || none, conditional: inner.conditional || conditional });
        }
      }
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) lines.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), model, tryboot, none, conditional });
  }
  return lines;
}

/** The command-line paths one boot mode can end up with: each assumption about unknown filters. */
function resolve(lines: readonly Line[], models: ReadonlySet<string>, tryboot: boolean): string[] {
  const outcomes = new Set<string>();
  for (const conditionalApplies of [false, true]) {
    let prefix = '';
    let cmdline = 'cmdline.txt';
    for (const line of lines) {
      if (line.none || (line.model !== null && !models.has(line.model)) || (line.tryboot && !tryboot)) continue;
      if (line.conditional && !conditionalApplies) continue;
      if (line.key === 'os_prefix') prefix = line.value;
      else if (line.key === 'cmdline') cmdline = line.value;
    }
    outcomes.add(`${prefix}${cmdline}`.replace(/^\/+/, ''));
  }
  return [...outcomes].sort();
}

/**
 * `config` is the card's config.txt; `read` reads another file of the partition (for `include`),
 * null when it does not exist. `board` narrows model filters to the node's board.
 */
export function firmwareCmdlines(config: string, read: (name: string) => string | null, board?: Board): FirmwareCmdlines {
  const lines = settings(config, read);
  const models = new Set(board ? MODEL_FILTERS[board] : ALL_MODELS);
  return { boot: resolve(lines, models, false), tryboot: resolve(lines, models, true) };
}
