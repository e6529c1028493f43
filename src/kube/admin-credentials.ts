// Short-lived admin client certificates for the desktop, signed by the cluster CA from
// cluster.secrets.yaml (kubeadm's own admin.conf is the same kind: O=kubeadm:cluster-admins is
// bound to cluster-admin by kubeadm). Kubernetes cannot revoke a client certificate, so they are
// short: 1 hour by default, 30 days at most. Used by `pi-seed kubeconfig` and `pi-seed status`.
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import yaml from 'js-yaml';
import { type RandomBytes, ecKeyPairFromRandom, serialFromRandom, webCryptoPair } from '../secrets/ec-keys.js';
import { SIGNING_ALGORITHM, pemText, x509 } from '../secrets/pki.js';
import { type CertificateAuthority } from '../secrets/cluster-secrets.js';

export const ADMIN_COMMON_NAME = 'pi-seed-admin';
export const ADMIN_GROUP = 'kubeadm:cluster-admins';
/** Tolerates a desktop clock a little ahead of the control plane's. */
export const ADMIN_BACKDATE_MS = 5 * 60 * 1000;

export interface AdminCredentials {
  certificate: string;
  privateKey: string;
  notAfter: Date;
}

export interface MintOptions {
  ca: CertificateAuthority;
  ttlMs: number;
  now?: Date;
  random?: RandomBytes;
}

export async function mintAdminCredentials(options: MintOptions): Promise<AdminCredentials> {
  const now = options.now ?? new Date();
  const random = options.random ?? randomBytes;
  const caCert = new x509.X509Certificate(options.ca.certificate);
  const caKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(options.ca.privateKey).export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const pair = ecKeyPairFromRandom(random);
  const keys = await webCryptoPair(pair);
  const notAfter = new Date(now.getTime() + options.ttlMs);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialFromRandom(random),
    subject: [{ O: [ADMIN_GROUP] }, { CN: [ADMIN_COMMON_NAME] }],
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - ADMIN_BACKDATE_MS),
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  // X.509 stores whole seconds: report the expiry the certificate really has.
  return { certificate: pemText(cert.toString('pem')), privateKey: pair.privateKeyPem, notAfter: cert.notAfter };
}

const MAX_TTL_MS = 30 * 24 * 60 * 60 * 1000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const DEFAULT_TTL = '1h';
export const MAX_TTL = '30d';

/** "30m", "12h", "7d" → milliseconds; null when it is not such a duration or outside 1m..30d ('range'). */
export function parseTtl(value: string): number | 'range' | null {
  const match = /^([0-9]{1,6})([mhd])$/.exec(value.trim());
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms < UNIT_MS.m || ms > MAX_TTL_MS ? 'range' : ms;
}

/** https://HOST:PORT from --server ("host", "host:port", "[v6]", "[v6]:port"); null when malformed. */
export function serverUrl(server: string, defaultPort: number): string | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?$/.exec(server.trim());
  if (!match) return null;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return `https://${match[1] !== undefined ? `[${match[1]}]` : match[2]}:${port}`;
}

export interface KubeconfigParts {
  cluster: string;
  server: string;
  caCertificate: string;
  credentials: AdminCredentials;
}

/** The kubeconfig's `user` and `context` name. */
export const userName = (cluster: string): string => `${ADMIN_COMMON_NAME}@${cluster}`;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function kubeconfigText(parts: KubeconfigParts): string {
  const user = userName(parts.cluster);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: parts.cluster, cluster: { server: parts.server, 'certificate-authority-data': b64(parts.caCertificate) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(parts.credentials.certificate), 'client-key-data': b64(parts.credentials.privateKey) } }],
    contexts: [{ name: user, context: { cluster: parts.cluster, user } }],
    'current-context': user,
  };
  return `# pi-seed admin kubeconfig for ${parts.cluster}: cluster-admin until ${parts.credentials.notAfter.toISOString()}. Keep it private.\n${yaml.dump(doc, { lineWidth: -1 })}`;
}
