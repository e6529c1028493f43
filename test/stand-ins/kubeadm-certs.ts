// kubeadm's certs phase: the CAs and the service-account key are used when present ("custom
// certificates", checked like kubeadm checks them) and generated when not; leaf certificates
// are made from them. Records which CAs were existing vs generated for the tests.
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate as NodeCert } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pki } from './paths.js';
import { issuedBy, loadCa, newCa, newKey, signLeaf, type Ca } from './pki.js';
import { atomicWrite } from './util.js';

export class KubeadmError extends Error {}

/** "ca" → pki/ca.crt + pki/ca.key; loaded (after kubeadm's checks) or generated. */
async function ensureCa(root: string, name: string, commonName: string, record: string[]): Promise<Ca> {
  const certFile = pki(root, `${name}.crt`);
  const keyFile = pki(root, `${name}.key`);
  const shown = `/etc/kubernetes/pki/${name}`;
  if (existsSync(certFile) || existsSync(keyFile)) {
    if (!existsSync(keyFile)) throw new KubeadmError(`error execution phase certs/${name}: failure loading ${name} certificate authority: couldn't load the private key file ${shown}.key: open ${shown}.key: no such file or directory`);
    if (!existsSync(certFile)) throw new KubeadmError(`error execution phase certs/${name}: failure loading ${name} certificate authority: couldn't load the certificate file ${shown}.crt: open ${shown}.crt: no such file or directory`);
    const certPem = readFileSync(certFile, 'utf8');
    const keyPem = readFileSync(keyFile, 'utf8');
    let cert: NodeCert;
    try {
      cert = new NodeCert(certPem);
    } catch (error) {
      throw new KubeadmError(`error execution phase certs/${name}: failure loading ${name} certificate authority: ${(error as Error).message}`);
    }
    if (!cert.ca) throw new KubeadmError(`error execution phase certs/${name}: ${name} certificate is not a certificate authority`);
    if (Date.parse(cert.validTo) < Date.now()) throw new KubeadmError(`error execution phase certs/${name}: ${name} certificate has expired`);
    if (Date.parse(cert.validFrom) > Date.now()) throw new KubeadmError(`error execution phase certs/${name}: ${name} certificate is not valid yet (NotBefore ${cert.validFrom}): check the clock`);
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ format: 'der', type: 'spki' }).toString('hex');
    if (spki(cert.publicKey) !== spki(createPublicKey(createPrivateKey(keyPem)))) throw new KubeadmError(`error execution phase certs/${name}: failure loading ${name} certificate authority: private key does not match public key`);
    console.log(`[certs] Using existing ${name} certificate authority`);
    record.push(`${name} existing`);
    return loadCa(certPem, keyPem);
  }
  console.log(`[certs] Generating "${name}" certificate and key`);
  const ca = await newCa(commonName);
  mkdirSync(dirname(certFile), { recursive: true });
  atomicWrite(certFile, ca.certPem, 0o644);
  atomicWrite(keyFile, ca.key.keyPem, 0o600);
  record.push(`${name} generated`);
  return ca;
}

export interface ServingSpec {
  advertise: string;
  sans: string[];
  nodeName: string;
  dnsDomain: string;
  serviceSubnet: string;
  endpointHost?: string;
}

/** The first address of the service subnet (the kubernetes Service's ClusterIP). */
function firstServiceIp(subnet: string): string {
  const [base] = subnet.split(',')[0]!.split('/');
  const parts = base!.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 1;
  return parts.join('.');
}

const isIp = (s: string) => /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');

/** pki/apiserver.crt/key with kubeadm's SANs. */
export async function apiServerCert(root: string, ca: Ca, spec: ServingSpec): Promise<{ cert: string; key: string }> {
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${spec.dnsDomain}`, spec.nodeName, ...spec.sans, ...(spec.endpointHost ? [spec.endpointHost] : [])];
  const ips = [firstServiceIp(spec.serviceSubnet), spec.advertise, ...names.filter(isIp)];
  const key = await newKey();
  const cert = await signLeaf(ca, { subject: [{ CN: ['kube-apiserver'] }], publicKey: key.publicKey, server: { dns: [...new Set(names.filter((n) => !isIp(n)))], ips: [...new Set(ips.filter(Boolean))] } });
  atomicWrite(pki(root, 'apiserver.crt'), cert, 0o644);
  atomicWrite(pki(root, 'apiserver.key'), key.keyPem, 0o600);
  return { cert, key: key.keyPem };
}

/** A client leaf (cert + key files; with `server`, serving and client) unless a valid one from this CA is there already. */
async function leaf(root: string, file: string, ca: Ca, cn: string, o: string[], server?: { dns: string[]; ips: string[] }): Promise<void> {
  const certFile = pki(root, `${file}.crt`);
  if (existsSync(certFile) && existsSync(pki(root, `${file}.key`)) && issuedBy(readFileSync(certFile, 'utf8'), ca.certPem)) {
    console.log(`[certs] Using the existing "${file}" certificate and key`);
    return;
  }
  console.log(`[certs] Generating "${file}" certificate and key`);
  const key = await newKey();
  atomicWrite(certFile, await signLeaf(ca, { subject: [{ CN: [cn] }, ...(o.length ? [{ O: o }] : [])], publicKey: key.publicKey, ...(server ? { server, alsoClient: true } : {}) }), 0o644);
  atomicWrite(pki(root, `${file}.key`), key.keyPem, 0o600);
}

/** The whole phase; returns the cluster CA. `record` gets one line per CA and the SA key. */
export async function certsPhase(root: string, spec: ServingSpec, record: string[]): Promise<Ca> {
  console.log('[certs] Using certificateDir folder "/etc/kubernetes/pki"');
  const ca = await ensureCa(root, 'ca', 'kubernetes', record);
  const existing = pki(root, 'apiserver.crt');
  if (existsSync(existing) && existsSync(pki(root, 'apiserver.key')) && issuedBy(readFileSync(existing, 'utf8'), ca.certPem)) console.log('[certs] Using existing apiserver certificate and key on disk');
  else {
    console.log('[certs] Generating "apiserver" certificate and key');
    await apiServerCert(root, ca, spec);
  }
  await leaf(root, 'apiserver-kubelet-client', ca, 'kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']);
  const frontProxy = await ensureCa(root, 'front-proxy-ca', 'front-proxy-ca', record);
  await leaf(root, 'front-proxy-client', frontProxy, 'front-proxy-client', []);
  const etcd = await ensureCa(root, 'etcd/ca', 'etcd-ca', record);
  // kubeadm's etcd server and peer SANs: the node name, localhost, the advertise address, loopback.
  const etcdSans = { dns: [spec.nodeName, 'localhost'], ips: [...new Set([spec.advertise, '127.0.0.1', '::1'])] };
  await leaf(root, 'etcd/server', etcd, spec.nodeName, [], etcdSans);
  await leaf(root, 'etcd/peer', etcd, spec.nodeName, [], etcdSans);
  await leaf(root, 'etcd/healthcheck-client', etcd, 'kube-etcd-healthcheck-client', []);
  await leaf(root, 'apiserver-etcd-client', etcd, 'kube-apiserver-etcd-client', []);
  // The service-account key pair: both files or neither, and they must match.
  const saKey = pki(root, 'sa.key');
  const saPub = pki(root, 'sa.pub');
  if (existsSync(saKey)) {
    const pub = createPublicKey(createPrivateKey(readFileSync(saKey, 'utf8'))).export({ format: 'pem', type: 'spki' }).toString();
    if (existsSync(saPub) && createPublicKey(readFileSync(saPub, 'utf8')).export({ format: 'pem', type: 'spki' }).toString() !== pub) throw new KubeadmError('error execution phase certs/sa: sa.pub does not match sa.key');
    if (!existsSync(saPub)) atomicWrite(saPub, pub, 0o644);
    console.log('[certs] Using the existing "sa" key');
    record.push('sa existing');
  } else {
    console.log('[certs] Generating "sa" key and public key');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) // as with encryptionAlgorithm ECDSA-P256;
    atomicWrite(saKey, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
    atomicWrite(saPub, publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644);
    record.push('sa generated');
  }
  return ca;
}
