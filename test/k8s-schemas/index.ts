// Strict JSON Schemas (draft 2020-12) for every Kubernetes document pi-seed writes, written from
// upstream's Go types (each file's $comment names the repository, path and tag). Unlike kubeadm,
// which only warns about an unknown field and drops it, these refuse it.
// Schemas are read from <cwd>/test/k8s-schemas: tests run from the repo root, compiled into dist/test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import yaml from 'js-yaml';

export const SCHEMA_DIR = join(process.cwd(), 'test', 'k8s-schemas');

/** "apiVersion kind" → schema file. */
export const SCHEMA_FILES: Readonly<Record<string, string>> = {
  'kubeadm.k8s.io/v1beta4 InitConfiguration': 'kubeadm-v1beta4-InitConfiguration.json',
  'kubeadm.k8s.io/v1beta4 ClusterConfiguration': 'kubeadm-v1beta4-ClusterConfiguration.json',
  'kubeadm.k8s.io/v1beta4 JoinConfiguration': 'kubeadm-v1beta4-JoinConfiguration.json',
  'kubelet.config.k8s.io/v1beta1 KubeletConfiguration': 'kubelet-v1beta1-KubeletConfiguration.json',
  'metallb.io/v1beta1 IPAddressPool': 'metallb-v1beta1-IPAddressPool.json',
  'metallb.io/v1beta1 L2Advertisement': 'metallb-v1beta1-L2Advertisement.json',
  'v1 Namespace': 'core-v1-Namespace.json',
  'v1 ConfigMap': 'core-v1-ConfigMap.json',
  'rbac.authorization.k8s.io/v1 Role': 'rbac-v1-Role.json',
  'rbac.authorization.k8s.io/v1 RoleBinding': 'rbac-v1-RoleBinding.json',
  'v1 Service': 'core-v1-Service.json',
  'apps/v1 Deployment': 'apps-v1-Deployment.json',
};

let validators: Map<string, ValidateFunction> | undefined;

function compiled(): Map<string, ValidateFunction> {
  if (validators) return validators;
  // Strict about the schemas themselves (unknown keywords, loose types), except `required` inside
  // not/oneOf, which names properties defined beside it (mutually exclusive fields), and union
  // types, which Kubernetes has (IntOrString, a Quantity, a nullable Time).
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  const addFormats = addFormatsModule as unknown as (a: Ajv2020) => Ajv2020;
  addFormats(ajv);
  const schemas = new Map<string, { $id: string }>();
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    schemas.set(file, schema);
  }
  const byKind = new Map<string, ValidateFunction>();
  for (const [key, file] of Object.entries(SCHEMA_FILES)) {
    const schema = schemas.get(file);
    if (!schema) throw new Error(`schema ${file} for ${key} is missing from ${SCHEMA_DIR}`);
    byKind.set(key, ajv.getSchema(schema.$id)!);
  }
  validators = byKind;
  return byKind;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${at}: ${e.message} ${JSON.stringify(e.params.allowedValues)}`;
  return `${at}: ${e.message}`;
}

/** Errors of one parsed document (empty = valid). An unknown apiVersion/kind is an error. */
export function validateKubernetesDocument(doc: unknown): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return ['document is not a mapping'];
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  const key = `${String(apiVersion)} ${String(kind)}`;
  const validate = compiled().get(key);
  if (!validate) return [`no schema for apiVersion "${String(apiVersion)}" kind "${String(kind)}"`];
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(describe);
}

/** Errors of every document of a multi-document YAML text, each prefixed with `label`, the document's index and kind. */
export function validateKubernetesYaml(text: string, label: string): string[] {
  let docs: unknown[];
  try {
    // CORE_SCHEMA: timestamps stay strings (as in Go's YAML→JSON), not Date objects.
    docs = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    return [`${label}: YAML does not parse: ${(e as Error).message}`];
  }
  const errors: string[] = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return; // an empty document (e.g. a trailing ---)
    const { apiVersion, kind } = (typeof doc === 'object' ? doc : {}) as { apiVersion?: unknown; kind?: unknown };
    const where = `${label} document ${i + 1} (${String(apiVersion)} ${String(kind)})`;
    for (const e of validateKubernetesDocument(doc)) errors.push(`${where}: ${e}`);
  });
  return errors;
}

/** apiVersion+kind of every non-empty document of a YAML text (for coverage checks). */
export function documentKinds(text: string): string[] {
  return yaml
    .loadAll(text, undefined, { schema: yaml.CORE_SCHEMA })
    .filter((d): d is { apiVersion?: unknown; kind?: unknown } => d !== null && typeof d === 'object')
    .map((d) => `${String(d.apiVersion)} ${String(d.kind)}`);
}
