// load → validate: one function that reads cluster.yaml and returns either a typed spec or every
// problem found, each placed at file:line:column.
import { type Diagnostic, hasErrors, type JsonPath } from '../diagnostics.js';
import { msg } from '../errors.js';
import { parseSource, readConfigFile, type Source } from '../load/source.js';
import { type ClusterSpecV1 } from '../spec/v1/types.js';
import { checkRules } from './rules.js';
import { checkSchema } from './schema.js';

export interface Validated {
  diagnostics: Diagnostic[];
  /** Present when there is no error (warnings allowed). */
  spec?: ClusterSpecV1;
  source?: Source;
}

export function validateText(file: string, text: string): Validated {
  const { source, diagnostics } = parseSource(file, text);
  if (diagnostics.length > 0) return { diagnostics, source };
  const place = (d: Omit<Diagnostic, 'file' | 'line' | 'col'>, atKey = false): Diagnostic => ({ ...d, file, ...source.locate(d.path as JsonPath, atKey) });
  const data = source.data;
  if (data === undefined || data === null) return { diagnostics: [place({ ...msg.emptyFile(), path: [] })], source };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { diagnostics: [place({ ...msg.notAMapping(Array.isArray(data) ? 'a list' : `a ${typeof data}`), path: [] })], source };
  }
  const schema = checkSchema(data);
  const found = [
    ...schema.diagnostics.map((d) => place(d, schema.atKey.has(d))),
    ...checkRules(data).map(({ problem, path }) => place({ ...problem, path })),
  ];
  return hasErrors(found) ? { diagnostics: found, source } : { diagnostics: found, spec: data as ClusterSpecV1, source };
}

export function validateFile(file: string): Validated {
  const { text, diagnostic } = readConfigFile(file);
  if (text === undefined) return { diagnostics: [diagnostic!] };
  return validateText(file, text);
}
