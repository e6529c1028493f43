// YAML documents are dumped from typed objects with js-yaml: keys keep the order the objects
// were built in (stable by construction), long lines are never folded, multi-line strings
// become literal blocks that read well in a diff.
import yaml from 'js-yaml';

export function toYaml(value: unknown): string {
  return yaml.dump(value, { lineWidth: -1, noRefs: true, quotingType: "'", forceQuotes: false });
}

/** Several documents in one file, separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map(toYaml).join('---\n');
}
