// The stand-in's "etcd": every object in memory, written through to one JSON file under
// R/var/lib/etcd/pi-seed-standin/ (so `kubeadm reset`, which wipes /var/lib/etcd, wipes it too)
// and reloaded when the server restarts. Types are the built-in ones plus served CRDs.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN, type ResourceType } from './resources.js';
import { atomicWrite, now, type Obj } from './util.js';

export const STORE_DIR = 'var/lib/etcd/pi-seed-standin';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class Store {
  private readonly file: string;
  private objects = new Map<string, Obj>();
  private revision = 1;

  constructor(root: string) {
    this.file = join(root, STORE_DIR, 'objects.json');
    if (existsSync(this.file)) {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as { revision: number; objects: Array<[string, Obj]> };
      this.revision = saved.revision;
      this.objects = new Map(saved.objects);
    }
    // The namespaces every cluster starts with (the API server itself creates them).
    for (const name of SYSTEM_NAMESPACES) {
      if (!this.get(this.type('', 'v1', 'namespaces')!, undefined, name)) this.put(this.type('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  revisionString(): string {
    return String(this.revision);
  }

  /** The type served at group/version/plural: built in, or from a stored CRD. */
  type(group: string, version: string, plural: string): ResourceType | undefined {
    const builtin = BUILTIN.find((t) => t.group === group && t.plural === plural && t.version === version);
    if (builtin) return builtin;
    return this.crdTypes().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** Every type of a group version (discovery). */
  typesOf(group: string, version: string): ResourceType[] {
    return [...BUILTIN, ...this.crdTypes()].filter((t) => t.group === group && t.version === version);
  }

  allTypes(): ResourceType[] {
    return [...BUILTIN, ...this.crdTypes()];
  }

  private crdTypes(): ResourceType[] {
    const out: ResourceType[] = [];
    for (const [key, crd] of this.objects) {
      if (!key.startsWith('apiextensions.k8s.io|customresourcedefinitions|')) continue;
      const spec = crd.spec ?? {};
      for (const v of (spec.versions ?? []) as Obj[]) {
        if (v.served === false) continue;
        out.push({ group: spec.group, version: v.name, kind: spec.names?.kind, plural: spec.names?.plural, namespaced: spec.scope !== 'Cluster', shortNames: spec.names?.shortNames ?? [] });
      }
    }
    return out;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.group}|${type.plural}|${type.namespaced ? namespace : ''}|${name}`;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const obj = this.objects.get(this.key(type, namespace, name));
    return obj && structuredClone(obj);
  }

  list(type: ResourceType, namespace: string | undefined): Obj[] {
    const prefix = `${type.group}|${type.plural}|${type.namespaced && namespace !== undefined ? `${namespace}|` : ''}`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => structuredClone(o));
  }

  /** Stores `obj` (new or replacing), maintaining uid, creationTimestamp and resourceVersion. */
  put(type: ResourceType, namespace: string | undefined, obj: Obj): Obj {
    const name = obj.metadata.name as string;
    const key = this.key(type, namespace, name);
    const old = this.objects.get(key);
    this.revision++;
    obj.metadata = {
      ...obj.metadata,
      ...(type.namespaced ? { namespace } : {}),
      uid: old?.metadata.uid ?? randomUUID(),
      creationTimestamp: old?.metadata.creationTimestamp ?? now(),
      resourceVersion: String(this.revision),
    };
    if (!type.namespaced) delete obj.metadata.namespace;
    this.objects.set(key, obj);
    this.save();
    return structuredClone(obj);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const key = this.key(type, namespace, name);
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.objects.delete(key);
    // Deleting a namespace deletes what is in it (done at once: there is no finalizer here).
    if (type.plural === 'namespaces' && type.group === '') {
      for (const k of [...this.objects.keys()]) if (k.split('|')[2] === name) this.objects.delete(k);
    }
    this.revision++;
    this.save();
    return old;
  }

  private save(): void {
    atomicWrite(this.file, JSON.stringify({ revision: this.revision, objects: [...this.objects.entries()] }));
  }
}
