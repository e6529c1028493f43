// kubeadm join of a control plane (a JoinConfiguration with controlPlane), the phases the worker
// join does not have, as cmd/kubeadm/app/cmd/phases/join/ runs them: preflight's
// checkIfReadyForAdditionalControlPlane (a controlPlaneEndpoint, the shared certificates) and
// the init checks of a secondary control plane; control-plane-prepare (certs from the shared CAs,
// admin.conf/controller-manager.conf/scheduler.conf for the controlPlaneEndpoint, static pod
// manifests); check-etcd; control-plane-join (etcd member add, this node's etcd and API server,
// mark-control-plane); wait-control-plane (the local API server answers). The worker's steps
// (discovery, kubelet-start, TLS bootstrap) stay in kubeadm.ts. Also reset's remove-etcd-member,
// the one reset phase that talks to the cluster.
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { join } from 'node:path';
import { startDetached } from './api-server.js';
import { VERSION } from './version.js';
import { expectOk, kubeconfigYaml, readKubeconfig, request, type Credentials } from './client.js';
import { call, etcdTls, memberOf, writeMemberFile, type Tls } from './etcd.js';
import { StatusError } from './util.js';
import { certsPhase, KubeadmError } from './kubeadm-certs.js';
import { k8s, pki } from './paths.js';
import { clientCert } from './pki.js';
import { dumpYaml, type Obj } from './util.js';
import type { Member } from './store.js';

export interface ControlPlaneJoin {
  root: string;
  node: string;
  advertise: string;
  port: number;
  cluster: Obj; // the cluster's ClusterConfiguration (kubeadm-config)
  taints: Obj[] | undefined; // nodeRegistration.taints of the JoinConfiguration
}

const NOT_READY = (why: string) =>
  new KubeadmError(`error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n${why}\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n\n\nTo see the stack trace of this error execute with --v=5 or higher`);

/** phases/certs SharedCertificateExists: the CAs' certificates and the service-account key pair (errors aggregated). */
function sharedCertificateErrors(root: string): string[] {
  const errors: string[] = [];
  const caCert = (base: string, ux: string) => {
    const shown = `/etc/kubernetes/pki/${base}.crt`;
    if (!existsSync(pki(root, `${base}.crt`))) return errors.push(`failure loading certificate for ${ux}: couldn't load the certificate file ${shown}: open ${shown}: no such file or directory`);
    try {
      if (!new X509Certificate(readFileSync(pki(root, `${base}.crt`))).ca) errors.push(`certificate ${ux} is not a CA`);
    } catch (error) {
      errors.push(`failure loading certificate for ${ux}: couldn't load the certificate file ${shown}: ${(error as Error).message}`);
    }
    // A missing CA key is only a warning (an external CA), as kubeadm's validateCACertAndKey says.
    if (!existsSync(pki(root, `${base}.key`))) console.error(`W0000 assuming external key for ${ux}: couldn't load the private key file /etc/kubernetes/pki/${base}.key: open /etc/kubernetes/pki/${base}.key: no such file or directory`);
    return 0;
  };
  caCert('ca', 'CA');
  for (const [file, what] of [['sa.key', 'private key'], ['sa.pub', 'public key']] as const) {
    if (!existsSync(pki(root, file))) {
      errors.push(`failure loading key for service account: couldn't load the ${what} file /etc/kubernetes/pki/${file}: open /etc/kubernetes/pki/${file}: no such file or directory`);
      break;
    }
  }
  caCert('front-proxy-ca', 'front-proxy CA');
  caCert('etcd/ca', 'etcd CA');
  return errors;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, () => probe.close(() => resolve(true)));
  });
}

/** Preflight for a new control plane instance, after the kubeadm-config ConfigMap was read. */
export async function preflightControlPlane(j: ControlPlaneJoin): Promise<void> {
  if (!j.cluster.controlPlaneEndpoint) throw NOT_READY("unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address");
  const errors = sharedCertificateErrors(j.root);
  if (errors.length) throw NOT_READY(errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`);
  console.log('[preflight] Running pre-flight checks before initializing the new control plane instance');
  const failed: string[] = [];
  for (const port of [j.port, 10259, 10257, 2379, 2380]) if (!(await portFree(port))) failed.push(`\t[ERROR Port-${port}]: Port ${port} is in use`);
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
    const file = `/etc/kubernetes/manifests/${name}.yaml`;
    if (existsSync(join(j.root, file))) failed.push(`\t[ERROR FileAvailable-${file.replaceAll('/', '-')}]: ${file} already exists`);
  }
  const dataDir = join(j.root, 'var/lib/etcd');
  if (existsSync(dataDir) && readdirSync(dataDir).length) failed.push('\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty');
  if (failed.length) throw new KubeadmError(`error execution phase preflight: [preflight] Some fatal errors occurred:\n${failed.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``);
}

const endpointHost = (endpoint: string) => endpoint.replace(/:\d+$/, '');
const endpointServer = (cluster: Obj, port: number) => {
  const endpoint = String(cluster.controlPlaneEndpoint);
  return `https://${/:\d+$/.test(endpoint) ? endpoint : `${endpoint}:${port}`}`;
};

/** control-plane-prepare: certs, kubeconfig, control-plane (static pod manifests). */
export async function prepareControlPlane(j: ControlPlaneJoin): Promise<void> {
  const c = j.cluster;
  const ca = await certsPhase(j.root, { advertise: j.advertise, sans: (c.apiServer?.certSANs ?? []).map(String), nodeName: j.node, dnsDomain: c.networking?.dnsDomain ?? 'cluster.local', serviceSubnet: c.networking?.serviceSubnet ?? '10.96.0.0/12', endpointHost: endpointHost(String(c.controlPlaneEndpoint)) }, []);
  console.log('[kubeconfig] Generating kubeconfig files\n[kubeconfig] Using kubeconfig folder "/etc/kubernetes"');
  const server = endpointServer(c, j.port);
  const clusterName = String(c.clusterName ?? 'kubernetes');
  for (const [file, user, groups] of [['admin.conf', 'kubernetes-admin', ['kubeadm:cluster-admins']], ['controller-manager.conf', 'system:kube-controller-manager', []], ['scheduler.conf', 'system:kube-scheduler', []]] as const) {
    const cert = await clientCert(ca, user, [...groups]);
    mkdirSync(k8s(j.root), { recursive: true });
    writeFileSync(k8s(j.root, file), kubeconfigYaml({ server, caPem: ca.certPem, user, clusterName, ...cert }), { mode: 0o600 });
    console.log(`[kubeconfig] Writing "${file}" kubeconfig file`);
  }
  const version = String(c.kubernetesVersion ?? VERSION);
  console.log('[control-plane] Using manifest folder "/etc/kubernetes/manifests"');
  manifest(j, 'kube-apiserver', version, ['kube-apiserver', `--advertise-address=${j.advertise}`, `--secure-port=${j.port}`, '--client-ca-file=/etc/kubernetes/pki/ca.crt', '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt', '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key', '--enable-bootstrap-token-auth=true', '--authorization-mode=Node,RBAC', '--etcd-servers=https://127.0.0.1:2379'], { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${j.advertise}:${j.port}`, 'pi-seed.io/stand-in-node': j.node });
  manifest(j, 'kube-controller-manager', version, ['kube-controller-manager', '--kubeconfig=/etc/kubernetes/controller-manager.conf']);
  manifest(j, 'kube-scheduler', version, ['kube-scheduler', '--kubeconfig=/etc/kubernetes/scheduler.conf']);
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) console.log(`[control-plane] Creating static Pod manifest for "${name}"`);
}

function manifest(j: ControlPlaneJoin, name: string, version: string, command: string[], annotations: Obj = {}): void {
  mkdirSync(k8s(j.root, 'manifests'), { recursive: true });
  writeFileSync(k8s(j.root, 'manifests', `${name}.yaml`), dumpYaml({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kube-system', labels: { component: name, tier: 'control-plane' }, annotations }, spec: { hostNetwork: true, containers: [{ name, image: `registry.k8s.io/${name}:${version}`, command }] } }), { mode: 0o600 });
}

/**
 * A Kubernetes API call as kubeadm's apiclient makes it: through timeouts and server errors it
 * tries again every second, for up to timeouts.kubernetesAPICall (1 min by default); a refusal
 * (a 4xx Status) ends it at once. The last error is what the caller reports.
 */
export async function apiCallUntil<T>(attempt: () => Promise<T>, seconds = 60, pauseMs = 1000): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!transientApiError(error) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}

/** A server error, or no answer at all (a timeout, a refused connection): worth another try. */
export const transientApiError = (error: unknown) => (error instanceof StatusError ? error.code >= 500 || error.code === 429 : !(error instanceof KubeadmError));

/**
 * etcdutil's NewFromCluster: the etcd mirror pods' advertise-client-urls annotations (retried as
 * an API call) are only where to start; the client then syncs its endpoints with the membership
 * (clientv3's Sync: every named voter's client URL), so a stale mirror pod of a member that was
 * removed (its kubelet stopped before its manifest went) is not asked again.
 */
async function etcdEndpoints(admin: Credentials, tls: Tls): Promise<string[]> {
  const pods = await apiCallUntil(async () => expectOk(await request(admin, 'GET', '/api/v1/namespaces/kube-system/pods?labelSelector=component%3Detcd%2Ctier%3Dcontrol-plane')));
  const urls = (pods.items as Obj[]).map((p) => p.metadata.annotations?.['kubeadm.kubernetes.io/etcd.advertise-client-urls']).filter(Boolean) as string[];
  if (!urls.length) throw new KubeadmError('error execution phase check-etcd: could not retrieve the list of etcd endpoints: etcd endpoints read from pods: no etcd Pods found in the kube-system namespace');
  // etcdutil's Sync retries with its etcd backoff (about 50 s in all) until one endpoint answers.
  const deadline = Date.now() + 50_000;
  let last = '';
  urls.sort();
  for (;;) {
    for (const url of urls) {
      const listed = await call(tls, `${url}/members`, 'GET', undefined, 10_000).catch((e: Error) => ({ status: 0, json: { message: e.message } }));
      if (listed.status === 200) {
        const synced = ((listed.json.members ?? []) as Member[]).filter((m) => m.name && !m.isLearner).map((m) => m.clientURL);
        if (synced.length) return synced.sort();
      }
      last = `${url}: ${listed.json?.message ?? listed.status}`;
    }
    if (Date.now() > deadline) throw new KubeadmError(`error syncing endpoints with etcd: ${last}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** check-etcd: the existing members answer healthy (before the kubelet starts). */
export async function checkEtcd(j: ControlPlaneJoin): Promise<void> {
  console.log('[check-etcd] Checking that the etcd cluster is healthy');
  const admin = readKubeconfig(k8s(j.root, 'admin.conf'));
  const tls = etcdTls(j.root, 'apiserver-etcd-client');
  for (const url of await etcdEndpoints(admin, tls)) {
    const health = await call(tls, `${url}/health`, 'GET', undefined, 5000).catch((e: Error) => ({ status: 0, json: { reason: e.message } }));
    if (health.status !== 200) throw new KubeadmError(`error execution phase check-etcd: etcd cluster is not healthy: failed to dial endpoint ${url} with maintenance client: ${health.json?.reason ?? health.status}`);
  }
}

/**
 * A membership call as etcdutil makes it (AddMember, MemberPromote): every etcd endpoint in turn
 * until one's answer is `accepted`, again `pauseMs` later, for up to the etcd API call timeout
 * (kubeadm's timeouts.etcdAPICall, 2 min by default). Otherwise the last refusal and where.
 */
async function etcdCallUntil(admin: Credentials, tls: Tls, method: 'POST' | 'DELETE', path: string, body: unknown, pauseMs: number, accepted: (answer: { status: number; json: any }) => boolean): Promise<{ answer: { status: number; json: any } } | { refused: string; url: string }> {
  const deadline = Date.now() + 120_000;
  let last = { refused: '', url: '' };
  for (;;) {
    for (const url of await etcdEndpoints(admin, tls)) {
      const answer = await call(tls, `${url}${path}`, method, body, 10_000).catch((e: Error) => ({ status: 0, json: { message: e.message } }));
      if (accepted(answer)) return { answer };
      last = { refused: String(answer.json?.message ?? answer.status), url };
    }
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** control-plane-join: etcd member add, this node's etcd and API server, mark-control-plane; then wait-control-plane. */
export async function joinControlPlane(j: ControlPlaneJoin, byKubelet: boolean): Promise<void> {
  const admin = readKubeconfig(k8s(j.root, 'admin.conf'));
  const tls: Tls = etcdTls(j.root, 'apiserver-etcd-client');
  // kubeadm adds every joining member as a learner (EtcdLearnerMode: on by default since v1.29,
  // GA in v1.32) and promotes it once it has caught up.
  const self: Member = { ...memberOf(j.node, j.advertise), isLearner: true };
  // etcdutil's AddMember retries until the etcd API call timeout (2 min by default): etcd takes
  // one learner at a time, so a second control plane joining at once waits for the first's
  // promotion ("too many learner members in cluster").
  const added = await etcdCallUntil(admin, tls, 'POST', '/members', self, 1000, (a) => a.status === 200);
  if ('refused' in added) throw new KubeadmError(`error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: failed to add member ${self.name}: ${added.url}: ${added.refused}`);
  const members = added.answer.json.members as Member[];
  console.log('[etcd] Announced new etcd member joining to the existing etcd cluster');
  mkdirSync(join(j.root, 'var/lib/etcd/member'), { recursive: true });
  writeMemberFile(j.root, { self, members });
  const cluster = members.map((m) => `${m.name}=${m.peerURL}`).join(',');
  manifest(j, 'etcd', String(j.cluster.kubernetesVersion ?? VERSION), ['etcd', `--name=${j.node}`, `--advertise-client-urls=${self.clientURL}`, `--initial-cluster=${cluster}`, '--initial-cluster-state=existing', '--data-dir=/var/lib/etcd'], { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': self.clientURL });
  console.log('[etcd] Creating static Pod manifest for "etcd"');
  // The kubelet starts the static pods; here kubeadm's stand-in does unless a kubelet stand-in runs them.
  if (!byKubelet && (await startDetached(j.root, `0.0.0.0:${j.port}`, j.node)) !== 0) throw new KubeadmError('error execution phase control-plane-join/etcd: the etcd member and API server did not start');
  // MemberPromote, retried while etcd says the learner has not caught up yet (again for up to the
  // etcd API call timeout).
  const promoted = await etcdCallUntil(admin, tls, 'POST', '/members/promote', { name: self.name }, 500, (a) => a.status === 200 || /can only promote a learner member$/.test(String(a.json?.message ?? '')));
  if ('refused' in promoted) throw new KubeadmError(`error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: ${promoted.refused}`);
  console.log('[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s');
  const own = etcdTls(j.root, 'etcd/peer');
  const deadline = Date.now() + (byKubelet ? 240_000 : 40_000);
  for (;;) {
    const health = await call(own, `${self.clientURL}/health`, 'GET', undefined, 2000).catch(() => ({ status: 0, json: {} }));
    if (health.status === 200) break;
    if (Date.now() > deadline) throw new KubeadmError('error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: timeout waiting for etcd cluster to be available');
    await new Promise((r) => setTimeout(r, 250));
  }

  // The kubelet mirrors the new etcd static pod (later joiners find this member through it); it
  // keeps trying through a busy API server, as a kubelet does.
  // (kubeadm.ts imports this module: its helpers come in when they are first needed.)
  const { fault, mirrorPods, waitReady } = await import('./kubeadm.js');
  await apiCallUntil(() => mirrorPods(j.root, j.node, readKubeconfig(k8s(j.root, 'kubelet.conf'))), byKubelet ? 240 : 60);

  // mark-control-plane (markcontrolplane.MarkControlPlane, apiclient.PatchNode: retried for the
  // API call timeout): the label; the taints of the config.
  const taints = j.taints ?? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
  // A try that fails once its member is a voter: the reset that follows must take the member out.
  if (fault('join-mark-control-plane')) throw new KubeadmError(`error execution phase control-plane-join/mark-control-plane: error applying control-plane label and taints: Patch "https://${endpointHost(String(j.cluster.controlPlaneEndpoint))}:${j.port}/api/v1/nodes/${j.node}?timeout=10s": context deadline exceeded`);
  try {
    await apiCallUntil(async () => expectOk(await request(admin, 'PATCH', `/api/v1/nodes/${j.node}`, { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }, spec: { taints: taints.length ? taints : null } }, 'application/merge-patch+json')));
  } catch (error) {
    throw new KubeadmError(`error execution phase control-plane-join/mark-control-plane: error applying control-plane label and taints: ${(error as Error).message}`);
  }
  console.log(`[mark-control-plane] Marking the node ${j.node} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`);

  // wait-control-plane: the local API server (WaitControlPlaneClient: admin.conf, local endpoint).
  const local = { ...admin, server: `https://${j.advertise}:${j.port}` };
  if (!(await waitReady(local, byKubelet ? 240 : 30))) throw new KubeadmError('error execution phase wait-control-plane: the API server of this control plane is not healthy');
  console.log('[wait-control-plane] The API server is healthy');
}

/**
 * reset's remove-etcd-member (etcdphase.RemoveStackedEtcdMemberFromCluster), run while this
 * node's etcd member still runs: with a local etcd manifest and the cluster reachable through
 * admin.conf, the member with this node's peer URL leaves the cluster, unless it is the last one.
 * A failure is a warning and reset goes on, as kubeadm's is (the member must then be removed by
 * hand: a dead member left among three voters costs the cluster its tolerance for one loss).
 */
export async function removeOwnEtcdMember(root: string): Promise<void> {
  const etcdManifest = k8s(root, 'manifests/etcd.yaml');
  const apiServerManifest = k8s(root, 'manifests/kube-apiserver.yaml');
  if (!existsSync(etcdManifest)) {
    console.log('[reset] No etcd config found. Assuming external etcd\n[reset] Please, manually reset etcd to prevent further issues');
    return;
  }
  // kubeadm reads this node's API endpoint from the cluster (its kube-apiserver pod's annotation).
  const annotations = existsSync(apiServerManifest) ? ((yaml.load(readFileSync(apiServerManifest, 'utf8')) as Obj)?.metadata?.annotations ?? {}) : {};
  const endpoint = String(annotations['kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint'] ?? '').replace(/:\d+$/, '');
  if (!existsSync(k8s(root, 'admin.conf')) || !endpoint || !existsSync(pki(root, 'apiserver-etcd-client.crt'))) {
    console.error('W0000 [reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to get config map: no admin.conf or no local API endpoint');
    return;
  }
  const peerURL = memberOf('', endpoint).peerURL;
  const admin = readKubeconfig(k8s(root, 'admin.conf'));
  // reset reads the cluster's configuration first, with one request: without it (the API server
  // down or gone) there is no member to remove, and reset goes on at once.
  const configPath = '/api/v1/namespaces/kube-system/configmaps/kubeadm-config';
  const config = await request(admin, 'GET', configPath).then((r) => (r.status === 200 ? '' : `${r.status}`), (e: Error) => e.message);
  if (config) {
    console.error(`W0000 [reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to get config map: Get "${admin.server}${configPath}?timeout=10s": ${config}`);
    return;
  }
  try {
    const tls = etcdTls(root, 'apiserver-etcd-client');
    const [first] = await etcdEndpoints(admin, tls);
    const listed = await call(tls, `${first}/members`, 'GET', undefined, 10_000);
    const members = (listed.json?.members ?? []) as Member[];
    const own = members.find((m) => m.peerURL === peerURL);
    // The last member, or one already gone (ErrNoMemberIDForPeerURL): nothing to remove.
    if (!own || members.length === 1) return;
    const removed = await etcdCallUntil(admin, tls, 'DELETE', `/members/${encodeURIComponent(own.name)}`, undefined, 1000, (a) => a.status === 200 || a.status === 404);
    if ('refused' in removed) throw new Error(`etcdserver: failed to remove member ${own.name}: ${removed.url}: ${removed.refused}`);
    console.log(`[reset] Removed etcd member ${own.name} (${peerURL}) from the etcd cluster`);
  } catch (error) {
    console.error(`W0000 [reset] Failed to remove etcd member: ${(error as Error).message}, please manually remove this etcd member using etcdctl`);
  }
}

export const CONTROL_PLANE_DONE = `
This node has joined the cluster and a new control plane instance was created:

* Certificate signing request was sent to apiserver and approval was received.
* The Kubelet was informed of the new secure connection details.
* Control plane label and taint were applied to the new node.
* The Kubernetes control plane instances scaled up.
* A new etcd member was added to the local/stacked etcd cluster.

To start administering your cluster from this node, you need to run the following as a regular user:

	mkdir -p $HOME/.kube
	sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
	sudo chown $(id -u):$(id -g) $HOME/.kube/config

Run 'kubectl get nodes' to see this node join the cluster.
`;
