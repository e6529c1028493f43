// Shape checks against schemas/cluster.schema.json, with ajv's findings turned into catalog
// messages (unknown keys get a "did you mean").
import { join } from 'node:path';
import { type ErrorObject, type ValidateFunction } from 'ajv';
import { type Diagnostic, type JsonPath, type Problem } from '../diagnostics.js';
import { msg } from '../errors.js';
import { packageRoot } from '../paths.js';
import { closest } from '../suggest.js';
// Precompiled from schemas/cluster.schema.json by scripts/build-validators.mjs (npm run build):
// compiling the schema at run time would cost more than the rest of a build.
import { validate as generatedValidate } from './cluster-validator.generated.js';

export const clusterSchemaPath = (): string => join(packageRoot(), 'schemas', 'cluster.schema.json');

const validator = generatedValidate as unknown as ValidateFunction;

const CIDR_KEYS = new Set(['subnet', 'podCIDR', 'serviceCIDR']);

/** How to describe a pattern mismatch, keyed by the property name. */
const PATTERN_HELP: Record<string, [string, string]> = {
  name: ['name (RFC 1123 label: lower-case letters, digits and "-", at most 63, no "-" at either end)', 'work01'],
  domain: ['DNS domain', 'example.com'],
  version: ['Kubernetes minor version', '"1.37"'],
  interface: ['network interface name', 'eth0'],
  timezone: ['IANA time zone', 'Asia/Tokyo'],
  layout: ['keyboard layout', 'jp'],
  model: ['keyboard model', 'jp106'],
  variant: ['keyboard variant', 'nodeadkeys'],
  locale: ['locale', 'en_US.UTF-8'],
  address: ['IPv4 address', '192.168.1.101'],
  gateway: ['IPv4 address', '192.168.1.1'],
  dns: ['IPv4 address', '192.168.1.1'],
  ntp: ['NTP server (a host name or an IPv4 address)', '192.168.1.1 or ntp.ubuntu.com'],
  passwordHash: ['crypt(3) password hash (a plain password is never accepted)', 'the output of `mkpasswd -m sha-512`'],
  sshAuthorizedKeys: ['SSH public key', 'ssh-ed25519 AAAAC3Nz... you@desktop'],
  addresses: ['address pool', '192.168.1.210-192.168.1.215'],
};

/** Pattern help for a key whose name means something else elsewhere (nodes[].name is a host name). */
const PATTERN_HELP_AT: Record<string, [string, string]> = {
  'admin.name': ['Linux user name (lower-case letters, digits, "_" and "-", starting with a letter or "_", at most 32 characters)', 'pi'],
};

export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: JsonPath): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function toDiagnostic(error: ErrorObject, data: unknown): { problem: Problem; path: JsonPath; atKey?: boolean } | undefined {
  const path = pointerToPath(error.instancePath);
  const last = path[path.length - 1];
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return { problem: msg.unknownKey(key, closest(key, known)), path: [...path, key], atKey: true };
    }
    case 'required':
      return { problem: msg.missingKey(String(params.missingProperty)), path };
    case 'const':
      return last === 'apiVersion' ? { problem: msg.unknownApiVersion(valueAt(data, path)), path } : undefined;
    case 'type':
      return { problem: msg.wrongType(String(params.type), describe(valueAt(data, path))), path };
    case 'enum':
      return { problem: msg.notOneOf(params.allowedValues as unknown[]), path };
    case 'pattern': {
      const key = typeof last === 'number' ? path[path.length - 2] : last;
      if (CIDR_KEYS.has(String(key))) return { problem: msg.badCidr(String(valueAt(data, path))), path };
      const [what, example] = PATTERN_HELP_AT[path.filter((p) => typeof p === 'string').join('.')] ?? PATTERN_HELP[String(key)] ?? ['value', 'the examples in README.md'];
      return { problem: msg.badPattern(what, example), path };
    }
    case 'minItems':
      return { problem: msg.tooFewItems(Number(params.limit)), path };
    case 'maxItems':
      return { problem: msg.tooManyItems(Number(params.limit)), path };
    case 'uniqueItems':
      return { problem: msg.duplicateItems(Number(params.j), Number(params.i)), path };
    case 'minimum':
    case 'maximum': {
      const s = error.parentSchema as { minimum?: number; maximum?: number };
      return { problem: msg.outOfRange(s.minimum, s.maximum), path };
    }
    default:
      return { problem: { severity: 'error', code: 'schema', message: error.message ?? 'invalid value' }, path };
  }
}

export function checkSchema(data: unknown): { diagnostics: Diagnostic[]; atKey: Set<Diagnostic> } {
  const validate = validator;
  const diagnostics: Diagnostic[] = [];
  const atKey = new Set<Diagnostic>();
  if (validate(data)) return { diagnostics, atKey };
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const found = toDiagnostic(error, data);
    if (!found) continue;
    const diagnostic: Diagnostic = { ...found.problem, path: found.path };
    const id = `${diagnostic.code}|${JSON.stringify(diagnostic.path)}|${diagnostic.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    diagnostics.push(diagnostic);
    if (found.atKey) atKey.add(diagnostic);
  }
  return { diagnostics, atKey };
}
