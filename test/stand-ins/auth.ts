// Who is asking (client certificate against pki/ca.crt, bootstrap token, or anonymous) and may
// they (the authorizers kube-apiserver runs in a kubeadm cluster: Node, then RBAC; plus the
// bindings kubeadm creates at init, built in here: cluster admins, bootstrappers' CSRs,
// anonymous cluster-info).
import { timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Store } from './store.js';
import { BUILTIN } from './resources.js';
import { StatusError, unb64, type Obj } from './util.js';

export interface User {
  name: string;
  groups: string[];
}

export const ANONYMOUS: User = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
const SECRETS = BUILTIN.find((t) => t.plural === 'secrets')!;
const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export interface BootstrapToken {
  id: string;
  secret: string;
  signing: boolean;
  authentication: boolean;
  groups: string[];
  expired: boolean;
}

/** A kube-system Secret as a bootstrap token, or undefined when it is not a well-formed one. */
export function readBootstrapToken(secret: Obj): BootstrapToken | undefined {
  if (secret.type !== 'bootstrap.kubernetes.io/token') return undefined;
  const data = secret.data ?? {};
  const field = (k: string) => (typeof data[k] === 'string' ? unb64(data[k]) : undefined);
  const id = field('token-id');
  const tokenSecret = field('token-secret');
  if (!id || !tokenSecret || secret.metadata.name !== `bootstrap-token-${id}`) return undefined;
  const expiration = field('expiration');
  return {
    id,
    secret: tokenSecret,
    signing: field('usage-bootstrap-signing') === 'true',
    authentication: field('usage-bootstrap-authentication') === 'true',
    groups: (field('auth-extra-groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean),
    expired: expiration !== undefined && !(Date.parse(expiration) > Date.now()),
  };
}

export function authenticate(req: IncomingMessage, store: Store): User {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate?.();
  if (peer && Object.keys(peer).length > 0) {
    // A certificate that does not verify is refused outright, as the x509 authenticator does.
    if (!socket.authorized) throw unauthorized();
    const subject = peer.subject as unknown as Record<string, string | string[]>;
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const cn = list(subject.CN)[0];
    if (!cn) throw unauthorized();
    return { name: cn, groups: [...list(subject.O), 'system:authenticated'] };
  }
  const header = req.headers.authorization;
  if (header === undefined) return ANONYMOUS;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const token = m && TOKEN.exec(m[1]!);
  if (!token) throw unauthorized();
  const [, id, secret] = token as unknown as [string, string, string];
  const stored = store.get(SECRETS, 'kube-system', `bootstrap-token-${id}`);
  const found = stored && readBootstrapToken(stored);
  if (!found || found.expired || !found.authentication) throw unauthorized();
  const a = Buffer.from(found.secret);
  const b = Buffer.from(secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw unauthorized();
  return { name: `system:bootstrap:${id}`, groups: ['system:bootstrappers', ...found.groups, 'system:authenticated'] };
}

function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export interface Attributes {
  verb: string;
  group: string;
  resource: string; // plural, "nodes/status" with a subresource
  namespace?: string;
  name?: string;
  path?: string; // non-resource requests
}

const nodeName = (user: User) => (user.groups.includes('system:nodes') && user.name.startsWith('system:node:') ? user.name.slice('system:node:'.length) : undefined);

export function authorize(user: User, a: Attributes, store: Store): boolean {
  if (user.groups.includes('system:masters') || user.groups.includes('kubeadm:cluster-admins')) return true;
  if (a.path !== undefined) {
    // system:public-info-viewer (everyone) and system:discovery (authenticated users).
    if (['/version', '/readyz', '/livez', '/healthz'].includes(a.path)) return true;
    if (user.groups.includes('system:authenticated') && /^\/(api|apis)(\/|$)/.test(a.path)) return true;
    return rbac(user, a, store);
  }
  if (user.name === 'system:anonymous') {
    // kubeadm's kubeadm:bootstrap-signer-clusterinfo Role: the one thing anonymous may read.
    return a.verb === 'get' && a.group === '' && a.resource === 'configmaps' && a.namespace === 'kube-public' && a.name === 'cluster-info';
  }
  if (a.group === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests' && ['create', 'get', 'list', 'watch'].includes(a.verb)) {
    // system:node-bootstrapper for bootstrappers; kubelets renewing their own certificates.
    if (user.groups.includes('system:bootstrappers') || nodeName(user)) return true;
  }
  const node = nodeName(user);
  if (node !== undefined && a.group === '' && (a.resource === 'nodes' || a.resource === 'nodes/status')) {
    // The Node authorizer: a kubelet may create, read and change only its own Node.
    if (['create', 'get', 'update', 'patch'].includes(a.verb) && (a.verb === 'create' || a.name === node)) return true;
  }
  if (node !== undefined && a.group === '' && a.resource === 'pods' && ['create', 'get', 'delete'].includes(a.verb)) {
    // system:node's mirror pods (NodeRestriction, in the API server, keeps them to its own node).
    return true;
  }
  return rbac(user, a, store);
}

const RBAC = (plural: string) => BUILTIN.find((t) => t.group === 'rbac.authorization.k8s.io' && t.plural === plural)!;

function subjectMatches(user: User, subject: Obj, bindingNamespace?: string): boolean {
  if (subject.kind === 'User') return subject.name === user.name;
  if (subject.kind === 'Group') return user.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${subject.namespace ?? bindingNamespace}:${subject.name}`;
  return false;
}

function ruleAllows(rule: Obj, a: Attributes): boolean {
  const has = (list: unknown, v: string) => Array.isArray(list) && (list.includes('*') || list.includes(v));
  if (!has(rule.verbs, a.verb)) return false;
  if (a.path !== undefined) return Array.isArray(rule.nonResourceURLs) && rule.nonResourceURLs.some((u: string) => u === a.path || u === '*' || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))));
  if (!has(rule.apiGroups, a.group)) return false;
  const [base, sub] = a.resource.split('/');
  const resources: string[] = Array.isArray(rule.resources) ? rule.resources : [];
  if (!resources.some((r) => r === '*' || r === a.resource || (sub !== undefined && r === `*/${sub}`) || (sub === undefined && r === base))) return false;
  // resourceNames restrict by name, so they never match a request without one (create, list).
  if (Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

function rbac(user: User, a: Attributes, store: Store): boolean {
  const rulesOf = (ref: Obj, namespace?: string): Obj[] => {
    const role = ref.kind === 'ClusterRole' ? store.get(RBAC('clusterroles'), undefined, ref.name) : store.get(RBAC('roles'), namespace, ref.name);
    return (role?.rules ?? []) as Obj[];
  };
  for (const binding of store.list(RBAC('clusterrolebindings'), undefined)) {
    if ((binding.subjects ?? []).some((s: Obj) => subjectMatches(user, s)) && rulesOf(binding.roleRef ?? {}).some((r) => ruleAllows(r, a))) return true;
  }
  if (a.namespace === undefined) return false;
  for (const binding of store.list(RBAC('rolebindings'), a.namespace)) {
    if ((binding.subjects ?? []).some((s: Obj) => subjectMatches(user, s, a.namespace)) && rulesOf(binding.roleRef ?? {}, a.namespace).some((r) => ruleAllows(r, a))) return true;
  }
  return false;
}

/** kube-apiserver's refusal, word for word. */
export function forbidden(user: User, a: Attributes, qualifiedName: string): StatusError {
  if (a.path !== undefined) return new StatusError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`);
  const scope = a.namespace !== undefined ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const what = a.name !== undefined ? `${qualifiedName} "${a.name}" is forbidden` : `${qualifiedName} is forbidden`;
  const [base] = a.resource.split('/');
  return new StatusError(403, 'Forbidden', `${what}: User "${user.name}" cannot ${a.verb} resource "${a.resource}" in API group "${a.group}" ${scope}`, {
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.group ? { group: a.group } : {}),
    kind: base,
  });
}
