// The kubeadm stand-in's init, join, reset and token commands (test/doubles/kubeadm calls this
// bundle). Same phases, files, refusals and messages as the real kubeadm where pi-seed depends
// on them; the cluster side is the stand-in API server, reached over HTTPS like the real one.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { basename, join } from 'node:path';
import yaml from 'js-yaml';
import { startDetached, stopApiServer } from './api-server.js';
import { VERSION } from './version.js';
import { expectOk, kubeconfigYaml, readKubeconfig, request, type Credentials } from './client.js';
import { certsPhase, KubeadmError } from './kubeadm-certs.js';
import { doublesDir, k8s, nodeRoot, pki } from './paths.js';
import { caCertHash, clientCert, newCsr, newKey, type Ca } from './pki.js';
import { StatusError, b64, dumpYaml, unb64, type Obj } from './util.js';
import { detachedJws } from './api-server.js';
import { memberOf, writeMemberFile } from './etcd.js';
import { apiCallUntil, checkEtcd, CONTROL_PLANE_DONE, joinControlPlane, preflightControlPlane, prepareControlPlane, removeOwnEtcdMember, transientApiError, type ControlPlaneJoin } from './kubeadm-join-cp.js';

const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const DEFAULT_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const KUBELET_CLIENT = '/var/lib/kubelet/pki/kubelet-client-current.pem';

// kubeadm's flags that take a value (so "--flag value" skips the value).
const VALUE_FLAGS = new Set(['config', 'node-name', 'token', 'discovery-token', 'discovery-token-ca-cert-hash', 'tls-bootstrap-token', 'ignore-preflight-errors', 'skip-phases', 'v', 'apiserver-advertise-address', 'apiserver-bind-port', 'cri-socket', 'kubeconfig', 'rootfs', 'log-file', 'pod-network-cidr', 'service-cidr', 'control-plane-endpoint', 'kubernetes-version', 'certificate-key', 'discovery-file', 'output', 'o', 'ttl', 'description', 'groups', 'usages', 'cert-dir']);
// kubeadm's isAllowedFlag: what may be given together with --config.
const ALLOWED_WITH_CONFIG = new Set(['config', 'ignore-preflight-errors', 'dry-run', 'kubeconfig', 'node-name', 'kubeconfig-dir', 'upload-certs', 'print-manifest', 'experimental-upload-certs', 'print-join-command', 'rootfs', 'v', 'log-file', 'yes']);

interface Args {
  flags: Map<string, string>;
  positional: string[];
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(arg);
    if (!m) positional.push(arg);
    else if (m[2] !== undefined) flags.set(m[1]!, m[2]);
    else if (VALUE_FLAGS.has(m[1]!)) flags.set(m[1]!, argv[++i] ?? '');
    else flags.set(m[1]!, 'true');
  }
  return { flags, positional };
}

/** "can not mix '--config' with arguments [a b]", names sorted as pflag visits them. */
function checkMixed(args: Args): void {
  if (!args.flags.has('config')) return;
  const bad = [...args.flags.keys()].filter((f) => !ALLOWED_WITH_CONFIG.has(f) && !f.startsWith('skip-')).sort();
  if (bad.length) throw new KubeadmError(`can not mix '--config' with arguments [${bad.join(' ')}]`);
}

function loadConfig(file: string): Obj[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KubeadmError(`unable to read config from "${file}"`);
  }
  // The strict schema check `kubeadm config validate` does (init itself would only warn).
  const validator = process.env.PI_SEED_K8S_VALIDATOR;
  if (validator) {
    const run = spawnSync(process.execPath, [validator, file], { encoding: 'utf8' });
    process.stderr.write(run.stderr ?? '');
    if (run.status !== 0) throw new KubeadmError(`(kubeadm double) ${file} fails the strict schema`);
  }
  return yaml.loadAll(text).filter((d): d is Obj => !!d && typeof d === 'object');
}

const doc = (docs: Obj[], kind: string) => docs.find((d) => d.kind === kind && String(d.apiVersion ?? '').startsWith('kubeadm.k8s.io/'));

export function preflightFail(path: string): never {
  throw new KubeadmError(`[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR FileAvailable-${path.replaceAll('/', '-')}]: ${path} already exists\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``);
}

/** Consumes one failure of a fault ($PI_SEED_DOUBLES_DIR/faults/<name> holds how many are left). */
export function fault(name: string): boolean {
  const file = join(doublesDir(), 'faults', name);
  if (!existsSync(file)) return false;
  const left = Number(readFileSync(file, 'utf8').trim());
  if (!(left > 0)) return false;
  writeFileSync(file, `${left - 1}\n`);
  return true;
}

function defaultAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/** Go durations kubeadm takes for a ttl ("24h", "1h30m", "0s"), in ms. */
function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  let total = 0;
  let seen = '';
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    seen += m[0];
  }
  if (seen !== text || text === '') throw new KubeadmError(`time: invalid duration "${text}"`);
  return total;
}

const randomToken = () => {
  const pick = (n: number) => [...randomBytes(n)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  return `${pick(6)}.${pick(16)}`;
};

function tokenSecret(entry: Obj): Obj {
  const token = String(entry.token ?? '');
  const m = TOKEN.exec(token);
  if (!m) throw new KubeadmError(`the bootstrap token "${token}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"`);
  const usages: string[] = entry.usages ?? ['signing', 'authentication'];
  const groups: string[] = entry.groups ?? [DEFAULT_GROUP];
  for (const u of usages) if (!['signing', 'authentication'].includes(u)) throw new KubeadmError(`invalid bootstrap token usage string: ${u}, valid usage options: signing, authentication`);
  for (const g of groups) if (!/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(g)) throw new KubeadmError(`bootstrapTokens.groups: Invalid value: ${JSON.stringify(g)}: group "${g}" must match the regular expression "^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$"`);
  // Absent ttl: kubeadm's default 24h; "0s": never expires.
  const ttl = entry.expires ? undefined : parseDuration(String(entry.ttl ?? '24h0m0s'));
  const expiration = entry.expires ? String(entry.expires) : ttl ? new Date(Date.now() + ttl).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
  const stringData: Obj = { 'token-id': m[1], 'token-secret': m[2], ...(entry.description ? { description: String(entry.description) } : {}), ...(expiration ? { expiration } : {}) };
  for (const u of usages) stringData[`usage-bootstrap-${u}`] = 'true';
  if (groups.length) stringData['auth-extra-groups'] = groups.join(',');
  return { apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: `bootstrap-token-${m[1]}`, namespace: 'kube-system' }, stringData };
}

/** Create, or replace when it exists (kubeadm's CreateOrUpdate). */
export async function createOrUpdate(creds: Credentials, collection: string, obj: Obj): Promise<void> {
  const res = await request(creds, 'POST', collection, obj);
  if (res.status !== 409) return void expectOk(res);
  const path = `${collection}/${obj.metadata.name}`;
  const old = expectOk(await request(creds, 'GET', path));
  expectOk(await request(creds, 'PUT', path, { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata.resourceVersion } }));
}

const rbac = (plural: string, ns?: string) => `/apis/rbac.authorization.k8s.io/v1${ns ? `/namespaces/${ns}` : ''}/${plural}`;
const role = (ns: string, name: string, resourceNames: string[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames, verbs: ['get'] }] });
const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, roleKind: string, roleName: string, subjects: Obj[], ns?: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(ns ? { namespace: ns } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName }, subjects });
const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });

/** The RBAC kubeadm init sets up for joining nodes (besides the built-in ones, see auth.ts). */
async function joinRbac(admin: Credentials): Promise<void> {
  const joiners = [group(DEFAULT_GROUP), group('system:nodes')];
  await createOrUpdate(admin, rbac('clusterroles'), { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kubeadm:get-nodes' }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] });
  await createOrUpdate(admin, rbac('clusterrolebindings'), binding('ClusterRoleBinding', 'kubeadm:get-nodes', 'ClusterRole', 'kubeadm:get-nodes', [group(DEFAULT_GROUP)]));
  await createOrUpdate(admin, rbac('roles', 'kube-system'), role('kube-system', 'kubeadm:nodes-kubeadm-config', ['kubeadm-config']));
  await createOrUpdate(admin, rbac('rolebindings', 'kube-system'), binding('RoleBinding', 'kubeadm:nodes-kubeadm-config', 'Role', 'kubeadm:nodes-kubeadm-config', joiners, 'kube-system'));
  await createOrUpdate(admin, rbac('roles', 'kube-system'), role('kube-system', 'kubeadm:kubelet-config', ['kubelet-config']));
  await createOrUpdate(admin, rbac('rolebindings', 'kube-system'), binding('RoleBinding', 'kubeadm:kubelet-config', 'Role', 'kubeadm:kubelet-config', joiners, 'kube-system'));
  await createOrUpdate(admin, rbac('roles', 'kube-public'), role('kube-public', 'kubeadm:bootstrap-signer-clusterinfo', ['cluster-info']));
  await createOrUpdate(admin, rbac('rolebindings', 'kube-public'), binding('RoleBinding', 'kubeadm:bootstrap-signer-clusterinfo', 'Role', 'kubeadm:bootstrap-signer-clusterinfo', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }], 'kube-public'));
  await createOrUpdate(admin, rbac('clusterrolebindings'), binding('ClusterRoleBinding', 'kubeadm:cluster-admins', 'ClusterRole', 'cluster-admin', [group('kubeadm:cluster-admins')]));
}

export function writeKubeconfig(root: string, file: string, content: string): void {
  mkdirSync(k8s(root), { recursive: true });
  writeFileSync(k8s(root, file), content, { mode: 0o600 });
}

/** The kubelet's TLS bootstrap: a CSR for system:node:<name>, its signed certificate in one PEM file with the key. */
async function tlsBootstrap(root: string, bootstrap: Credentials, node: string): Promise<void> {
  // As the stand-in client fails a request the API server does not answer in time.
  if (fault('join-tls-bootstrap-timeout')) throw Object.assign(new Error(`request to ${new URL(bootstrap.server).host} timed out`), { code: 'ETIMEDOUT' });
  const key = await newKey();
  const csr = await newCsr(key, [{ O: ['system:nodes'] }, { CN: [`system:node:${node}`] }]);
  const name = `csr-${randomBytes(3).toString('hex')}`;
  const path = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
  expectOk(await request(bootstrap, 'POST', path, { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request: b64(csr), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] } }));
  for (let i = 0; i < 100; i++) {
    const got = expectOk(await request(bootstrap, 'GET', `${path}/${name}`));
    if (got.status?.certificate) {
      mkdirSync(join(root, 'var/lib/kubelet/pki'), { recursive: true });
      writeFileSync(join(root, KUBELET_CLIENT), unb64(got.status.certificate) + key.keyPem, { mode: 0o600 });
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new KubeadmError('error execution phase kubelet-start: timed out waiting for the condition');
}

/** The kubelet registers its Node with its own certificate (Ready once the server has it). */
export async function registerNode(root: string, node: string, criSocket = 'unix:///var/run/containerd/containerd.sock'): Promise<void> {
  const kubelet = readKubeconfig(k8s(root, 'kubelet.conf'));
  const body = { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' }, annotations: { 'kubeadm.alpha.kubernetes.io/cri-socket': criSocket } }, status: { nodeInfo: { kubeletVersion: process.env.PI_SEED_KUBELET_VERSION ?? VERSION } } };
  const res = await request(kubelet, 'POST', '/api/v1/nodes', body);
  if (res.status === 409) {
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    expectOk(await request(kubelet, 'PATCH', `/api/v1/nodes/${node}/status`, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: time, lastTransitionTime: time }] } }, 'application/merge-patch+json'));
  } else expectOk(res);
  await mirrorPods(root, node, kubelet);
}

/**
 * The kubelet's mirror pods of its static pods (name-node, kube-system, the manifest's labels and
 * annotations): kubeadm finds the etcd members through the etcd ones' advertise-client-urls.
 */
export async function mirrorPods(root: string, node: string, kubelet: Credentials): Promise<void> {
  const dir = k8s(root, 'manifests');
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const manifest = yaml.load(readFileSync(join(dir, file), 'utf8')) as Obj;
    const name = `${manifest.metadata.name}-${node}`;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kube-system', labels: manifest.metadata.labels, annotations: { ...(manifest.metadata.annotations ?? {}), 'kubernetes.io/config.mirror': 'stand-in', 'kubernetes.io/config.source': 'file' } }, spec: { ...manifest.spec, nodeName: node }, status: { phase: 'Running' } };
    const created = await request(kubelet, 'POST', '/api/v1/namespaces/kube-system/pods', pod);
    if (created.status !== 409) expectOk(created);
  }
}

export async function waitReady(creds: Credentials, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      if ((await request(creds, 'GET', '/readyz', undefined, undefined, 2000)).status === 200) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function init(args: Args): Promise<void> {
  const dir = doublesDir();
  const root = nodeRoot();
  checkMixed(args);
  if (existsSync(k8s(root, 'manifests/kube-apiserver.yaml'))) preflightFail('/etc/kubernetes/manifests/kube-apiserver.yaml');
  if (existsSync(k8s(root, 'admin.conf'))) preflightFail('/etc/kubernetes/admin.conf');
  if (existsSync(k8s(root, 'kubelet.conf'))) preflightFail('/etc/kubernetes/kubelet.conf');
  const configFile = args.flags.get('config') ?? '';
  if (!configFile) throw new KubeadmError('(kubeadm double) init needs --config');
  if (!existsSync(configFile)) throw new KubeadmError(`unable to read config from "${configFile}"`);
  if (fault('init-preflight')) {
    throw new KubeadmError('[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR Mem]: the system RAM (906 MB) is less than the minimum 1700 MB\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\nTo see the stack trace of this error execute with --v=5 or higher');
  }
  const docs = loadConfig(configFile);
  const initCfg = doc(docs, 'InitConfiguration') ?? {};
  const clusterCfg = doc(docs, 'ClusterConfiguration') ?? {};
  const kubeletCfg = docs.find((d) => d.kind === 'KubeletConfiguration') ?? { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' };
  const version = String(clusterCfg.kubernetesVersion ?? VERSION);
  const vm = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!vm) throw new KubeadmError(`could not fetch a Kubernetes version from the internet: unable to get URL "https://dl.k8s.io/release/${version}.txt"`);
  if (Number(vm[1]) === 1 && Number(vm[2]) < 36) throw new KubeadmError(`this version of kubeadm only supports deploying clusters with the control plane version >= 1.36.0. Current version: ${version}`);
  const node = String(initCfg.nodeRegistration?.name ?? args.flags.get('node-name') ?? hostname());
  const advertise = String(initCfg.localAPIEndpoint?.advertiseAddress ?? defaultAddress());
  const port = Number(initCfg.localAPIEndpoint?.bindPort ?? 6443);
  const endpoint = clusterCfg.controlPlaneEndpoint ? String(clusterCfg.controlPlaneEndpoint) : `${advertise}:${port}`;
  const server = `https://${endpoint.includes(':') ? endpoint : `${endpoint}:${port}`}`;
  // Port check: a leftover API server (or anything else) on the port fails preflight, as for real.
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () => reject(new KubeadmError(`[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR Port-${port}]: Port ${port} is in use`)));
    probe.listen(port, () => probe.close(() => resolve()));
  });
  console.log('[preflight] Running pre-flight checks');
  mkdirSync(join(dir, 'init'), { recursive: true });
  writeFileSync(join(dir, 'init', 'kubeadm-config.yaml'), readFileSync(configFile));

  // certs
  const record: string[] = [];
  const ca = await certsPhase(root, { advertise, sans: (clusterCfg.apiServer?.certSANs ?? []).map(String), nodeName: node, dnsDomain: clusterCfg.networking?.dnsDomain ?? 'cluster.local', serviceSubnet: clusterCfg.networking?.serviceSubnet ?? '10.96.0.0/12', endpointHost: clusterCfg.controlPlaneEndpoint ? String(clusterCfg.controlPlaneEndpoint).replace(/:\d+$/, '') : undefined }, record);
  writeFileSync(join(dir, 'init', `${node}.certs`), record.map((l) => `${l}\n`).join(''));

  // kubeconfig
  console.log('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"');
  const clusterName = String(clusterCfg.clusterName ?? 'kubernetes');
  const conf = async (file: string, user: string, groups: string[]) => {
    const cert = await clientCert(ca, user, groups);
    writeKubeconfig(root, file, kubeconfigYaml({ server, caPem: ca.certPem, user, clusterName, ...cert }));
    console.log(`[kubeconfig] Writing "${file}" kubeconfig file`);
  };
  await conf('admin.conf', 'kubernetes-admin', ['kubeadm:cluster-admins']);
  await conf('super-admin.conf', 'kubernetes-super-admin', ['system:masters']);
  await conf('kubelet.conf', `system:node:${node}`, ['system:nodes']);
  await conf('controller-manager.conf', 'system:kube-controller-manager', []);
  await conf('scheduler.conf', 'system:kube-scheduler', []);

  // etcd, control-plane: static Pod manifests (the kubelet would run them)
  mkdirSync(k8s(root, 'manifests'), { recursive: true });
  const manifest = (name: string, command: string[], annotations: Obj = {}) =>
    writeFileSync(k8s(root, 'manifests', `${name}.yaml`), dumpYaml({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kube-system', labels: { component: name, tier: 'control-plane' }, annotations }, spec: { hostNetwork: true, containers: [{ name, image: `registry.k8s.io/${name}:${version}`, command }] } }), { mode: 0o600 });
  mkdirSync(join(root, 'var/lib/etcd/member'), { recursive: true });
  // The new cluster's only etcd member (the API server stand-in plays it, see etcd.ts), before its
  // manifest: a kubelet (stand-in) that finds the manifest starts the member at once.
  const self = memberOf(node, advertise);
  writeMemberFile(root, { self, members: [self] });
  manifest('etcd', ['etcd', `--name=${node}`, `--advertise-client-urls=https://${advertise}:2379`, `--initial-cluster=${node}=https://${advertise}:2380`, '--data-dir=/var/lib/etcd'], { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': `https://${advertise}:2379` });
  manifest('kube-apiserver', ['kube-apiserver', `--advertise-address=${advertise}`, `--secure-port=${port}`, '--client-ca-file=/etc/kubernetes/pki/ca.crt', '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt', '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key', '--enable-bootstrap-token-auth=true', '--authorization-mode=Node,RBAC'], { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${advertise}:${port}`, 'pi-seed.io/stand-in-node': node });
  manifest('kube-controller-manager', ['kube-controller-manager', '--kubeconfig=/etc/kubernetes/controller-manager.conf']);
  manifest('kube-scheduler', ['kube-scheduler', '--kubeconfig=/etc/kubernetes/scheduler.conf']);

  // kubelet-start
  mkdirSync(join(root, 'var/lib/kubelet'), { recursive: true });
  writeFileSync(join(root, 'var/lib/kubelet/config.yaml'), dumpYaml(kubeletCfg));
  console.log('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"');

  // wait-control-plane: the kubelet starts the API server from its manifest.
  console.log('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"');
  if (fault('init-wait-control-plane')) throw new KubeadmError('[api-check] The API server is not healthy after 4m0.000418s\nerror execution phase wait-control-plane: could not initialize a Kubernetes cluster');
  // In the VM images a kubelet stand-in unit runs the API server from its static pod manifest
  // (PI_SEED_KUBELET_RUNS_STATIC_PODS=1), so it outlives the bootstrap unit; elsewhere kubeadm's
  // stand-in starts it itself. Either way init waits for it to answer, as kubeadm does.
  const byKubelet = process.env.PI_SEED_KUBELET_RUNS_STATIC_PODS === '1';
  if (!byKubelet && (await startDetached(root, `0.0.0.0:${port}`, node)) !== 0) throw new KubeadmError('error execution phase wait-control-plane: could not initialize a Kubernetes cluster');
  const admin = readKubeconfig(k8s(root, 'super-admin.conf'));
  const bound = byKubelet ? 240 : 15;
  if (!(await waitReady(admin, bound))) throw new KubeadmError(`[api-check] The API server is not healthy after ${bound}s\nerror execution phase wait-control-plane: could not initialize a Kubernetes cluster`);
  console.log('[api-check] The API server is healthy');

  // upload-config
  const cm = (ns: string, name: string, data: Obj) => createOrUpdate(admin, `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });
  await cm('kube-system', 'kubeadm-config', { ClusterConfiguration: dumpYaml({ ...clusterCfg, kubernetesVersion: version }) });
  await cm('kube-system', 'kubelet-config', { kubelet: dumpYaml(kubeletCfg) });
  console.log('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace');

  // mark-control-plane: the kubelet has registered the Node; kubeadm labels and taints it.
  await registerNode(root, node, initCfg.nodeRegistration?.criSocket);
  const taints = initCfg.nodeRegistration?.taints ?? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
  expectOk(await request(admin, 'PATCH', `/api/v1/nodes/${node}`, { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, spec: { taints: taints.length ? taints : null } }, 'application/merge-patch+json'));
  console.log(`[mark-control-plane] Marking the node ${node} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`);

  // bootstrap-token
  const entries: Obj[] = initCfg.bootstrapTokens?.length ? initCfg.bootstrapTokens : [{ token: randomToken() }];
  for (const entry of entries) {
    const secret = tokenSecret(entry);
    await createOrUpdate(admin, '/api/v1/namespaces/kube-system/secrets', secret);
    appendFileSync(join(dir, 'tokens'), `${entry.token}\n`);
  }
  console.log(`[bootstrap-token] Using token: ${args.flags.has('skip-token-print') ? '<redacted>' : entries[0]!.token}`);
  await joinRbac(admin);
  const clusterInfo = dumpYaml({ apiVersion: 'v1', clusters: [{ cluster: { 'certificate-authority-data': b64(ca.certPem), server }, name: '' }], contexts: null, 'current-context': '', kind: 'Config', preferences: {}, users: null });
  await cm('kube-public', 'cluster-info', { kubeconfig: clusterInfo });
  console.log('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace');

  // kubelet-finalize: the kubelet's rotating client certificate replaces the embedded one.
  const kubeletCert = await clientCert(ca, `system:node:${node}`, ['system:nodes']);
  mkdirSync(join(root, 'var/lib/kubelet/pki'), { recursive: true });
  writeFileSync(join(root, KUBELET_CLIENT), kubeletCert.certPem + kubeletCert.keyPem, { mode: 0o600 });
  writeKubeconfig(root, 'kubelet.conf', kubeconfigYaml({ server, caPem: ca.certPem, user: 'default-auth', clusterName: 'default-cluster', certFile: KUBELET_CLIENT, keyFile: KUBELET_CLIENT }));
  console.log('[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate and key');

  // addons (objects only: nothing runs them)
  await createOrUpdate(admin, '/apis/apps/v1/namespaces/kube-system/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }, spec: { replicas: 2 } });
  await createOrUpdate(admin, '/apis/apps/v1/namespaces/kube-system/daemonsets', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } }, spec: {} });
  console.log('[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy');

  // Records the older tests read.
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  writeFileSync(join(dir, 'nodes', node), '');
  writeFileSync(join(dir, 'cluster-info'), '');
  console.log('\nYour Kubernetes control-plane has initialized successfully!');
}

/** JoinConfiguration from --config, or built from the flags of the flag form. */
function joinConfig(args: Args): Obj {
  const file = args.flags.get('config');
  if (file) {
    const cfg = doc(loadConfig(file), 'JoinConfiguration');
    if (!cfg) throw new KubeadmError(`no JoinConfiguration found in ${file}`);
    return cfg;
  }
  const token = args.flags.get('token') ?? args.flags.get('discovery-token');
  const hashes = args.flags.get('discovery-token-ca-cert-hash');
  return {
    discovery: { bootstrapToken: { apiServerEndpoint: args.positional[0], token, caCertHashes: hashes ? hashes.split(',') : [], unsafeSkipCAVerification: args.flags.get('discovery-token-unsafe-skip-ca-verification') === 'true' }, tlsBootstrapToken: args.flags.get('tls-bootstrap-token') ?? args.flags.get('token') },
    nodeRegistration: { name: args.flags.get('node-name') },
  };
}

function parseClusterInfo(info: Obj): { kubeconfig: string; server: string; caPem: string } {
  const kubeconfig = String(info.data?.kubeconfig ?? '');
  const cluster = ((yaml.load(kubeconfig) as Obj)?.clusters ?? [])[0]?.cluster ?? {};
  if (!cluster.server || !cluster['certificate-authority-data']) throw new KubeadmError('couldn\'t validate the identity of the API Server: the cluster-info ConfigMap has no valid kubeconfig');
  return { kubeconfig, server: cluster.server, caPem: unb64(cluster['certificate-authority-data']) };
}

async function joinNode(args: Args): Promise<void> {
  const dir = doublesDir();
  const root = nodeRoot();
  checkMixed(args);
  const cfg = joinConfig(args);
  const node = String(cfg.nodeRegistration?.name ?? args.flags.get('node-name') ?? hostname());
  if (!node || node.includes('/') || node.startsWith('.')) throw new KubeadmError('kubeadm (double): join needs a plain node name');
  console.log('[preflight] Running pre-flight checks');
  // RunJoinNodeChecks: the manifests folder empty, no kubelet kubeconfigs; pki/ca.crt absent only
  // on a worker (a control plane brings the shared CA there).
  const manifests = k8s(root, 'manifests');
  if (existsSync(manifests) && readdirSync(manifests).length) throw new KubeadmError('error execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`');
  if (existsSync(k8s(root, 'kubelet.conf'))) preflightFail('/etc/kubernetes/kubelet.conf');
  if (existsSync(k8s(root, 'bootstrap-kubelet.conf'))) preflightFail('/etc/kubernetes/bootstrap-kubelet.conf');
  if (!cfg.controlPlane && existsSync(pki(root, 'ca.crt'))) preflightFail('/etc/kubernetes/pki/ca.crt');

  const bt = cfg.discovery?.bootstrapToken ?? {};
  const token = String(bt.token ?? '');
  const tm = TOKEN.exec(token);
  if (!tm) throw new KubeadmError(`discovery.bootstrapToken.token: Invalid value: "${token}": the bootstrap token is invalid`);
  const [, id, secret] = tm as unknown as [string, string, string];
  const hashes: string[] = (bt.caCertHashes ?? []).map(String);
  if (!hashes.length && !bt.unsafeSkipCAVerification) throw new KubeadmError('discovery.bootstrapToken.caCertHashes: Invalid value: "": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue');
  for (const h of hashes) {
    const m = /^([^:]+):(.*)$/.exec(h);
    if (!m) throw new KubeadmError(`invalid hash "${h}", expected "format:value"`);
    if (m[1] !== 'sha256') throw new KubeadmError(`unknown hash format "${m[1]}". Known format(s) are: sha256`);
    if (!/^[0-9a-f]{64}$/i.test(m[2]!)) throw new KubeadmError(`invalid hash "${h}": expected a 64 character hex SHA-256 digest`);
  }
  const endpoint = String(bt.apiServerEndpoint ?? '');
  if (!endpoint) throw new KubeadmError('discovery.bootstrapToken.apiServerEndpoint: Required value');

  // discovery: cluster-info without TLS verification, trusted only through the token's JWS and the pin.
  const seconds = Number(process.env.PI_SEED_KUBEADM_DISCOVERY_SECONDS ?? 5);
  const deadline = Date.now() + seconds * 1000;
  const infoPath = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
  const fail = (why: string) => new KubeadmError(`error execution phase preflight: couldn't validate the identity of the API Server: ${why}\nTo see the stack trace of this error execute with --v=5 or higher`);
  let info: Obj | undefined;
  let lastError = '';
  for (;;) {
    try {
      const res = await request({ server: `https://${endpoint}`, insecure: true }, 'GET', infoPath, undefined, undefined, 5000);
      const cm = expectOk(res);
      if (cm.data?.[`jws-kubeconfig-${id}`]) {
        info = cm;
        break;
      }
      lastError = `there is no JWS signed token in the cluster-info ConfigMap. This token id "${id}" is invalid for this cluster, or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token`;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      lastError = e instanceof StatusError ? `failed to request the cluster-info ConfigMap: ${e.message}` : `failed to request the cluster-info ConfigMap: Get "https://${endpoint}${infoPath}?timeout=10s": dial tcp ${endpoint}: connect: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`;
    }
    if (Date.now() > deadline) throw fail(lastError);
    await new Promise((r) => setTimeout(r, 250));
  }
  const insecure = parseClusterInfo(info);
  if (detachedJws(insecure.kubeconfig, id, secret) !== info.data[`jws-kubeconfig-${id}`]) throw fail("failed to verify JWS signature of received cluster info object, can't trust this API Server");
  const actual = caCertHash(insecure.caPem);
  if (!bt.unsafeSkipCAVerification && !hashes.map((h) => h.toLowerCase()).includes(actual)) throw fail(`cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${actual}" are pinned`);
  // The same object again, now with the server verified against the pinned CA.
  const secure = parseClusterInfo(expectOk(await request({ server: `https://${endpoint}`, caPem: insecure.caPem }, 'GET', infoPath)));
  if (secure.kubeconfig !== insecure.kubeconfig) throw fail('the cluster-info ConfigMap changed between the insecure and the secure request');
  console.log(`[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "${endpoint}"`);

  const tlsToken = String(cfg.discovery?.tlsBootstrapToken ?? token);
  const bootstrap: Credentials = { server: insecure.server, caPem: insecure.caPem, token: tlsToken };
  const fromServer = (e: unknown, what: string) => (e instanceof StatusError ? new KubeadmError(`error execution phase preflight: ${what}: ${e.message}`) : e);
  // preflight reads the cluster's configuration with the token (RBAC: kubeadm:nodes-kubeadm-config).
  console.log('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  let clusterCfg: Obj;
  try {
    const kubeadmConfig = expectOk(await request(bootstrap, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config'));
    clusterCfg = (yaml.load(String(kubeadmConfig.data?.ClusterConfiguration ?? '')) ?? {}) as Obj;
  } catch (e) {
    throw fromServer(e, 'unable to fetch the kubeadm-config ConfigMap: failed to get config map');
  }
  const cp: ControlPlaneJoin | undefined = cfg.controlPlane
    ? { root, node, advertise: String(cfg.controlPlane.localAPIEndpoint?.advertiseAddress ?? defaultAddress()), port: Number(cfg.controlPlane.localAPIEndpoint?.bindPort ?? 6443), cluster: clusterCfg, taints: cfg.nodeRegistration?.taints }
    : undefined;
  if (cp) {
    await preflightControlPlane(cp);
    await prepareControlPlane(cp);
    await checkEtcd(cp);
  }
  let kubeletConfig: string;
  try {
    kubeletConfig = String(expectOk(await request(bootstrap, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubelet-config')).data?.kubelet ?? '');
  } catch (e) {
    throw fromServer(e, 'unable to fetch the kubelet-config ConfigMap');
  }

  // kubelet-start
  writeKubeconfig(root, 'bootstrap-kubelet.conf', kubeconfigYaml({ server: insecure.server, caPem: insecure.caPem, user: 'tls-bootstrap-token-user', token: tlsToken }));
  mkdirSync(pki(root), { recursive: true });
  writeFileSync(pki(root, 'ca.crt'), insecure.caPem);
  try {
    const existing = await request(bootstrap, 'GET', `/api/v1/nodes/${encodeURIComponent(node)}`);
    if (existing.status !== 404) {
      const obj = expectOk(existing);
      if ((obj.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True')) {
        throw new KubeadmError(`error execution phase kubelet-start: a Node with name "${node}" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node\nTo see the stack trace of this error execute with --v=5 or higher`);
      }
    }
  } catch (e) {
    if (e instanceof StatusError) throw new KubeadmError(`error execution phase kubelet-start: cannot get Node "${node}": ${e.message}`);
    throw e;
  }
  mkdirSync(join(root, 'var/lib/kubelet'), { recursive: true });
  writeFileSync(join(root, 'var/lib/kubelet/config.yaml'), kubeletConfig);
  console.log('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"');
  console.log('[kubelet-start] Starting the kubelet');
  console.log('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap');
  if (fault('join-kubelet-start')) throw new KubeadmError('error execution phase kubelet-start: timed out waiting for the condition');
  // The kubelet retries its bootstrap through a timeout or a server error, and kubeadm waits for
  // it up to its TLS bootstrap timeout (5 min); a refusal (401, 403, 4xx) ends it here at once.
  try {
    await apiCallUntil(() => tlsBootstrap(root, bootstrap, node), 300, 2000);
  } catch (e) {
    if (transientApiError(e)) throw new KubeadmError('error execution phase kubelet-start: timed out waiting for the condition');
    if (e instanceof StatusError) throw new KubeadmError(`error execution phase kubelet-start: the kubelet's TLS bootstrap failed: ${e.message}`);
    throw e;
  }
  writeKubeconfig(root, 'kubelet.conf', kubeconfigYaml({ server: insecure.server, caPem: insecure.caPem, user: 'default-auth', clusterName: 'default-cluster', certFile: KUBELET_CLIENT, keyFile: KUBELET_CLIENT }));
  rmSync(k8s(root, 'bootstrap-kubelet.conf'), { force: true });
  // Registration, unless a test plays the kubelet's (later) registration itself (`register-node`).
  if ((process.env.PI_SEED_DOUBLES_REGISTER ?? '1') === '1') {
    await registerNode(root, node, cfg.nodeRegistration?.criSocket);
    mkdirSync(join(dir, 'nodes'), { recursive: true });
    writeFileSync(join(dir, 'nodes', node), '');
  }
  if (cp) {
    await joinControlPlane(cp, process.env.PI_SEED_KUBELET_RUNS_STATIC_PODS === '1');
    mkdirSync(join(dir, 'joined'), { recursive: true });
    writeFileSync(join(dir, 'joined', node), `${process.argv.slice(3).join(' ')}\n`);
    console.log(CONTROL_PLANE_DONE);
    return;
  }
  mkdirSync(join(dir, 'joined'), { recursive: true });
  writeFileSync(join(dir, 'joined', node), `${process.argv.slice(3).join(' ')}\n`);
  console.log('\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.');
}

async function reset(args: Args): Promise<void> {
  const root = nodeRoot();
  if (!args.flags.has('f') && !args.flags.has('force')) throw new KubeadmError('kubeadm (double): reset without -f asks for confirmation on a terminal; the bootstrap has none');
  // remove-etcd-member comes before cleanup-node: the leaving member votes on its own removal.
  await removeOwnEtcdMember(root);
  // The kubelet stops the API server once its static Pod manifest is gone.
  const manifest = k8s(root, 'manifests/kube-apiserver.yaml');
  const node = existsSync(manifest) ? /pi-seed\.io\/stand-in-node: (\S+)/.exec(readFileSync(manifest, 'utf8'))?.[1] ?? basename(root) : basename(root);
  stopApiServer(node.replace(/^['"]|['"]$/g, ''));
  for (const d of ['etc/kubernetes/manifests', 'var/lib/etcd', 'var/lib/kubelet', 'etc/kubernetes/tmp']) rmSync(join(root, d), { recursive: true, force: true });
  // kubeadm reset empties the certificate folder, custom certificates included.
  if (existsSync(pki(root))) for (const entry of readdirSync(pki(root))) rmSync(pki(root, entry), { recursive: true, force: true });
  for (const f of ['admin.conf', 'super-admin.conf', 'kubelet.conf', 'bootstrap-kubelet.conf', 'controller-manager.conf', 'scheduler.conf']) rmSync(k8s(root, f), { force: true });
  console.log('[reset] Deleted contents of the /etc/kubernetes/pki folder');
  console.log('The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d');
}

async function token(args: Args): Promise<void> {
  const root = nodeRoot();
  const [, verb, value] = args.positional;
  const kubeconfig = args.flags.get('kubeconfig') ?? k8s(root, 'admin.conf');
  if (verb === 'create') {
    // A fresh valid token, stored in the cluster when one runs (kept for the tests to count either way).
    const t = value ?? randomToken();
    if (existsSync(kubeconfig)) await createOrUpdate(readKubeconfig(kubeconfig), '/api/v1/namespaces/kube-system/secrets', tokenSecret({ token: t, ttl: args.flags.get('ttl'), description: args.flags.get('description') }));
    appendFileSync(join(doublesDir(), 'tokens'), `${t}\n`);
    console.log(t);
  } else if (verb === 'delete') {
    const idOf = (v: string) => (TOKEN.exec(v)?.[1] ?? v);
    for (const v of args.positional.slice(2)) {
      const res = await request(readKubeconfig(kubeconfig), 'DELETE', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${idOf(v)}`);
      if (res.status === 404) throw new KubeadmError(`failed to delete bootstrap token with ID "${idOf(v)}": secrets "bootstrap-token-${idOf(v)}" not found`);
      expectOk(res);
      console.log(`bootstrap token "${idOf(v)}" deleted`);
    }
  } else if (verb === 'list') {
    const list = expectOk(await request(readKubeconfig(kubeconfig), 'GET', '/api/v1/namespaces/kube-system/secrets'));
    for (const s of list.items as Obj[]) if (s.type === 'bootstrap.kubernetes.io/token') console.log(`${unb64(s.data['token-id'])}.${unb64(s.data['token-secret'])}\t${s.data.expiration ? unb64(s.data.expiration) : '<forever>'}`);
  }
}

export async function kubeadmMain(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const [verb] = args.positional;
  try {
    if (verb === 'version') console.log(args.flags.get('o') === 'short' || args.flags.get('output') === 'short' ? VERSION : `kubeadm version: &version.Info{Major:"1", Minor:"37", GitVersion:"${VERSION}"}`);
    else if (verb === 'init') await init(args);
    else if (verb === 'join') await joinNode(args);
    else if (verb === 'reset') await reset(args);
    else if (verb === 'token') await token(args);
    else if (verb === 'register-node') await registerNode(nodeRoot(), args.positional[1] ?? basename(nodeRoot()));
    // Anything else is recorded (by the wrapper) and succeeds.
    return 0;
  } catch (error) {
    const e = error as Error;
    if (e instanceof KubeadmError) console.error(e.message);
    else if (e instanceof StatusError) console.error(`error: ${e.message}`);
    // A network error kubeadm did not wrap (as Go's client reports one): no stack.
    else if ((e as NodeJS.ErrnoException).code) console.error(`error: ${e.message}`);
    else console.error(`kubeadm (stand-in): ${e.stack ?? e.message}`);
    return 1;
  }
}

export type { Ca };
