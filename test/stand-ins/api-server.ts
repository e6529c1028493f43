// The stand-in kube-apiserver: HTTPS with a serving certificate from the cluster CA, kubeadm's
// authentication (client certificates, bootstrap tokens, anonymous) and authorization (see
// auth.ts), a REST store (store.ts), and the two controllers pi-seed's flow depends on: the
// bootstrap signer (cluster-info's JWS signatures, expired tokens removed) and the CSR
// auto-approver + signer of kubelet client certificates. On a control plane set up by kubeadm
// (init or a control-plane join: $ROOT/var/lib/etcd/pi-seed-standin/member.json) the process
// also plays the node's stacked etcd member (etcd.ts), so every control plane serves one state.
//
//   api-server --root R --listen ADDR:PORT [--node N]   starts it detached (no-op when running)
//   api-server --root R --stop [--node N]               stops it
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import yaml from 'js-yaml';
import { authenticate, authorize, forbidden, readBootstrapToken, type Attributes, type User } from './auth.js';
import { doublesDir, pidFile, pki, runningApiServer } from './paths.js';
import { issuedBy, loadCa, readCsr, signLeaf, type Ca } from './pki.js';
import { BUILTIN, qualified, type ResourceType } from './resources.js';
import { Store } from './store.js';
import { EtcdMember, etcdTls, quorumLost, readMemberFile } from './etcd.js';
import { StatusError, b64, b64url, deepEqual, mergePatch, now, parseSelector, takeFlag, takeOption, unb64, type Obj } from './util.js';
import { validate } from './validate.js';

import { VERSION } from './version.js';
const MAX_BODY = 3 * 1024 * 1024; // kube-apiserver's request size limit
const type = (plural: string, group = '') => BUILTIN.find((t) => t.plural === plural && t.group === group)!;

export async function apiServerMain(argv: string[]): Promise<number> {
  const root = takeOption(argv, '--root');
  const listen = takeOption(argv, '--listen');
  const stop = takeFlag(argv, '--stop');
  const foreground = takeFlag(argv, '--foreground');
  if (!root) {
    console.error('api-server: --root R is required');
    return 2;
  }
  const node = takeOption(argv, '--node') ?? basename(root);
  if (stop) {
    stopApiServer(node);
    return 0;
  }
  if (!listen) {
    console.error('api-server: --listen ADDR:PORT is required');
    return 2;
  }
  if (foreground) return serve(root, listen, node);
  return startDetached(root, listen, node);
}

/** Kills the API server of `node` if it runs (as the kubelet does when its manifest goes). */
export function stopApiServer(node: string): void {
  const pid = runningApiServer(node);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  rmSync(pidFile(node), { force: true });
}

/** Runs this bundle's `api-server --foreground` detached and returns once it listens (or died). */
export async function startDetached(root: string, listen: string, node: string): Promise<number> {
  if (runningApiServer(node) !== undefined) return 0; // a second start is a no-op, like a running static pod
  const log = join(doublesDir(), `apiserver-${node}.out`);
  const out = (await import('node:fs')).openSync(log, 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'api-server', '--foreground', '--root', root, '--listen', listen, '--node', node], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  // Bounded wait: the pid file appears once the server listens.
  for (let i = 0; i < 200; i++) {
    if (runningApiServer(node) === child.pid) return 0;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  console.error(`api-server: did not start (see ${log}):\n${readFileSync(log, 'utf8').split('\n').slice(-5).join('\n')}`);
  return 1;
}

async function servingCert(root: string, ca: Ca, host: string, node: string): Promise<{ cert: string; key: string }> {
  const certFile = pki(root, 'apiserver.crt');
  const keyFile = pki(root, 'apiserver.key');
  if (existsSync(certFile) && existsSync(keyFile) && issuedBy(readFileSync(certFile, 'utf8'), ca.certPem)) {
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  }
  // Not laid out by kubeadm (a restart after someone removed it): make one as kubeadm would.
  const { apiServerCert } = await import('./kubeadm-certs.js');
  return apiServerCert(root, ca, { advertise: host, sans: [], nodeName: node, dnsDomain: 'cluster.local', serviceSubnet: '10.96.0.0/12' });
}

async function serve(root: string, listen: string, node: string): Promise<number> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = Number(listen.slice(colon + 1));
  const caPem = readFileSync(pki(root, 'ca.crt'), 'utf8');
  const ca = await loadCa(caPem, readFileSync(pki(root, 'ca.key'), 'utf8'));
  const { cert, key } = await servingCert(root, ca, host, node);
  const api = new ApiServer(root, ca, node);
  if (api.etcd) await api.etcd.start(etcdTls(root, 'etcd/peer'));
  const server: Server = createServer({ cert, key, ca: caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => void api.handle(req, res));
  // Bounded: no request may trickle forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' || host === '0.0.0.0' ? undefined : host, () => resolve());
  });
  writeFileSync(pidFile(node), `${process.pid}\n`);
  const bye = () => {
    if (runningApiServer(node) === process.pid) rmSync(pidFile(node), { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  return new Promise(() => undefined); // serves until killed
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

class ApiServer {
  readonly store: Store;
  readonly etcd: EtcdMember | undefined;
  private readonly log: string;
  /** One request at a time changes the state: its writes are replicated before the next starts. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    root: string,
    private readonly ca: Ca,
    private readonly node: string,
  ) {
    const membership = readMemberFile(root);
    this.store = new Store(root, membership?.members ?? []);
    this.log = join(doublesDir(), 'apiserver.log');
    if (membership) this.etcd = new EtcdMember(this.store, membership.self, etcdTls(root, 'etcd/peer'), (line) => appendFileSync(this.log, `${now()} ${line}\n`));
    // With peers, a write here would not be replicated: the signer runs on the next request instead.
    if (this.store.members.length <= 1) this.bootstrapSigner();
    this.store.pendingBase = undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let user: User | undefined;
    let code = 500;
    const url = new URL(req.url ?? '/', 'https://stand-in');
    try {
      user = authenticate(req, this.store);
      const body = await readBody(req);
      const method = req.method ?? 'GET';
      const path = url.pathname.replace(/\/+$/, '');
      const health = /^\/(readyz|livez|healthz)(\/etcd)?$/.exec(path);
      const who = user;
      const [status, payload] = health ? await this.health(path, url, who) : await this.serialized(() => this.dispatchReplicated(method, url, who, body, req));
      code = status;
      send(res, status, payload, prettyPrint(req, url));
    } catch (error) {
      const status = error instanceof StatusError ? error : new StatusError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`);
      code = status.code;
      send(res, status.code, status.status(), prettyPrint(req, url));
    } finally {
      // The local address shows which way a request came in (the node's own address or the VIP).
      const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
      appendFileSync(this.log, `${now()} ${this.node} ${req.method} ${url.pathname}${url.search} ${user?.name ?? '-'} ${code} via ${local}\n`);
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The request, then its writes replicated to a majority; once more if another member's write won the revision. */
  private async dispatchReplicated(method: string, url: URL, user: User, body: string, req: IncomingMessage): Promise<[number, unknown]> {
    for (let attempt = 0; ; attempt++) {
      const before = this.store.snapshot();
      this.store.pendingBase = undefined;
      let result: [number, unknown];
      try {
        result = await this.dispatch(method, url, user, body, req);
      } catch (error) {
        if (this.store.pendingBase !== undefined && this.etcd) await this.commitOrThrow(before);
        throw error;
      }
      if (this.store.pendingBase === undefined || !this.etcd) return result;
      const outcome = await this.commitOrThrow(before);
      if (outcome === 'committed') return result;
      if (attempt >= 1) throw quorumLost();
    }
  }

  private async commitOrThrow(before: ReturnType<Store['snapshot']>): Promise<'committed' | 'conflict'> {
    const base = this.store.pendingBase!;
    try {
      return await this.etcd!.commit(base, before);
    } finally {
      this.store.pendingBase = undefined;
    }
  }

  /**
   * /livez, /readyz, /healthz (anonymous may: system:public-info-viewer) and their /etcd checks
   * (system:monitoring's /readyz/* and the like: not anonymous). Every one includes the etcd
   * check, as kube-apiserver's do; ?verbose lists the checks.
   */
  private async health(path: string, url: URL, user: User): Promise<[number, unknown]> {
    const attrs: Attributes = { verb: 'get', group: '', resource: '', path };
    if (!authorize(user, attrs, this.store)) throw forbidden(user, attrs, '');
    const etcdOk = this.etcd ? await this.etcd.inQuorum() : true;
    const kind = path.split('/')[1]!;
    if (path.endsWith('/etcd')) return etcdOk ? [200, 'ok'] : [500, `[-]etcd failed: reason withheld\n${kind} check failed\n`];
    const verbose = url.searchParams.has('verbose');
    if (etcdOk) return [200, verbose ? `[+]ping ok\n[+]log ok\n[+]etcd ok\n${kind} check passed\n` : 'ok'];
    return [500, `[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n${kind} check failed\n`];
  }

  private async dispatch(method: string, url: URL, user: User, body: string, req: IncomingMessage): Promise<[number, unknown]> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const nonResource = ['/readyz', '/livez', '/healthz', '/version', '/api', '/apis'].includes(path) || /^\/apis\/[^/]+(\/[^/]+)?$/.test(path) || path === '/api/v1';
    if (nonResource || !/^\/(api|apis)\//.test(path)) {
      const attrs: Attributes = { verb: method.toLowerCase(), group: '', resource: '', path };
      if (!authorize(user, attrs, this.store)) throw forbidden(user, attrs, '');
      return [200, this.nonResource(path)];
    }
    const route = this.route(path);
    const verb = ({ GET: route.name ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: route.name ? 'delete' : 'deletecollection' } as Record<string, string>)[method];
    if (!verb) throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const attrs: Attributes = { verb, group: route.type.group, resource: route.subresource ? `${route.type.plural}/${route.subresource}` : route.type.plural, namespace: route.namespace, name: route.name };
    if (!authorize(user, attrs, this.store)) throw forbidden(user, attrs, qualified(route.type));
    if (verb === 'watch') throw new StatusError(405, 'MethodNotAllowed', 'watch is not supported by the stand-in API server; poll instead');
    if (route.type.group === '' && route.type.plural === 'configmaps' && route.namespace === 'kube-public') this.bootstrapSigner();
    const result = await this.rest(verb, route, url, user, body, req);
    // Tokens or cluster-info changed: the bootstrap signer re-signs at once (the real one within a second).
    if (verb !== 'get' && verb !== 'list' && ((route.type.plural === 'secrets' && route.namespace === 'kube-system') || (route.type.plural === 'configmaps' && route.namespace === 'kube-public') || route.type.plural === 'namespaces')) this.bootstrapSigner();
    return result;
  }

  private nonResource(path: string): unknown {
    if (path === '/readyz' || path === '/livez' || path === '/healthz') return 'ok';
    if (path === '/version') return { major: '1', minor: VERSION.split('.')[1], gitVersion: VERSION, platform: 'linux/arm64' };
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'] };
    if (path === '/apis') {
      const groups = [...new Set(this.store.allTypes().filter((t) => t.group).map((t) => t.group))];
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((name) => ({ name, versions: [...new Set(this.store.allTypes().filter((t) => t.group === name).map((t) => t.version))].map((version) => ({ groupVersion: `${name}/${version}`, version })) })) };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m) {
      const group = m[2] ?? '';
      const version = m[1] ?? m[3]!;
      const types = this.store.typesOf(group, version);
      if (!types.length) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: types.map((t) => ({ name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'], shortNames: t.shortNames ?? [] })) };
    }
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  }

  private route(path: string): Route {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(path);
    if (!m) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const group = m[2] ?? '';
    const version = m[1] ?? m[3]!;
    const segs = m[4]!.split('/').map(decodeURIComponent);
    let namespace: string | undefined;
    if (segs[0] === 'namespaces' && segs.length >= 3 && this.store.type(group, version, segs[2]!)) {
      namespace = segs[1];
      segs.splice(0, 2);
    }
    const t = this.store.type(group, version, segs[0]!);
    if (!t || segs.length > 3 || (t.namespaced && namespace === undefined && segs.length > 1)) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    return { type: t, namespace, name: segs[1], subresource: segs[2] };
  }

  private notFound(t: ResourceType, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${qualified(t)} "${name}" not found`, { name, kind: t.plural, ...(t.group ? { group: t.group } : {}) });
  }

  private parseBody(body: string, contentType: string): Obj {
    try {
      const parsed = contentType.includes('yaml') ? yaml.load(body) : JSON.parse(body);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as Obj;
    } catch (error) {
      throw new StatusError(400, 'BadRequest', `the body of the request was in an unknown format: ${(error as Error).message}`);
    }
  }

  private async rest(verb: string, route: Route, url: URL, user: User, body: string, req: IncomingMessage): Promise<[number, unknown]> {
    const { type: t, namespace, name, subresource } = route;
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    if (subresource !== undefined && subresource !== 'status') throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (t.namespaced && namespace !== undefined && verb !== 'get' && verb !== 'list' && !this.store.get(type('namespaces'), undefined, namespace)) {
      throw new StatusError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    switch (verb) {
      case 'list': {
        const select = parseSelector(url.searchParams.get('labelSelector') ?? '');
        const fields = (url.searchParams.get('fieldSelector') ?? '').split(',').filter(Boolean).map((f) => f.split('='));
        const items = this.store.list(t, namespace).filter((o) => select(o.metadata.labels ?? {}) && fields.every(([k, v]) => (k === 'metadata.name' ? o.metadata.name === v : k === 'metadata.namespace' ? o.metadata.namespace === v : true)));
        return [200, { kind: `${t.kind}List`, apiVersion, metadata: { resourceVersion: this.store.revisionString() }, items }];
      }
      case 'get': {
        const obj = this.store.get(t, namespace, name!);
        if (!obj) throw this.notFound(t, name!);
        return [200, obj];
      }
      case 'create': {
        const obj = this.parseBody(body, contentType);
        return [201, await this.create(t, namespace, obj, user, req)];
      }
      case 'update': {
        const obj = this.parseBody(body, contentType);
        const old = this.store.get(t, namespace, name!);
        if (!old) throw this.notFound(t, name!);
        if (obj.metadata?.name !== undefined && obj.metadata.name !== name) throw new StatusError(400, 'BadRequest', `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
        if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
          throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        const next = subresource === 'status' ? { ...old, status: obj.status } : { ...obj, apiVersion, kind: t.kind, metadata: { ...obj.metadata, name }, ...(t.plural === 'nodes' || t.plural === 'certificatesigningrequests' ? { status: old.status } : {}) };
        return [200, this.save(t, namespace, next, user, old)];
      }
      case 'patch': {
        const old = this.store.get(t, namespace, name!);
        if (contentType.startsWith('application/apply-patch')) {
          // Server-side apply: create or merge (field ownership is not modelled).
          const obj = this.parseBody(body, 'yaml');
          if (!old) return [201, await this.create(t, namespace, { ...obj, metadata: { ...obj.metadata, name } }, user, req)];
          return [200, this.save(t, namespace, mergePatch(old, { ...obj, metadata: { ...obj.metadata, name } }) as Obj, user, old)];
        }
        if (!old) throw this.notFound(t, name!);
        if (contentType.startsWith('application/json-patch')) throw new StatusError(415, 'UnsupportedMediaType', 'json patch is not supported by the stand-in API server');
        const patch = this.parseBody(body, 'json');
        const next = mergePatch(old, subresource === 'status' ? { status: patch.status } : patch) as Obj;
        next.metadata.name = name;
        return [200, this.save(t, namespace, next, user, old)];
      }
      case 'delete': {
        const old = this.store.delete(t, namespace, name!);
        if (!old) throw this.notFound(t, name!);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: t.plural, uid: old.metadata.uid, ...(t.group ? { group: t.group } : {}) } }];
      }
      case 'deletecollection': {
        const select = parseSelector(url.searchParams.get('labelSelector') ?? '');
        for (const o of this.store.list(t, namespace)) if (select(o.metadata.labels ?? {})) this.store.delete(t, namespace, o.metadata.name);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' }];
      }
    }
    throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  private async create(t: ResourceType, namespace: string | undefined, obj: Obj, user: User, req: IncomingMessage): Promise<Obj> {
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) throw new StatusError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`);
    if (obj.kind !== undefined && obj.kind !== t.kind) throw new StatusError(400, 'BadRequest', `the kind in the data (${obj.kind}) does not match the expected kind (${t.kind})`);
    obj.metadata ??= {};
    if (t.namespaced && obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    const name = obj.metadata.name as string;
    if (name && this.store.get(t, namespace, name)) throw new StatusError(409, 'AlreadyExists', `${qualified(t)} "${name}" already exists`, { name, kind: t.plural, ...(t.group ? { group: t.group } : {}) });
    const next: Obj = { ...obj, apiVersion, kind: t.kind };
    if (t.group === 'certificates.k8s.io') await this.signCsr(next, user);
    if (t.group === '' && t.plural === 'nodes') this.newNode(next, user, req);
    return this.save(t, namespace, next, user, undefined);
  }

  /** Validation, admission (NodeRestriction), Secret stringData, then the store. */
  private save(t: ResourceType, namespace: string | undefined, obj: Obj, user: User, old: Obj | undefined): Obj {
    delete obj.metadata.resourceVersion;
    if (t.group === '' && t.plural === 'secrets' && obj.stringData) {
      obj.data = { ...(obj.data ?? {}) };
      for (const [k, v] of Object.entries(obj.stringData as Obj)) obj.data[k] = b64(String(v));
      delete obj.stringData;
    }
    validate(t, obj);
    if (t.group === '' && t.plural === 'nodes') nodeRestriction(user, obj, old);
    if (t.group === '' && t.plural === 'pods') mirrorPodRestriction(user, obj);
    if (old && deepEqual({ ...old, metadata: { ...old.metadata, resourceVersion: undefined } }, { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } })) return old;
    return this.store.put(t, namespace, obj);
  }

  /** What the kubelet puts in a Node it registers: Ready (no CNI or runtime to wait for here). */
  private newNode(node: Obj, user: User, req: IncomingMessage): void {
    if (!user.name.startsWith('system:node:')) return;
    const time = now();
    node.status = {
      ...(node.status ?? {}),
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: time, lastTransitionTime: time }],
      addresses: [{ type: 'InternalIP', address: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '') }, { type: 'Hostname', address: node.metadata?.name }],
      nodeInfo: { kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? process.env.PI_SEED_KUBELET_VERSION ?? VERSION, architecture: 'arm64', operatingSystem: 'linux', ...(node.status?.nodeInfo ?? {}) },
    };
  }

  /** The csrapproving controller (kubeadm binds bootstrappers to auto-approval) and the signer. */
  private async signCsr(csr: Obj, user: User): Promise<void> {
    const name = csr.metadata.name;
    const invalid = (why: string) => new StatusError(422, 'Invalid', `CertificateSigningRequest.certificates.k8s.io "${name}" is invalid: spec.request: Invalid value: "<PEM-encoded CSR>": ${why}`, { name, kind: 'certificatesigningrequests', group: 'certificates.k8s.io' });
    const signer = csr.spec?.signerName;
    if (signer !== 'kubernetes.io/kube-apiserver-client-kubelet') throw invalid(`only signerName kubernetes.io/kube-apiserver-client-kubelet is served by the stand-in (got ${JSON.stringify(signer)})`);
    let parsed;
    try {
      parsed = await readCsr(unb64(String(csr.spec?.request ?? '')));
    } catch (error) {
      throw invalid(`could not parse the certificate request: ${(error as Error).message}`);
    }
    if (parsed.o.length !== 1 || parsed.o[0] !== 'system:nodes') throw invalid('subject organization is not system:nodes');
    if (parsed.cn.length !== 1 || !parsed.cn[0]!.startsWith('system:node:') || parsed.cn[0] === 'system:node:') throw invalid('subject common name does not begin with system:node:');
    csr.spec = { ...csr.spec, username: user.name, groups: user.groups };
    const certificate = await signLeaf(this.ca, { subject: parsed.subject, publicKey: parsed.publicKey });
    const time = now();
    csr.status = {
      conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.', lastUpdateTime: time, lastTransitionTime: time }],
      certificate: b64(certificate),
    };
  }

  /**
   * The bootstrap signer and token cleaner: cluster-info carries `jws-kubeconfig-<id>` for every
   * valid signing token and no other; expired token Secrets are deleted.
   */
  private bootstrapSigner(): void {
    const secrets = type('secrets');
    const configmaps = type('configmaps');
    const tokens = [];
    for (const secret of this.store.list(secrets, 'kube-system')) {
      const token = readBootstrapToken(secret);
      if (!token) continue;
      if (token.expired) this.store.delete(secrets, 'kube-system', secret.metadata.name);
      else if (token.signing) tokens.push(token);
    }
    const info = this.store.get(configmaps, 'kube-public', 'cluster-info');
    if (!info || typeof info.data?.kubeconfig !== 'string') return;
    const data: Obj = Object.fromEntries(Object.entries(info.data as Obj).filter(([k]) => !k.startsWith('jws-kubeconfig-')));
    for (const token of tokens) data[`jws-kubeconfig-${token.id}`] = detachedJws(info.data.kubeconfig, token.id, token.secret);
    if (!deepEqual(data, info.data)) this.store.put(configmaps, 'kube-public', { ...info, data });
  }
}

/** The detached JWS the bootstrap signer writes: header..signature, HS256 keyed by the token secret. */
export function detachedJws(content: string, id: string, secret: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: id }));
  const signature = createHmac('sha256', secret).update(`${header}.${b64url(content)}`).digest('base64url');
  return `${header}..${signature}`;
}

/** NodeRestriction: a kubelet changes only its own Node and may not give it role labels. */
function nodeRestriction(user: User, node: Obj, old: Obj | undefined): void {
  const self = user.groups.includes('system:nodes') && user.name.startsWith('system:node:') ? user.name.slice('system:node:'.length) : undefined;
  if (self === undefined) return;
  const name = node.metadata.name;
  const refuse = (why: string) => new StatusError(403, 'Forbidden', `nodes "${name}" is forbidden: ${why}`, { name, kind: 'nodes' });
  if (name !== self) throw refuse(`node "${self}" is not allowed to modify node "${name}"`);
  const allowed = (key: string) => {
    const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
    if (!/(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix)) return true;
    if (/(^|\.)(kubelet|node)\.kubernetes\.io$/.test(prefix)) return true;
    return ['kubernetes.io/hostname', 'kubernetes.io/arch', 'kubernetes.io/os', 'beta.kubernetes.io/arch', 'beta.kubernetes.io/os', 'beta.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone'].includes(key);
  };
  const labels = (node.metadata.labels ?? {}) as Obj;
  const before = (old?.metadata.labels ?? {}) as Obj;
  const changed = [...new Set([...Object.keys(labels), ...Object.keys(before)])].filter((k) => labels[k] !== before[k] && !allowed(k)).sort();
  if (changed.length) throw refuse(old ? `is not allowed to modify labels: ${changed.join(', ')}` : `node "${self}" is not allowed to set the following labels: ${changed.join(', ')}`);
}

/** NodeRestriction for pods: a kubelet creates only mirror pods of static pods, bound to itself. */
function mirrorPodRestriction(user: User, pod: Obj): void {
  const self = user.groups.includes('system:nodes') && user.name.startsWith('system:node:') ? user.name.slice('system:node:'.length) : undefined;
  if (self === undefined) return;
  const refuse = (why: string) => new StatusError(403, 'Forbidden', `pods "${pod.metadata.name}" is forbidden: ${why}`, { name: pod.metadata.name, kind: 'pods' });
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror'] === undefined) throw refuse(`pod does not have "kubernetes.io/config.mirror" annotation, node "${self}" can only create mirror pods`);
  if (pod.spec?.nodeName !== self) throw refuse(`node "${self}" can only create pods with spec.nodeName set to itself`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The real API server indents its JSON for curl, wget and browsers unless ?pretty=false says
 * otherwise (apiserver endpoints/handlers/negotiation isPrettyPrint): a client that greps the
 * reply must cope with either.
 */
function prettyPrint(req: IncomingMessage, url: URL): boolean {
  const pretty = url.searchParams.get('pretty');
  if (pretty !== null && pretty !== '') return pretty === 'true' || pretty === '1';
  const agent = req.headers['user-agent'] ?? '';
  return agent.startsWith('curl') || agent.startsWith('Wget') || agent.startsWith('Mozilla/5.0');
}

function send(res: ServerResponse, code: number, payload: unknown, pretty = false): void {
  const text = typeof payload === 'string' ? payload : pretty ? `${JSON.stringify(payload, null, 2)}\n` : JSON.stringify(payload);
  res.writeHead(code, { 'Content-Type': typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
