// The parts of the API server's validation a bootstrap can trip over: object names, label keys
// and values, ConfigMap/Secret data. Failures are 422 Invalid with the real wording.
import type { ResourceType } from './resources.js';
import { StatusError, type Obj } from './util.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function validate(type: ResourceType, obj: Obj): void {
  const name = String(obj.metadata?.name ?? '');
  const errors: string[] = [];
  const invalid = (field: string, value: string, why: string) => errors.push(`${field}: Invalid value: ${JSON.stringify(value)}: ${why}`);
  if (!name) errors.push('metadata.name: Required value: name or generateName is required');
  else if (type.group === 'rbac.authorization.k8s.io') {
    if (name === '.' || name === '..' || /[/%]/.test(name)) invalid('metadata.name', name, "may not contain '/' or '%'");
  } else if (type.plural === 'namespaces') {
    if (!DNS_LABEL.test(name) || name.length > 63)
      invalid('metadata.name', name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  } else if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    invalid('metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  for (const [key, value] of Object.entries((obj.metadata?.labels ?? {}) as Obj)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    const base = slash >= 0 ? key.slice(slash + 1) : key;
    if ((slash >= 0 && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(base) || base.length > 63)
      invalid('metadata.labels', key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    if (typeof value !== 'string' || !LABEL_VALUE.test(value) || value.length > 63)
      invalid('metadata.labels', String(value), "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  }
  if (type.group === '' && (type.plural === 'configmaps' || type.plural === 'secrets')) {
    const fields = type.plural === 'configmaps' ? ['data', 'binaryData'] : ['data', 'stringData'];
    const seen = new Set<string>();
    for (const field of fields) {
      for (const [key, value] of Object.entries((obj[field] ?? {}) as Obj)) {
        if (!DATA_KEY.test(key)) invalid(`${field}[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
        if (type.plural === 'configmaps' && seen.has(key)) invalid(`data[${key}]`, key, 'duplicate of key present in binaryData');
        seen.add(key);
        if (typeof value !== 'string') errors.push(`${field}[${key}]: Invalid value: must be a string`);
        else if ((field === 'binaryData' || (type.plural === 'secrets' && field === 'data')) && !BASE64.test(value)) errors.push(`${field}[${key}]: Invalid value: illegal base64 data`);
      }
    }
  }
  if (errors.length) {
    const what = `${type.kind} ${JSON.stringify(name)}`;
    throw new StatusError(422, 'Invalid', `${what} is invalid: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`, { name, kind: type.plural, ...(type.group ? { group: type.group } : {}) });
  }
}
