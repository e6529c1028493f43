// The stand-ins (test/stand-ins/, run through the sh doubles) check what the real kubeadm,
// kube-apiserver and kubectl would: kubeadm init uses the CA laid out in pki/, the API server's
// certificate chains to it, cluster-info carries a valid JWS per token, bearer tokens and RBAC
// decide who reads what (403 with kube-apiserver's words, 401 for bad or expired tokens), and
// kubeadm join accepts only a listed token and the right CA pin. All on 127.0.0.1, high port.
import { spawnSync } from 'node:child_process';
import { createHash, createHmac, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, tempDir } from './helpers.js';
import { newCa } from './stand-ins/pki.js';
import { untilMajority } from './stand-ins/etcd.js';

const BUNDLE = join(REPO, 'dist', 'stand-ins', 'stand-ins.cjs');
const DOUBLES = join(REPO, 'test', 'doubles');
const PORT = 16443 + Math.floor(Math.random() * 2000);
const work = tempDir('pi-seed-stand-ins-');
const doubles = join(work, 'doubles');
const cp = join(work, 'mas01');
const TOKENS = { work01: 'abcdef.0123456789abcdef', work02: 'ghijkl.abcdefghij012345' };
let caPem = '';
let pin = '';

function run(program: string, args: string[], root = cp, extra: NodeJS.ProcessEnv = {}, input?: string) {
  const result = spawnSync(join(DOUBLES, program), args, {
    encoding: 'utf8',
    input,
    timeout: 60_000,
    env: { ...process.env, PATH: `${DOUBLES}:${process.env.PATH}`, PI_SEED_DOUBLES_DIR: doubles, PI_SEED_ROOT: root, PI_SEED_STAND_INS: BUNDLE, KUBECONFIG: join(cp, 'etc/kubernetes/admin.conf'), ...extra },
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** A GET with a bearer token (or none), verified against the cluster CA. */
function get(path: string, token?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: PORT, path, ca: caPem, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end();
  });
}

function joinConfig(node: string, token: string, hash: string): string {
  const file = join(work, `join-${node}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 127.0.0.1:${PORT}\n    token: ${token}\n    caCertHashes: ["${hash}"]\nnodeRegistration:\n  name: ${node}\n`);
  return file;
}

test.before(async () => {
  if (!existsSync(BUNDLE)) {
    const built = spawnSync(process.execPath, ['scripts/bundle-stand-ins.mjs'], { cwd: REPO, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`bundling the stand-ins failed: ${built.stderr}`);
  }
  // The desktop's CA, laid out where kubeadm's "custom certificates" go.
  const ca = await newCa('kubernetes');
  caPem = ca.certPem;
  pin = `sha256:${createHash('sha256').update(new X509Certificate(caPem).publicKey.export({ format: 'der', type: 'spki' })).digest('hex')}`;
  mkdirSync(join(cp, 'etc/kubernetes/pki'), { recursive: true });
  writeFileSync(join(cp, 'etc/kubernetes/pki/ca.crt'), ca.certPem);
  writeFileSync(join(cp, 'etc/kubernetes/pki/ca.key'), ca.key.keyPem, { mode: 0o600 });
  const config = join(work, 'kubeadm-init.yaml');
  writeFileSync(
    config,
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: ${TOKENS.work01}
  description: pi-seed join token for work01
  ttl: 0s
- token: ${TOKENS.work02}
  description: pi-seed join token for work02
localAPIEndpoint:
  advertiseAddress: 127.0.0.1
  bindPort: ${PORT}
nodeRegistration:
  name: mas01
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.1
apiServer:
  certSANs: [mas01.example]
`,
  );
  const init = run('kubeadm', ['init', '--skip-token-print', '--config', config]);
  if (init.code !== 0) throw new Error(`kubeadm init failed:\n${init.out}\n${init.err}`);
});

test.after(() => {
  run('kubeadm', ['reset', '-f']);
  rmSync(work, { recursive: true, force: true });
});

test('kubeadm init uses the CA laid out in pki/ and generates the rest', () => {
  assert.is(readFileSync(join(doubles, 'init', 'mas01.certs'), 'utf8'), 'ca existing\nfront-proxy-ca generated\netcd/ca generated\nsa generated\n');
  assert.is(readFileSync(join(cp, 'etc/kubernetes/pki/ca.crt'), 'utf8'), caPem);
  for (const f of ['admin.conf', 'super-admin.conf', 'kubelet.conf', 'controller-manager.conf', 'scheduler.conf', 'manifests/kube-apiserver.yaml']) assert.ok(existsSync(join(cp, 'etc/kubernetes', f)), f);
  assert.match(readFileSync(join(cp, 'etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8'), `--secure-port=${PORT}`);
});

test("the API server's serving certificate chains to that CA and names the advertise address", async () => {
  const cert = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: PORT, ca: caPem, servername: undefined }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate(true).raw));
      socket.end();
    });
    socket.on('error', reject);
  });
  const ca = new X509Certificate(caPem);
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  for (const san of ['IP Address:127.0.0.1', 'DNS:kubernetes.default.svc', 'DNS:mas01.example']) assert.ok(cert.subjectAltName?.includes(san), `${san} in ${cert.subjectAltName}`);
});

test('kubectl get nodes works with admin.conf; the control plane is registered, labelled and tainted', () => {
  const r = run('kubectl', ['get', 'nodes', 'mas01', '-o', 'json']);
  assert.is(r.code, 0, r.err);
  const node = JSON.parse(r.out);
  assert.ok('node-role.kubernetes.io/control-plane' in node.metadata.labels);
  assert.equal(node.spec.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  assert.is(run('kubectl', ['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']).out, 'True');
  const missing = run('kubectl', ['get', 'node', 'nope']);
  assert.is(missing.code, 1);
  assert.is(missing.err, 'Error from server (NotFound): nodes "nope" not found\n');
});

test('anonymous reads cluster-info, signed (detached JWS) for each token, and nothing else', async () => {
  const info = await get('/api/v1/namespaces/kube-public/configmaps/cluster-info');
  assert.is(info.status, 200);
  const kubeconfig: string = info.body.data.kubeconfig;
  assert.ok(kubeconfig.includes(Buffer.from(caPem).toString('base64')));
  for (const token of Object.values(TOKENS)) {
    const [id, secret] = token.split('.') as [string, string];
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: id })).toString('base64url');
    const signature = createHmac('sha256', secret).update(`${header}.${Buffer.from(kubeconfig).toString('base64url')}`).digest('base64url');
    assert.is(info.body.data[`jws-kubeconfig-${id}`], `${header}..${signature}`);
  }
  assert.is((await get('/api/v1/namespaces/kube-system/configmaps/kubeadm-config')).status, 403);
});

test('a bearer token reads what a RoleBinding allows and is refused the rest; bad and expired tokens get 401', async () => {
  const manifest = join(work, 'access.yaml');
  writeFileSync(
    manifest,
    `apiVersion: v1
kind: Namespace
metadata: {name: pi-seed}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: "pi-seed:node:work01", namespace: pi-seed}
rules:
- {apiGroups: [""], resources: [configmaps], resourceNames: [join-work01], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "pi-seed:node:work01", namespace: pi-seed}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "pi-seed:node:work01"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:bootstrap:abcdef"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: join-work01, namespace: pi-seed}
data: {script: one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: join-work02, namespace: pi-seed}
data: {script: two}
---
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-expird, namespace: kube-system}
type: bootstrap.kubernetes.io/token
stringData: {token-id: expird, token-secret: 0123456789abcdef, expiration: "2020-01-01T00:00:00Z", usage-bootstrap-authentication: "true", usage-bootstrap-signing: "true"}
`,
  );
  const applied = run('kubectl', ['apply', '-f', manifest]);
  assert.is(applied.code, 0, applied.err);
  assert.match(applied.out, 'configmap/join-work01 created');
  const own = await get('/api/v1/namespaces/pi-seed/configmaps/join-work01', TOKENS.work01);
  assert.is(own.status, 200);
  assert.is(own.body.data.script, 'one');
  const other = await get('/api/v1/namespaces/pi-seed/configmaps/join-work02', TOKENS.work01);
  assert.is(other.status, 403);
  assert.is(other.body.message, 'configmaps "join-work02" is forbidden: User "system:bootstrap:abcdef" cannot get resource "configmaps" in API group "" in the namespace "pi-seed"');
  assert.is((await get('/api/v1/namespaces/pi-seed/configmaps/join-work01', 'abcdef.0123456789abcdeX')).status, 401);
  assert.is((await get('/api/v1/namespaces/pi-seed/configmaps/join-work01', 'expird.0123456789abcdef')).status, 401);
  const info = await get('/api/v1/namespaces/kube-public/configmaps/cluster-info');
  assert.not.ok('jws-kubeconfig-expird' in info.body.data, 'an expired token is not signed');
});

test('kubeadm join with a listed token and the right pin joins and registers; a wrong pin or unknown token is refused', () => {
  const wrongPin = run('kubeadm', ['join', '--config', joinConfig('work02', TOKENS.work02, `sha256:${'0'.repeat(64)}`)], join(work, 'w2a'));
  assert.is(wrongPin.code, 1);
  assert.match(wrongPin.err, `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${pin}" are pinned`);
  const unknown = run('kubeadm', ['join', '--config', joinConfig('work02', 'zzzzzz.0123456789abcdef', pin)], join(work, 'w2b'), { PI_SEED_KUBEADM_DISCOVERY_SECONDS: '1' });
  assert.is(unknown.code, 1);
  assert.match(unknown.err, 'there is no JWS signed token in the cluster-info ConfigMap. This token id "zzzzzz" is invalid for this cluster, or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token');
  const mixed = run('kubeadm', ['join', '--config', joinConfig('work01', TOKENS.work01, pin), '--token', TOKENS.work01], join(work, 'w1'));
  assert.match(mixed.err, "can not mix '--config' with arguments [token]");

  const joined = run('kubeadm', ['join', '--config', joinConfig('work01', TOKENS.work01, pin)], join(work, 'w1'));
  assert.is(joined.code, 0, joined.err);
  assert.ok(existsSync(join(doubles, 'joined', 'work01')));
  assert.is(readFileSync(join(work, 'w1/etc/kubernetes/pki/ca.crt'), 'utf8'), caPem);
  const pem = readFileSync(join(work, 'w1/var/lib/kubelet/pki/kubelet-client-current.pem'), 'utf8');
  const kubeletCert = new X509Certificate(pem);
  assert.match(kubeletCert.subject, 'CN=system:node:work01');
  assert.ok(kubeletCert.verify(new X509Certificate(caPem).publicKey));
  const nodes = run('kubectl', ['get', 'nodes', '-o', 'name']);
  assert.is(nodes.out, 'node/mas01\nnode/work01\n');

  const again = run('kubeadm', ['join', '--config', joinConfig('work01', TOKENS.work02, pin)], join(work, 'w1-again'));
  assert.is(again.code, 1);
  assert.match(again.err, 'a Node with name "work01" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node');
});

test("the stand-in etcd's majority does not wait for a slow or dead member, and says when none was reached", async () => {
  const never = new Promise<number>(() => {});
  const later = (status: number, ms: number) => new Promise<number>((r) => setTimeout(() => r(status), ms));
  // Three peers, two acknowledgements needed: the dead one is not waited for.
  const early = await untilMajority([later(200, 5), never, later(200, 10)], (s) => s === 200, 2);
  assert.is(early.reached, true);
  assert.equal(early.answers, [200, undefined, 200]);
  // A refusal and a timeout: not reached, with every answer in.
  const missed = await untilMajority([later(409, 5), later(0, 10)], (s) => s === 200, 1);
  assert.equal(missed, { reached: false, answers: [409, 0] });
  // Whom the count excludes (a learner at index 0) does not count.
  assert.is((await untilMajority([later(200, 1), later(0, 2)], (s, i) => s === 200 && i !== 0, 1)).reached, false);
  // A single member needs no peer.
  assert.is((await untilMajority([never], () => true, 0)).reached, true);
});

test('kubeadm reset stops the API server and wipes its state and pki/', () => {
  const pidFile = join(doubles, 'apiserver-mas01.pid');
  assert.ok(existsSync(pidFile));
  const saved = join(work, 'admin.conf');
  writeFileSync(saved, readFileSync(join(cp, 'etc/kubernetes/admin.conf')));
  const reset = run('kubeadm', ['reset', '-f']);
  assert.is(reset.code, 0, reset.err);
  assert.not.ok(existsSync(pidFile));
  assert.not.ok(existsSync(join(cp, 'var/lib/etcd')));
  assert.not.ok(existsSync(join(cp, 'etc/kubernetes/pki/ca.crt')));
  const refused = run('kubectl', ['get', 'nodes'], cp, { KUBECONFIG: saved });
  assert.is(refused.code, 1);
  assert.is(refused.err, `The connection to the server 127.0.0.1:${PORT} was refused - did you specify the right host or port?\n`);
});

test.run();
