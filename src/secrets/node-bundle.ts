// The node key file (pi-seed-node.key) is a text bundle of files, in the format of `head`'s
// headers, so the bootstrap unpacks it with awk (no JSON or YAML parser on a fresh node):
//   # comment lines
//   pi-seed-node-secrets: v2
//   ==> pki/ca.crt <==
//   ...content, ending with a newline...
export const NODE_BUNDLE_HEADER = 'pi-seed-node-secrets: v2';

export interface BundleEntry {
  name: string;
  content: string;
}

/** Relative paths of plain segments: nothing an unpacker could be led out of its folder with. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const ENTRY_LINE = /^==> (.*) <==$/;

function checkEntry(entry: BundleEntry, seen: Set<string>): void {
  if (!SAFE_NAME.test(entry.name) || entry.name.split('/').some((s) => s === '.' || s === '..')) throw new Error(`bundle entry name ${JSON.stringify(entry.name)} is not a safe relative path`);
  if (seen.has(entry.name)) throw new Error(`bundle entry ${entry.name} appears twice`);
  seen.add(entry.name);
  // Empty content is an empty file (the tokens list of a cluster without workers).
  if (entry.content !== '' && !entry.content.endsWith('\n')) throw new Error(`bundle entry ${entry.name} does not end with a newline`);
  if (entry.content.includes('\r')) throw new Error(`bundle entry ${entry.name} contains a carriage return`);
  if (entry.content.split('\n').some((line) => ENTRY_LINE.test(line))) throw new Error(`bundle entry ${entry.name} contains a line that looks like an entry header`);
}

export function formatSecretBundle(node: string, entries: ReadonlyArray<BundleEntry>): string {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(node)) throw new Error(`node name ${JSON.stringify(node)} is not a hostname`);
  const seen = new Set<string>();
  for (const entry of entries) checkEntry(entry, seen);
  const head = [
    `# pi-seed secrets for ${node}. The first boot moves this file off the boot partition (root, 0600).`,
    '# It holds private keys or join tokens: never share it, never leave it on a card you give away.',
    NODE_BUNDLE_HEADER,
  ];
  return `${head.join('\n')}\n${entries.map((e) => `==> ${e.name} <==\n${e.content}`).join('')}`;
}

/** Reads a bundle back (tests, stand-ins); throws on anything formatSecretBundle would not write. */
export function parseSecretBundle(text: string): { node: string | null; entries: BundleEntry[] } {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the bundle does not end with a newline');
  let i = 0;
  let node: string | null = null;
  for (; i < lines.length && lines[i] !== NODE_BUNDLE_HEADER; i++) {
    const line = lines[i]!;
    if (!line.startsWith('#') && line.trim() !== '') throw new Error(`line ${i + 1}: expected a comment or "${NODE_BUNDLE_HEADER}"`);
    node ??= /^# pi-seed secrets for ([a-z0-9-]+)\./.exec(line)?.[1] ?? null;
  }
  if (i === lines.length) throw new Error(`no "${NODE_BUNDLE_HEADER}" line`);
  const entries: BundleEntry[] = [];
  for (i++; i < lines.length; i++) {
    const header = ENTRY_LINE.exec(lines[i]!);
    if (header) entries.push({ name: header[1]!, content: '' });
    else if (entries.length === 0) throw new Error(`line ${i + 1}: expected "==> NAME <=="`);
    else entries[entries.length - 1]!.content += `${lines[i]}\n`;
  }
  const seen = new Set<string>();
  for (const entry of entries) checkEntry(entry, seen);
  return { node, entries };
}
