// Reads cluster.yaml keeping every node's position, so that any problem found later (schema,
// semantic rules) can point at file:line:column. The `yaml` package is used for this because
// js-yaml does not expose node positions; js-yaml still renders every YAML we write.
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, type Document, type Node } from 'yaml';
import { type Diagnostic, type JsonPath } from '../diagnostics.js';
import { msg } from '../errors.js';

/** Larger inputs are refused before parsing: a cluster description is a few kilobytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Aliases expanded at most this many times (guards against "billion laughs" alias bombs). */
const MAX_ALIAS_COUNT = 100;

export interface Source {
  file: string;
  text: string;
  /** The parsed value, or undefined when the file could not be parsed. */
  data: unknown;
  /** Line and column (1-based) of the value at a JSON path, or of its closest existing parent. */
  locate(path: JsonPath, wantKey?: boolean): { line: number; col: number } | undefined;
}

export interface LoadResult {
  source: Source;
  diagnostics: Diagnostic[];
}

export function readConfigFile(file: string): { text?: string; diagnostic?: Diagnostic } {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { diagnostic: msg.notAFile(file) };
    size = stat.size;
  } catch (err) {
    return { diagnostic: msg.cannotRead(file, (err as NodeJS.ErrnoException).code ?? 'error') };
  }
  if (size > MAX_CONFIG_BYTES) return { diagnostic: msg.tooLarge(file, size, MAX_CONFIG_BYTES) };
  const bytes = readFileSync(file);
  if (bytes.includes(0)) return { diagnostic: msg.binaryFile(file) };
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) return { diagnostic: msg.notUtf8(file) };
  return { text };
}

export function parseSource(file: string, text: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const diagnostics: Diagnostic[] = [];
  const position = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  for (const error of doc.errors) {
    const at = position(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    diagnostics.push({
      ...(duplicate ? msg.duplicateKey() : msg.yamlSyntax(firstLine(error.message))),
      path: [],
      file,
      ...at,
    });
  }
  let data: unknown;
  if (diagnostics.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      diagnostics.push({ ...msg.yamlSyntax(firstLine((err as Error).message)), path: [], file, line: 1, col: 1 });
    }
  }
  const locate = (path: JsonPath, wantKey = false) => locateIn(doc, path, wantKey, position);
  return { source: { file, text, data, locate }, diagnostics };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function locateIn(
  doc: Document,
  path: JsonPath,
  wantKey: boolean,
  position: (offset: number) => { line: number; col: number },
) {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let best: Node | undefined = isNode(node) ? node : undefined;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      keyNode = isNode(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else {
      break;
    }
    if (isNode(node)) best = node;
    else if (keyNode) best = keyNode;
    else break;
  }
  const target = wantKey && keyNode ? keyNode : best;
  const offset = target?.range?.[0];
  return offset === undefined ? { line: 1, col: 1 } : position(offset);
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}
