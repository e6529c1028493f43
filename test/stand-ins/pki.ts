// Certificates for the stand-ins, with @peculiar/x509 on Node's WebCrypto (set explicitly: Node 18,
// which the VM tests run, has no global `crypto`). Keys are PEM PKCS#8 like kubeadm's; a CA may be
// ECDSA P-256 (pi-seed's bundle, kubeadm's ECDSA-P256) or RSA (an older kubeadm default).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate as NodeCert } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyPair {
  /** PKCS#8 PEM, as kubeadm writes pki/*.key. */
  keyPem: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export interface Ca {
  certPem: string;
  cert: x509.X509Certificate;
  key: KeyPair;
}

/** The WebCrypto algorithm of a PEM key (its type decides how it signs). */
function algorithmOf(pem: string): typeof EC | typeof RSA {
  const type = createPrivateKey(pem).asymmetricKeyType;
  if (type === 'ec') return EC;
  if (type === 'rsa') return RSA;
  throw new Error(`unsupported key type ${type}`);
}

function signingAlgorithm(alg: typeof EC | typeof RSA): Algorithm | EcdsaParams {
  return alg === EC ? { name: 'ECDSA', hash: 'SHA-256' } : RSA;
}

export async function importKey(keyPem: string): Promise<KeyPair> {
  const alg = algorithmOf(keyPem);
  const pkcs8 = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyPem).export({ format: 'der', type: 'spki' });
  const privateKey = (await subtle.importKey('pkcs8', pkcs8, alg, true, ['sign'])) as unknown as CryptoKey;
  const publicKey = (await subtle.importKey('spki', spki, alg, true, ['verify'])) as unknown as CryptoKey;
  const pem = createPrivateKey(keyPem).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { keyPem: pem, privateKey, publicKey };
}

export async function newKey(): Promise<KeyPair> {
  const pair = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const der = Buffer.from(await subtle.exportKey('pkcs8', pair.privateKey as never));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { keyPem, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

export async function loadCa(certPem: string, keyPem: string): Promise<Ca> {
  return { certPem, cert: new x509.X509Certificate(certPem), key: await importKey(keyPem) };
}

/** A self-signed CA valid ten years, backdated a day (as kubeadm's and pi-seed's are). */
export async function newCa(commonName: string): Promise<Ca> {
  const key = await newKey();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    name: [{ CN: [commonName] }],
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', cert, key };
}

export interface LeafOptions {
  /** JSON name, e.g. [{CN: ['kubernetes-admin']}, {O: ['kubeadm:cluster-admins']}] */
  subject: x509.JsonName | string;
  publicKey: CryptoKey | x509.PublicKey;
  server?: { dns: string[]; ips: string[] };
  /** A serving certificate that is a client one too (etcd's server and peer certificates). */
  alsoClient?: boolean;
  days?: number;
}

/** A leaf certificate signed by `ca`: a client certificate, or a serving one with SANs. */
export async function signLeaf(ca: Ca, opts: LeafOptions): Promise<string> {
  const alg = algorithmOf(ca.key.keyPem);
  const sans = opts.server ? [...opts.server.dns.map((value) => ({ type: 'dns' as const, value })), ...opts.server.ips.map((value) => ({ type: 'ip' as const, value }))] : [];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    subject: opts.subject,
    issuer: ca.cert.subjectName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + (opts.days ?? 365) * DAY),
    publicKey: opts.publicKey,
    signingKey: ca.key.privateKey,
    signingAlgorithm: signingAlgorithm(alg),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(opts.server ? [x509.ExtendedKeyUsage.serverAuth, ...(opts.alsoClient ? [x509.ExtendedKeyUsage.clientAuth] : [])] : [x509.ExtendedKeyUsage.clientAuth]),
      ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
    ],
  });
  return cert.toString('pem') + '\n';
}

/** A new key and a client certificate for it: `{certPem, keyPem}`. */
export async function clientCert(ca: Ca, user: string, groups: string[]): Promise<{ certPem: string; keyPem: string }> {
  const key = await newKey();
  const subject: x509.JsonName = [{ CN: [user] }, ...(groups.length ? [{ O: groups }] : [])];
  return { certPem: await signLeaf(ca, { subject, publicKey: key.publicKey }), keyPem: key.keyPem };
}

/** A PKCS#10 request (PEM) for `subject`, as the kubelet's TLS bootstrap sends. */
export async function newCsr(key: KeyPair, subject: x509.JsonName): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  });
  return csr.toString('pem') + '\n';
}

/** A parsed, signature-checked CSR: its subject's CN and O values and its public key. */
export async function readCsr(pem: string): Promise<{ cn: string[]; o: string[]; publicKey: x509.PublicKey; subject: x509.JsonName }> {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  if (!(await csr.verify())) throw new Error('the CSR signature is invalid');
  const json = csr.subjectName.toJSON();
  const values = (type: string) => json.flatMap((rdn) => rdn[type] ?? []);
  return { cn: values('CN'), o: values('O'), publicKey: csr.publicKey, subject: json };
}

/** kubeadm's CA pin: "sha256:" + hex SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
export function caCertHash(certPem: string): string {
  const spki = new NodeCert(certPem).publicKey.export({ format: 'der', type: 'spki' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Does `certPem` chain directly to `caPem` (issuer name and signature)? */
export function issuedBy(certPem: string, caPem: string): boolean {
  const cert = new NodeCert(certPem);
  const ca = new NodeCert(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}
