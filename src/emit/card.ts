// `pi-seed write`: puts one node's files on a mounted boot partition. Planned first (what is
// created, replaced, merged, backed up), so --dry-run prints exactly what a real run does.
// Each file is written atomically (temp file, fsync, rename), the folder fsynced after, so a card
// pulled mid-way holds the old or the new file, never half of one.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { msg } from '../errors.js';
import { NODE_KEY_FILE } from '../render/user-data.js';
import { writeFileAtomic } from './atomic.js';
import { inWriteOrder, type NodeCard } from './card-files.js';
import { BOOT_CONFIG_FILE, type CmdlineEdit, type CmdlineTarget, cmdlineEdits } from './cmdline-merge.js';
import { ProblemError } from './problem-error.js';

export const BACKUP_DIR = 'pi-seed-backup';
/** Names of files pi-seed added to the card (they had no original), so none is ever "backed up". */
export const ADDED_LIST = 'added-by-pi-seed.txt';

export type CardAction = 'create' | 'replace' | 'unchanged';

export interface CardStep {
  name: string;
  action: CardAction;
  content: Buffer;
  mode: number;
  /** Copy the card's current file to pi-seed-backup/ before replacing it. */
  backup: boolean;
  /** For a command line: the flags added and removed. */
  note?: string;
}

const readIfPresent = (path: string): Buffer | null => (existsSync(path) ? readFileSync(path) : null);
const readTextIn = (dir: string) => (name: string): string | null => readIfPresent(join(dir, name))?.toString('utf8') ?? null;

/**
 * Refuses a folder that is not a mounted Ubuntu Pi boot partition, unless forced: every such
 * partition has config.txt and the command line it names (cmdline.txt, or current/cmdline.txt
 * on the A/B boot releases).
 */
export function checkBootPartition(dir: string, force: boolean, card: CmdlineTarget): void {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new ProblemError(msg.notAFolder(dir));
  if (force) return;
  const missing = existsSync(join(dir, BOOT_CONFIG_FILE)) ? cmdlineEdits(card, readTextIn(dir)).filter((e) => e.before === null).map((e) => e.path) : [BOOT_CONFIG_FILE];
  if (missing.length > 0) throw new ProblemError(msg.notABootPartition(dir, missing));
}

export function addedFiles(dir: string): string[] {
  return (readIfPresent(join(dir, BACKUP_DIR, ADDED_LIST))?.toString('utf8') ?? '').split('\n').filter(Boolean);
}

export function planCardWrite(dir: string, card: NodeCard): CardStep[] {
  const alreadyAdded = addedFiles(dir);
  const edits = new Map<string, CmdlineEdit>(cmdlineEdits(card, readTextIn(dir)).map((e) => [e.path, e]));
  const cmdlineFiles = [...edits.values()].map((e) => ({ name: e.path, content: Buffer.from(e.merge.text, 'utf8'), mode: 0o644 }));
  const wanted = inWriteOrder([...card.files, ...cmdlineFiles]);
  return wanted.map((file) => {
    const current = readIfPresent(join(dir, file.name));
    const action: CardAction = current === null ? 'create' : current.equals(file.content) ? 'unchanged' : 'replace';
    // Only the card's own originals are kept: never pi-seed's earlier output, never a key (a
    // secret the first boot deletes from the partition; a copy in the backup would outlive it).
    const backup = action === 'replace' && file.name !== NODE_KEY_FILE && !alreadyAdded.includes(file.name) && !existsSync(join(dir, BACKUP_DIR, file.name));
    const edit = edits.get(file.name);
    const note = edit ? cmdlineNote(edit.merge.added, edit.merge.removed, edit.before === null) : undefined;
    return { name: file.name, action, content: file.content, mode: file.mode, backup, ...(note ? { note } : {}) };
  });
}

function cmdlineNote(added: readonly string[], removed: readonly string[], fresh: boolean): string {
  if (fresh) return 'the card had none: pi-seed\'s whole line';
  const parts = [...added.map((f) => `+${f}`), ...removed.map((f) => `-${f}`)];
  return parts.length === 0 ? 'already has pi-seed\'s flags' : `merged: ${parts.join(' ')}`;
}

/** What writeFileAtomic's temporary files are called (tempSibling): left behind only by a card pulled mid-write. */
const STALE_TEMP = /^\..+\.pi-seed-\d+-[0-9a-f]{8}$/;

/** Backups first (a failure then leaves the card unchanged), then the files in CARD_WRITE_ORDER. */
export function applyCardWrite(dir: string, steps: readonly CardStep[]): void {
  const folders = [...new Set(['.', ...steps.map((s) => dirname(s.name))])];
  for (const folder of folders.filter((f) => existsSync(join(dir, f)))) {
    for (const name of readdirSync(join(dir, folder)).filter((n) => STALE_TEMP.test(n))) rmSync(join(dir, folder, name), { force: true });
  }
  const backupDir = join(dir, BACKUP_DIR);
  for (const step of steps.filter((s) => s.backup)) writeFileAtomic(join(backupDir, step.name), readFileSync(join(dir, step.name)), 0o644);
  const newlyAdded = steps.filter((s) => s.action === 'create').map((s) => s.name);
  if (newlyAdded.length > 0) writeFileAtomic(join(backupDir, ADDED_LIST), [...new Set([...addedFiles(dir), ...newlyAdded])].sort().map((n) => `${n}\n`).join(''));
  for (const step of steps.filter((s) => s.action !== 'unchanged')) writeFileAtomic(join(dir, step.name), step.content, step.mode);
  fsyncFolder(backupDir);
  for (const folder of folders.reverse()) fsyncFolder(join(dir, folder));
}

/** Makes the renames durable. Not every system can open a folder (Windows): best effort there. */
function fsyncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // The files themselves were fsynced before their rename.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function describeCardWrite(steps: readonly CardStep[]): string {
  const lines: string[] = [];
  for (const step of steps) {
    if (step.backup) lines.push(`  back up   ${step.name} -> ${BACKUP_DIR}/${step.name}`);
    lines.push(`  ${step.action.padEnd(9)} ${step.name}${step.note ? ` (${step.note})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
