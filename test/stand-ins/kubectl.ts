// The kubectl stand-in: the commands a bootstrap script uses, talking HTTPS to the (stand-in)
// API server with the kubeconfig's credentials and CA, printing what kubectl prints and failing
// where it fails (exit 1, "Error from server (Reason): message").
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { VERSION } from './version.js';
import { expectOk, readKubeconfig, request, type Credentials } from './client.js';
import { jsonpath } from './jsonpath.js';
import { BUILTIN, groupPrefix, resourcePath, splitApiVersion, type ResourceType } from './resources.js';
import { StatusError, dumpYaml, mergePatch, type Obj } from './util.js';

class KubectlError extends Error {}

const VALUE = new Set(['-n', '--namespace', '-l', '--selector', '-o', '--output', '-f', '--filename', '--kubeconfig', '--server', '-s', '--context', '--type', '-p', '--patch', '--for', '--timeout', '--field-manager', '--request-timeout', '--field-selector', '--raw', '--from-file', '--from-literal', '--dry-run', '--cluster', '--user', '--token', '--patch-file']);

interface Cli {
  positional: string[];
  opts: Map<string, string[]>;
}

function parse(argv: string[]): Cli {
  const positional: string[] = [];
  const opts = new Map<string, string[]>();
  const add = (k: string, v: string) => opts.set(k, [...(opts.get(k) ?? []), v]);
  const alias: Record<string, string> = { '-n': '--namespace', '-l': '--selector', '-o': '--output', '-f': '--filename', '-p': '--patch', '-s': '--server', '-A': '--all-namespaces' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let m: RegExpExecArray | null;
    if ((m = /^(--[^=]+)=(.*)$/s.exec(arg))) add(alias[m[1]!] ?? m[1]!, m[2]!);
    else if (VALUE.has(arg)) add(alias[arg] ?? arg, argv[++i] ?? '');
    else if ((m = /^(-[nlofps])(.+)$/s.exec(arg))) add(alias[m[1]!]!, m[2]!.replace(/^=/, ''));
    else if (arg.startsWith('-') && arg !== '-') add(alias[arg] ?? arg, 'true');
    else positional.push(arg);
  }
  return { positional, opts };
}

const opt = (cli: Cli, name: string) => cli.opts.get(name)?.at(-1);
const flag = (cli: Cli, name: string) => cli.opts.has(name) && opt(cli, name) !== 'false';

function credentials(cli: Cli): Credentials {
  const file = opt(cli, '--kubeconfig') ?? process.env.KUBECONFIG?.split(':')[0] ?? join(process.env.HOME ?? homedir(), '.kube', 'config');
  if (!existsSync(file)) {
    if (opt(cli, '--kubeconfig')) throw new KubectlError(`error: stat ${file}: no such file or directory`);
    // No configuration at all: kubectl falls back to localhost:8080, which is refused.
    throw new KubectlError('The connection to the server localhost:8080 was refused - did you specify the right host or port?');
  }
  const creds = readKubeconfig(file);
  const server = opt(cli, '--server');
  return server ? { ...creds, server } : creds;
}

/** kube-apiserver's --request-timeout default: how long a request without a client timeout may take. */
const SERVER_REQUEST_TIMEOUT_MS = 60_000;

class Client {
  private crds?: ResourceType[];
  constructor(
    readonly creds: Credentials,
    private readonly timeoutMs = SERVER_REQUEST_TIMEOUT_MS,
  ) {}

  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; obj: Obj }> {
    let res;
    try {
      res = await request(this.creds, method, path, body, contentType, this.timeoutMs);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const url = new URL(this.creds.server);
      const hostPort = `${url.hostname}:${url.port || '443'}`;
      if (e.code === 'ECONNREFUSED') throw new KubectlError(`The connection to the server ${hostPort} was refused - did you specify the right host or port?`);
      if (['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(e.code ?? '')) throw new KubectlError('Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority');
      if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') throw new KubectlError(`Unable to connect to the server: tls: failed to verify certificate: x509: certificate is not valid for ${url.hostname}`);
      throw new KubectlError(`Unable to connect to the server: dial tcp ${hostPort}: ${e.message}`);
    }
    if (res.status === 401) throw new KubectlError('error: You must be logged in to the server (Unauthorized)');
    return { status: res.status, obj: expectOk(res) };
  }

  /** KIND as typed (node, nodes, no, deployment.apps, deploy, a CRD's plural…) → its type. */
  async resolve(kind: string): Promise<ResourceType> {
    const k = kind.toLowerCase();
    const matches = (t: ResourceType) => [t.plural, t.kind.toLowerCase(), ...(t.shortNames ?? [])].some((n) => n === k || (t.group && `${n}.${t.group}` === k));
    const builtin = BUILTIN.find(matches);
    if (builtin) return builtin;
    const found = (await this.crdTypes()).find(matches);
    if (!found) throw new KubectlError(`error: the server doesn't have a resource type "${kind}"`);
    return found;
  }

  /** apiVersion + kind of a document → its type, through the server's discovery (CRDs too). */
  async mapping(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const { group, version } = splitApiVersion(apiVersion);
    const builtin = BUILTIN.find((t) => t.group === group && t.version === version && t.kind === kind);
    if (builtin) return builtin;
    const res = await request(this.creds, 'GET', groupPrefix(group, version)).catch(() => undefined);
    if (!res || res.status !== 200) return undefined;
    const r = (res.json().resources as Obj[]).find((x) => x.kind === kind && !String(x.name).includes('/'));
    return r && { group, version, kind, plural: r.name, namespaced: r.namespaced };
  }

  private async crdTypes(): Promise<ResourceType[]> {
    if (this.crds) return this.crds;
    const res = await request(this.creds, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions').catch(() => undefined);
    const items: Obj[] = res?.status === 200 ? res.json().items : [];
    this.crds = items.flatMap((crd) => (crd.spec.versions as Obj[]).map((v) => ({ group: crd.spec.group, version: v.name, kind: crd.spec.names.kind, plural: crd.spec.names.plural, namespaced: crd.spec.scope !== 'Cluster', shortNames: crd.spec.names.shortNames ?? [] })));
    return this.crds;
  }
}

const typeName = (t: ResourceType) => `${t.kind.toLowerCase()}${t.group ? `.${t.group}` : ''}`;
const serverError = (e: unknown) => (e instanceof StatusError ? new KubectlError(`Error from server (${e.reason}): ${e.message}`) : e);

function age(ts?: string): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts ?? '')) / 1000));
  if (!Number.isFinite(s)) return '<unknown>';
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

function table(t: ResourceType, items: Obj[], showNs: boolean, noHeaders: boolean): string {
  const rows: string[][] = [];
  const node = t.plural === 'nodes' && t.group === '';
  const head = node ? ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'] : ['NAME', 'AGE'];
  if (!noHeaders) rows.push([...(showNs ? ['NAMESPACE'] : []), ...head]);
  for (const o of items) {
    const base = [...(showNs ? [o.metadata.namespace ?? ''] : []), o.metadata.name];
    if (node) {
      const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
      const roles = Object.keys(o.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice(24)).sort().join(',') || '<none>';
      rows.push([...base, ready?.status === 'True' ? 'Ready' : 'NotReady', roles, age(o.metadata.creationTimestamp), o.status?.nodeInfo?.kubeletVersion ?? '']);
    } else rows.push([...base, age(o.metadata.creationTimestamp)]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd() + '\n').join('');
}

function print(cli: Cli, t: ResourceType, result: Obj, single: boolean, namespace: string | undefined): string {
  const output = opt(cli, '--output') ?? '';
  const items: Obj[] = single ? [result] : result.items;
  const clean = (o: Obj) => ({ ...o, metadata: { ...o.metadata } });
  const data = single ? clean(result) : { apiVersion: 'v1', kind: 'List', items: items.map(clean), metadata: { resourceVersion: '' } };
  if (output === 'json') return JSON.stringify(data, null, 4) + '\n';
  if (output === 'yaml') return dumpYaml(data);
  if (output === 'name') return items.map((o) => `${typeName(t)}/${o.metadata.name}\n`).join('');
  if (output.startsWith('jsonpath=') || output.startsWith('jsonpath-as-json=')) return jsonpath(output.slice(output.indexOf('=') + 1).replace(/^'(.*)'$/s, '$1'), data);
  if (output && output !== 'wide') throw new KubectlError(`error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,name,yaml`);
  if (!single && items.length === 0) {
    process.stderr.write(t.namespaced && namespace !== undefined ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
    return '';
  }
  return table(t, items, !single && t.namespaced && namespace === undefined, flag(cli, '--no-headers'));
}

/** KIND NAME…, KIND/NAME… → [type, names]. */
async function targets(client: Client, args: string[]): Promise<Array<[ResourceType, string | undefined]>> {
  if (!args.length) throw new KubectlError('error: You must specify the type of resource to get.');
  if (args[0]!.includes('/')) {
    const out: Array<[ResourceType, string | undefined]> = [];
    for (const a of args) {
      const [kind, name] = a.split('/');
      out.push([await client.resolve(kind!), name]);
    }
    return out;
  }
  const t = await client.resolve(args[0]!);
  return args.length === 1 ? [[t, undefined]] : args.slice(1).map((n) => [t, n]);
}

function readDocs(cli: Cli): Array<{ doc: Obj; source: string }> {
  const files = cli.opts.get('--filename') ?? [];
  if (!files.length) throw new KubectlError('error: must specify one of -f and -k');
  const out: Array<{ doc: Obj; source: string }> = [];
  const load = (text: string, source: string) => {
    for (const d of yaml.loadAll(text)) {
      if (!d || typeof d !== 'object') continue;
      const doc = d as Obj;
      if (doc.kind === 'List' && Array.isArray(doc.items)) doc.items.forEach((item: Obj) => out.push({ doc: item, source }));
      else out.push({ doc, source });
    }
  };
  for (const f of files) {
    if (f === '-') load(readFileSync(0, 'utf8'), 'STDIN');
    else if (!existsSync(f)) throw new KubectlError(`error: the path "${f}" does not exist`);
    else if (statSync(f).isDirectory()) for (const e of readdirSync(f).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()) load(readFileSync(join(f, e), 'utf8'), join(f, e));
    else load(readFileSync(f, 'utf8'), f);
  }
  return out;
}

/** The namespace for a document: its own, else -n, else default; a conflict is refused like kubectl. */
function docNamespace(cli: Cli, t: ResourceType, doc: Obj): string | undefined {
  if (!t.namespaced) return undefined;
  const flagNs = opt(cli, '--namespace');
  const own = doc.metadata?.namespace;
  if (own && flagNs && own !== flagNs) throw new KubectlError(`error: the namespace from the provided object "${own}" does not match the namespace "${flagNs}". You must pass '--namespace=${own}' to perform this operation.`);
  return own ?? flagNs ?? 'default';
}

/** The three-way part of client-side apply: fields the last apply set and this one drops become null. */
function dropped(last: unknown, next: unknown): unknown {
  if (!last || typeof last !== 'object' || Array.isArray(last) || !next || typeof next !== 'object' || Array.isArray(next)) return next;
  const out: Obj = { ...(next as Obj) };
  for (const k of Object.keys(last as Obj)) out[k] = k in (next as Obj) ? dropped((last as Obj)[k], (next as Obj)[k]) : null;
  return out;
}

async function applyOrCreate(cli: Cli, client: Client, create: boolean): Promise<string> {
  let out = '';
  const errors: string[] = [];
  const serverSide = flag(cli, '--server-side');
  const docs = readDocs(cli);
  if (!docs.length) throw new KubectlError(`error: no objects passed to ${create ? 'create' : 'apply'}`);
  for (const { doc, source } of docs) {
    const name = doc.metadata?.name;
    // kubectl's client-side validation (on by default) and its own name check.
    const unset = [...(doc.apiVersion ? [] : ['apiVersion not set']), ...(doc.kind ? [] : ['kind not set'])];
    if (unset.length && opt(cli, '--validate') !== 'false') {
      errors.push(`error: error validating "${source}": error validating data: [${unset.join(', ')}]; if you choose to ignore these errors, turn validation off with --validate=false`);
      continue;
    }
    if (!name) {
      errors.push(`error: error when retrieving current configuration of:\nResource: "${doc.apiVersion}, Kind=${doc.kind}"\nfrom server for: "${source}": resource name may not be empty`);
      continue;
    }
    const t = await client.mapping(String(doc.apiVersion ?? ''), String(doc.kind ?? ''));
    if (!t) {
      errors.push(`error: resource mapping not found for name: "${name}" namespace: "${doc.metadata?.namespace ?? ''}" from "${source}": no matches for kind "${doc.kind}" in version "${doc.apiVersion}"\nensure CRDs are installed first`);
      continue;
    }
    const ns = docNamespace(cli, t, doc);
    const body = { ...doc, metadata: { ...doc.metadata, ...(ns ? { namespace: ns } : {}) } };
    let phase = create ? 'creating' : 'applying patch to';
    try {
      if (create) {
        await client.call('POST', resourcePath(t, ns), body);
        out += `${typeName(t)}/${name} created\n`;
      } else if (serverSide) {
        const manager = opt(cli, '--field-manager') ?? 'kubectl';
        await client.call('PATCH', `${resourcePath(t, ns, name)}?fieldManager=${encodeURIComponent(manager)}${flag(cli, '--force-conflicts') ? '&force=true' : ''}`, body, 'application/apply-patch+yaml');
        out += `${typeName(t)}/${name} serverside-applied\n`;
      } else {
        const annotation = 'kubectl.kubernetes.io/last-applied-configuration';
        const lastApplied = JSON.stringify(body);
        const withAnnotation = mergePatch(body, { metadata: { annotations: { [annotation]: lastApplied } } }) as Obj;
        const got = await client.call('GET', resourcePath(t, ns, name)).catch((e) => {
          if (e instanceof StatusError && e.code === 404) return undefined;
          throw e;
        });
        if (!got) {
          phase = 'creating';
          await client.call('POST', resourcePath(t, ns), withAnnotation);
          out += `${typeName(t)}/${name} created\n`;
        } else {
          const previous = got.obj.metadata?.annotations?.[annotation];
          const patch = previous ? dropped(JSON.parse(previous), withAnnotation) : withAnnotation;
          const after = await client.call('PATCH', resourcePath(t, ns, name), patch, 'application/merge-patch+json');
          out += `${typeName(t)}/${name} ${after.obj.metadata?.resourceVersion === got.obj.metadata?.resourceVersion ? 'unchanged' : 'configured'}\n`;
        }
      }
    } catch (e) {
      if (e instanceof StatusError) errors.push(`Error from server (${e.reason}): error when ${phase} "${source}": ${e.message}`);
      else throw e;
    }
  }
  if (errors.length) {
    process.stdout.write(out);
    throw new KubectlError(errors.join('\n'));
  }
  return out;
}

function parseTimeout(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new KubectlError(`error: invalid argument "${text}" for "--timeout" flag: time: invalid duration "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

async function run(cli: Cli): Promise<string> {
  const [verb, ...rest] = cli.positional;
  if (verb === 'version') {
    const client = `Client Version: ${VERSION}\nKustomize Version: v5.7.1\n`;
    if (flag(cli, '--client')) return client;
    const server = await new Client(credentials(cli)).call('GET', '/version');
    return `${client}Server Version: ${server.obj.gitVersion}\n`;
  }
  if (verb === 'completion') return `# kubectl completion ${rest[0] ?? ''} (stand-in)\n`;
  // kubectl's --request-timeout is 0 (none) by default: a request then ends when the API server
  // ends it, at its own --request-timeout (1 min by default), so that is the stand-in's bound.
  const client = new Client(credentials(cli), parseTimeout(opt(cli, '--request-timeout'), SERVER_REQUEST_TIMEOUT_MS) || SERVER_REQUEST_TIMEOUT_MS);
  const namespace = flag(cli, '--all-namespaces') ? undefined : opt(cli, '--namespace') ?? 'default';
  const nsOf = (t: ResourceType) => (t.namespaced ? namespace : undefined);
  switch (verb) {
    case 'apply':
      return applyOrCreate(cli, client, false);
    case 'create': {
      if (cli.opts.has('--filename')) return applyOrCreate(cli, client, true);
      const [what, name] = rest;
      let obj: Obj;
      if (what === 'namespace' || what === 'ns') obj = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
      else if (what === 'configmap' || what === 'cm') {
        const data: Obj = {};
        for (const l of cli.opts.get('--from-literal') ?? []) data[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
        for (const f of cli.opts.get('--from-file') ?? []) {
          const [key, path] = f.includes('=') ? [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] : [f.split('/').at(-1)!, f];
          data[key] = readFileSync(path, 'utf8');
        }
        obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
      } else throw new KubectlError(`error: unknown command "${what}" for "kubectl create" (stand-in)`);
      if ((opt(cli, '--dry-run') ?? 'none') !== 'none') return print(cli, BUILTIN.find((t) => t.kind === obj.kind)!, obj, true, namespace);
      const t = BUILTIN.find((x) => x.kind === obj.kind)!;
      await client.call('POST', resourcePath(t, nsOf(t)), obj);
      return `${typeName(t)}/${name} created\n`;
    }
    case 'get': {
      const raw = opt(cli, '--raw');
      if (raw) return JSON.stringify((await client.call('GET', raw)).obj);
      let out = '';
      for (const [t, name] of await targets(client, rest)) {
        const selector = opt(cli, '--selector');
        if (name === undefined) {
          const q = new URLSearchParams();
          if (selector) q.set('labelSelector', selector);
          const field = opt(cli, '--field-selector');
          if (field) q.set('fieldSelector', field);
          // All namespaces (-A): the collection without a namespace part.
          const path = t.namespaced && nsOf(t) === undefined ? `${groupPrefix(t.group, t.version)}/${t.plural}` : resourcePath(t, nsOf(t));
          const list = await client.call('GET', `${path}${[...q].length ? `?${q}` : ''}`);
          out += print(cli, t, list.obj, false, nsOf(t));
        } else {
          try {
            out += print(cli, t, (await client.call('GET', resourcePath(t, nsOf(t), name))).obj, true, nsOf(t));
          } catch (e) {
            if (!(e instanceof StatusError && e.code === 404 && flag(cli, '--ignore-not-found'))) throw e;
          }
        }
      }
      return out;
    }
    case 'label': {
      const words = rest[0]?.includes('/') ? rest.slice(0, 1) : rest.slice(0, 2);
      const changes = rest.slice(words.length);
      const [[t, name]] = (await targets(client, words)) as [[ResourceType, string | undefined]];
      if (!name) throw new KubectlError('error: resource(s) were provided, but no name was specified');
      const current = (await client.call('GET', resourcePath(t, nsOf(t), name))).obj;
      const labels: Obj = current.metadata.labels ?? {};
      const patch: Obj = {};
      for (const c of changes) {
        if (c.endsWith('-') && !c.includes('=')) {
          const key = c.slice(0, -1);
          if (key in labels) patch[key] = null;
          else process.stdout.write(`label "${key}" not found.\n`);
          continue;
        }
        const key = c.slice(0, c.indexOf('='));
        const value = c.slice(c.indexOf('=') + 1);
        if (key in labels && labels[key] !== value && !flag(cli, '--overwrite')) throw new KubectlError(`error: '${key}' already has a value (${labels[key]}), and --overwrite is false`);
        if (labels[key] !== value) patch[key] = value;
      }
      if (!Object.keys(patch).length) return `${typeName(t)}/${name} not labeled\n`;
      await client.call('PATCH', resourcePath(t, nsOf(t), name), { metadata: { labels: patch } }, 'application/merge-patch+json');
      return `${typeName(t)}/${name} labeled\n`;
    }
    case 'patch': {
      const [[t, name]] = (await targets(client, rest)) as [[ResourceType, string | undefined]];
      const patchFile = opt(cli, '--patch-file');
      const text = patchFile ? readFileSync(patchFile, 'utf8') : opt(cli, '--patch') ?? '';
      let patch: unknown;
      try {
        patch = JSON.parse(text);
      } catch {
        try {
          patch = yaml.load(text);
        } catch (e) {
          throw new KubectlError(`error: unable to parse "${text}": ${(e as Error).message}`);
        }
      }
      const type = opt(cli, '--type') ?? 'strategic';
      if (type === 'json') throw new KubectlError('error: --type json is not supported by the kubectl stand-in');
      const before = (await client.call('GET', resourcePath(t, nsOf(t), name))).obj;
      const after = (await client.call('PATCH', resourcePath(t, nsOf(t), name), patch, type === 'merge' ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json')).obj;
      return `${typeName(t)}/${name} patched${after.metadata.resourceVersion === before.metadata.resourceVersion ? ' (no change)' : ''}\n`;
    }
    case 'delete': {
      let out = '';
      if (cli.opts.has('--filename')) throw new KubectlError('error: delete -f is not supported by the kubectl stand-in');
      const selector = opt(cli, '--selector');
      for (const [t, name] of await targets(client, rest)) {
        const names = name !== undefined ? [name] : selector !== undefined ? ((await client.call('GET', `${resourcePath(t, nsOf(t))}?labelSelector=${encodeURIComponent(selector)}`)).obj.items as Obj[]).map((o) => o.metadata.name as string) : undefined;
        if (!names) throw new KubectlError('error: resource(s) were provided, but no name was specified');
        if (!names.length && selector !== undefined) process.stderr.write(t.namespaced ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
        for (const n of names) {
          try {
            await client.call('DELETE', resourcePath(t, nsOf(t), n));
            out += `${t.kind.toLowerCase()}${t.group ? `.${t.group}` : ''} "${n}" deleted\n`;
          } catch (e) {
            if (!(e instanceof StatusError && e.code === 404 && flag(cli, '--ignore-not-found'))) throw e;
          }
        }
      }
      return out;
    }
    case 'wait': {
      const forWhat = opt(cli, '--for') ?? '';
      const timeout = parseTimeout(opt(cli, '--timeout'), 30_000);
      const deadline = Date.now() + timeout;
      let out = '';
      for (const [t, name] of await targets(client, rest)) {
        if (!name) throw new KubectlError('error: resource(s) were provided, but no name was specified');
        const m = /^condition=([^=]+)(?:=(.*))?$/.exec(forWhat);
        if (!m && forWhat !== 'delete') throw new KubectlError(`error: unrecognized condition: "${forWhat}"`);
        for (;;) {
          const got = await client.call('GET', resourcePath(t, nsOf(t), name)).catch((e) => {
            if (e instanceof StatusError && e.code === 404) return undefined;
            throw e;
          });
          if (forWhat === 'delete' ? !got : got && conditionMet(got.obj, m![1]!, m![2] ?? 'True')) break;
          if (Date.now() >= deadline) throw new KubectlError(`error: timed out waiting for the condition on ${t.plural}/${name}`);
          await new Promise((r) => setTimeout(r, Math.min(500, Math.max(10, deadline - Date.now()))));
        }
        out += `${typeName(t)}/${name} condition met\n`;
      }
      return out;
    }
  }
  throw new KubectlError(`error: unknown command "${verb}" for "kubectl" (stand-in)`);
}

/** With no controllers here, an object without that condition counts as having it (it exists). */
function conditionMet(obj: Obj, type: string, value: string): boolean {
  const cond = ((obj.status?.conditions ?? []) as Obj[]).find((c) => String(c.type).toLowerCase() === type.toLowerCase());
  return cond ? String(cond.status).toLowerCase() === value.toLowerCase() : true;
}

export async function kubectlMain(argv: string[]): Promise<number> {
  try {
    process.stdout.write(await run(parse(argv)));
    return 0;
  } catch (error) {
    const e = serverError(error) as Error;
    console.error(e instanceof KubectlError ? e.message : `error: ${e.stack ?? e.message}`);
    return 1;
  }
}
