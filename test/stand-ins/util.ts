// Small shared pieces: Kubernetes Status errors, label selectors, JSON merge patch, atomic writes.
import yaml from 'js-yaml';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** An error the API server answers with a Kubernetes Status object (and kubectl prints). */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Obj = {},
  ) {
    super(message);
  }
  status(): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

/** Writes via a temporary file and rename, so a reader (or a crash) never sees half a file. */
export function atomicWrite(path: string, data: string | Buffer, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

/** Kubernetes timestamps: RFC 3339 in UTC, whole seconds. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Term = (labels: Record<string, string>) => boolean;

/** A label selector (k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b)) as a predicate. */
export function parseSelector(selector: string): Term {
  const terms: Term[] = [];
  // Split on commas outside parentheses; bounded by the selector's length.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      terms.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      terms.push(op === 'in' ? (l) => l[key] !== undefined && values.includes(l[key]!) : (l) => l[key] === undefined || !values.includes(l[key]!));
    } else if ((m = /^!\s*(\S+)$/.exec(part))) {
      const key = m[1]!;
      terms.push((l) => !(key in l));
    } else if (/^[A-Za-z0-9._/-]+$/.test(part)) {
      terms.push((l) => part in l);
    } else {
      throw new StatusError(400, 'BadRequest', `unable to parse requirement: found '${part}', expected: identifier`);
    }
  }
  return (labels) => terms.every((t) => t(labels));
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [key, value] of Object.entries(patch as Obj)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as Obj).sort().map((k) => [k, sortKeys((v as Obj)[k])]));
  return v;
}

/** The value of "--opt V" or "--opt=V" in argv, and argv without it. */
export function takeOption(argv: string[], ...names: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    for (const name of names) {
      if (arg === name && i + 1 < argv.length) {
        value = argv[i + 1];
        argv.splice(i, 2);
        i--;
      } else if (arg.startsWith(`${name}=`)) {
        value = arg.slice(name.length + 1);
        argv.splice(i, 1);
        i--;
      }
    }
  }
  return value;
}

/** Removes a boolean flag (also "--flag=true"); true when it was there. */
export function takeFlag(argv: string[], ...names: string[]): boolean {
  let found = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    for (const name of names) {
      if (arg === name || arg === `${name}=true`) {
        found = true;
        argv.splice(i, 1);
        i--;
        break;
      }
      if (arg === `${name}=false`) {
        argv.splice(i, 1);
        i--;
        break;
      }
    }
  }
  return found;
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
export const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** YAML as Go's sigs.k8s.io/yaml writes it: long strings on one line, lists not indented. */
export function dumpYaml(value: unknown): string {
  return yaml.dump(value, { lineWidth: -1, noArrayIndent: true, quotingType: '"' });
}
