// The stand-in's "etcd": every object in memory, written through to one JSON file under
// R/var/lib/etcd/pi-seed-standin/ (so `kubeadm reset`, which wipes /var/lib/etcd, wipes it too)
// and reloaded when the server restarts. Types are the built-in ones plus served CRDs.
// With stacked etcd (etcd.ts) the whole state (objects, revision, members) is what the members
// replicate: snapshot() and adopt() move it as one piece.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN, type ResourceType } from './resources.js';
import { atomicWrite, now, type Obj } from './util.js';

/** An etcd member as the stand-in knows it: its name and the URLs it listens on. */
export interface Member {
  name: string;
  peerURL: string;
  clientURL: string;
  /** A learner (kubeadm adds every joining member as one): it gets every write, votes on none. */
  isLearner?: boolean;
}

/** Everything the members replicate. */
export interface Snapshot {
  revision: number;
  objects: Array<[string, Obj]>;
  members: Member[];
}

export const STORE_DIR = 'var/lib/etcd/pi-seed-standin';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class Store {
  private readonly file: string;
  private objects = new Map<string, Obj>();
  private revision = 1;
  /** The etcd members (empty: a store without etcd membership, single and always in quorum). */
  members: Member[] = [];
  /** The revision before the first write not yet replicated (set by put/delete, cleared by the API server). */
  pendingBase: number | undefined;

  constructor(root: string, initialMembers: Member[] = []) {
    this.file = join(root, STORE_DIR, 'objects.json');
    this.members = initialMembers;
    if (existsSync(this.file)) {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Snapshot>;
      this.revision = saved.revision ?? 1;
      this.objects = new Map(saved.objects ?? []);
      if (saved.members?.length) this.members = saved.members;
    } else if (initialMembers.length > 1) {
      // A member joining a running cluster starts empty and copies the state from a peer
      // (revision 0: any peer is ahead); creating namespaces here would fork its history.
      this.revision = 0;
      return;
    }
    // The namespaces every cluster starts with (the API server itself creates them).
    for (const name of SYSTEM_NAMESPACES) {
      if (!this.get(this.type('', 'v1', 'namespaces')!, undefined, name)) this.put(this.type('', 'v1', 'namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    this.pendingBase = undefined;
  }

  revisionString(): string {
    return String(this.revision);
  }

  get currentRevision(): number {
    return this.revision;
  }

  snapshot(): Snapshot {
    return structuredClone({ revision: this.revision, objects: [...this.objects.entries()], members: this.members });
  }

  /** Replaces the whole state with a replicated one (a peer's commit, or a catch-up). */
  adopt(snapshot: Snapshot): void {
    this.revision = snapshot.revision;
    this.objects = new Map(structuredClone(snapshot.objects));
    this.members = structuredClone(snapshot.members);
    this.pendingBase = undefined;
    this.save();
  }

  /** Membership changes are writes like any other (etcd's member add goes through raft). */
  setMembers(members: Member[]): void {
    this.pendingBase ??= this.revision;
    this.members = members;
    this.revision++;
    this.save();
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
    this.pendingBase ??= this.revision;
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
    this.pendingBase ??= this.revision;
    this.revision++;
    this.save();
    return old;
  }

  private save(): void {
    atomicWrite(this.file, JSON.stringify({ revision: this.revision, objects: [...this.objects.entries()], members: this.members }));
  }
}
