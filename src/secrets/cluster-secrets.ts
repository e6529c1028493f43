// Cluster secrets live in cluster.secrets.yaml beside cluster.yaml: created once on the desktop
// (randomness and time come in from the caller, like talos' secrets bundle), reused afterwards so
// outputs stay byte-stable, never committed (`pi-seed init` lists it in .gitignore) and readable
// by its owner only. They are what kubeadm takes from /etc/kubernetes/pki instead of generating
// its own (the three CAs and the service-account key) plus one bootstrap token per worker.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { writeFileAtomic } from '../emit/atomic.js';
import { ProblemError } from '../emit/problem-error.js';
import { msg } from '../errors.js';
import { type RandomBytes, ecKeyPairFromRandom } from './ec-keys.js';
import { isBootstrapToken, newBootstrapToken, tokenId } from './tokens.js';

export { type BundleEntry, formatSecretBundle, parseSecretBundle } from './node-bundle.js';
export { isBootstrapToken, tokenId, TOKEN_PATTERN } from './tokens.js';
export type { RandomBytes } from './ec-keys.js';

export const SECRETS_FILE_NAME = 'cluster.secrets.yaml';
export const SECRETS_API_VERSION = 'pi-seed/v2';
export const SECRETS_KIND = 'ClusterSecrets';
const OLD_API_VERSION = 'pi-seed/v1';

export interface CertificateAuthority {
  certificate: string;
  privateKey: string;
}

export interface ClusterSecrets {
  certificateAuthorities: { cluster: CertificateAuthority; frontProxy: CertificateAuthority; etcd: CertificateAuthority };
  serviceAccount: { publicKey: string; privateKey: string };
  /** Worker name → kubeadm bootstrap token. */
  bootstrapTokens: Readonly<Record<string, string>>;
  /**
   * Node name → its generation, for nodes past their first (a missing node is generation 1).
   * Only `pi-seed replace` raises it: it is part of the node's instance-id (docs/day-2.md).
   */
  generations?: Readonly<Record<string, number>>;
  /**
   * The examples' committed secrets (scripts/make-test-secrets.mjs): keys anyone can read, so
   * the examples' outputs are reproducible. Every command that writes cards from them warns.
   */
  publicTestKeys?: true;
}

/** Each CA's key in the file, the subject kubeadm gives it, and its files under /etc/kubernetes. */
const CAS = [
  { key: 'cluster', commonName: 'kubernetes', file: 'pki/ca' },
  { key: 'frontProxy', commonName: 'front-proxy-ca', file: 'pki/front-proxy-ca' },
  { key: 'etcd', commonName: 'etcd-ca', file: 'pki/etcd/ca' },
] as const;

export function secretsPathFor(configPath: string): string {
  return join(dirname(configPath), SECRETS_FILE_NAME);
}

// --- reading -----------------------------------------------------------------------------------

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks parse with node:crypto (native, fast: every build reads the file; @peculiar/x509 is not loaded for it). */
function p256Key(path: string, where: string, pem: unknown, kind: 'private' | 'public'): KeyObject {
  const label = kind === 'private' ? 'PRIVATE KEY' : 'PUBLIC KEY';
  if (typeof pem !== 'string' || !pem.includes(`-----BEGIN ${label}-----`)) throw new ProblemError(msg.secretsDamaged(path, `${where} is not a PEM ${label}`));
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw new ProblemError(msg.secretsDamaged(path, `${where} does not parse as a ${label}`));
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new ProblemError(msg.secretsDamaged(path, `${where} is not an ECDSA P-256 key`));
  return key;
}

function readCa(path: string, doc: Record<string, unknown>, key: string, commonName: string): CertificateAuthority {
  const where = `certificateAuthorities.${key}`;
  const ca = doc[key];
  if (!isMapping(ca)) throw new ProblemError(msg.secretsDamaged(path, `${where} is missing`));
  if (typeof ca.certificate !== 'string' || !ca.certificate.includes('-----BEGIN CERTIFICATE-----')) throw new ProblemError(msg.secretsDamaged(path, `${where}.certificate is not a PEM certificate`));
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(ca.certificate);
  } catch {
    throw new ProblemError(msg.secretsDamaged(path, `${where}.certificate does not parse as a certificate`));
  }
  const privateKey = p256Key(path, `${where}.privateKey`, ca.privateKey, 'private');
  if (!cert.ca || cert.subject !== `CN=${commonName}`) throw new ProblemError(msg.secretsDamaged(path, `${where}.certificate is not the CA "${commonName}"`));
  if (!cert.checkPrivateKey(privateKey)) throw new ProblemError(msg.secretsDamaged(path, `${where}.privateKey is not the key of its certificate`));
  return { certificate: ca.certificate, privateKey: ca.privateKey as string };
}

/**
 * Parses and checks the text of cluster.secrets.yaml. A truncated, edited or foreign file is a
 * ProblemError naming the file, what is wrong and what to do (every command reports it like any
 * other problem); a file of the old join service gets its own message.
 */
export function parseSecrets(path: string, text: string): ClusterSecrets {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new ProblemError(msg.secretsUnreadable(path, `not YAML: ${(err as Error).message.split('\n')[0]}`));
  }
  if (!isMapping(doc)) throw new ProblemError(msg.secretsDamaged(path, 'it is not a mapping of keys'));
  if (doc.clusterKey !== undefined || doc.apiVersion === OLD_API_VERSION) throw new ProblemError(msg.secretsOldFormat(path));
  if (doc.apiVersion === undefined) throw new ProblemError(msg.secretsDamaged(path, 'apiVersion is missing'));
  if (doc.apiVersion !== SECRETS_API_VERSION) throw new ProblemError(msg.secretsForeign(path, `apiVersion ${JSON.stringify(doc.apiVersion)}`, SECRETS_API_VERSION));
  if (doc.kind !== SECRETS_KIND) throw new ProblemError(msg.secretsForeign(path, `kind ${JSON.stringify(doc.kind)}`, SECRETS_KIND));

  if (!isMapping(doc.bootstrapTokens)) throw new ProblemError(msg.secretsDamaged(path, 'bootstrapTokens is missing'));
  const bootstrapTokens: Record<string, string> = {};
  const ids = new Map<string, string>();
  for (const [node, token] of Object.entries(doc.bootstrapTokens)) {
    if (!isBootstrapToken(token)) throw new ProblemError(msg.secretsDamaged(path, `bootstrapTokens.${node} is not a token like abcdef.0123456789abcdef`));
    const other = ids.get(tokenId(token));
    if (other !== undefined) throw new ProblemError(msg.secretsDamaged(path, `bootstrapTokens.${node} has the same token id as bootstrapTokens.${other}`));
    ids.set(tokenId(token), node);
    bootstrapTokens[node] = token;
  }
  const generations = readGenerations(path, doc.generations);
  const cas = doc.certificateAuthorities;
  if (!isMapping(cas)) throw new ProblemError(msg.secretsDamaged(path, 'certificateAuthorities is missing'));
  const [cluster, frontProxy, etcd] = CAS.map((ca) => readCa(path, cas, ca.key, ca.commonName)) as [CertificateAuthority, CertificateAuthority, CertificateAuthority];
  const sa = doc.serviceAccount;
  if (!isMapping(sa)) throw new ProblemError(msg.secretsDamaged(path, 'serviceAccount is missing'));
  const saPrivate = p256Key(path, 'serviceAccount.privateKey', sa.privateKey, 'private');
  const saPublic = p256Key(path, 'serviceAccount.publicKey', sa.publicKey, 'public');
  if (!spkiDer(createPublicKey(saPrivate)).equals(spkiDer(saPublic))) throw new ProblemError(msg.secretsDamaged(path, 'serviceAccount.publicKey is not the public half of serviceAccount.privateKey'));
  return {
    certificateAuthorities: { cluster, frontProxy, etcd },
    serviceAccount: { publicKey: sa.publicKey as string, privateKey: sa.privateKey as string },
    bootstrapTokens,
    ...(generations ? { generations } : {}),
    ...(doc.publicTestKeys === true ? { publicTestKeys: true as const } : {}),
  };
}

/** `generations` is optional; each value a whole number from 2 up (1 is the default, not written). */
function readGenerations(path: string, value: unknown): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  if (!isMapping(value)) throw new ProblemError(msg.secretsDamaged(path, 'generations is not a mapping of node names to numbers'));
  const generations: Record<string, number> = {};
  for (const [node, generation] of Object.entries(value)) {
    if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 2) throw new ProblemError(msg.secretsDamaged(path, `generations.${node} is not a whole number from 2 up`));
    generations[node] = generation;
  }
  return generations;
}

/** A node's generation: 1 until `pi-seed replace` raises it. */
export const generationOf = (secrets: ClusterSecrets, node: string): number => secrets.generations?.[node] ?? 1;

const spkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

export function readSecrets(path: string): ClusterSecrets {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProblemError(msg.secretsUnreadable(path, (err as NodeJS.ErrnoException).code ?? (err as Error).message));
  }
  const secrets = parseSecrets(path, text);
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return secrets;
}

// --- writing -----------------------------------------------------------------------------------

/**
 * The tokens come first: a file cut short then loses a certificate authority too, which the
 * reader reports, instead of silently losing the last workers' tokens (and re-issuing them).
 */
export function secretsText(secrets: ClusterSecrets): string {
  const doc = {
    apiVersion: SECRETS_API_VERSION,
    kind: SECRETS_KIND,
    ...(secrets.publicTestKeys ? { publicTestKeys: true } : {}),
    bootstrapTokens: secrets.bootstrapTokens,
    ...(secrets.generations && Object.keys(secrets.generations).length > 0 ? { generations: secrets.generations } : {}),
    certificateAuthorities: secrets.certificateAuthorities,
    serviceAccount: secrets.serviceAccount,
  };
  const head = [
    '# pi-seed cluster secrets: the cluster\'s certificate authorities and the workers\' join tokens.',
    '# Keep this file and back it up: without it no card of this cluster can be made again.',
    '# Never commit or share it (pi-seed init adds it to .gitignore).',
  ];
  return `${head.join('\n')}\n${yaml.dump(doc, { lineWidth: -1, noRefs: true, sortKeys: false })}`;
}

/** New secrets from `random` and `now`: the CAs, the service-account key, a token per joining node. */
export async function createSecrets(random: RandomBytes, joiners: readonly string[], now: Date): Promise<ClusterSecrets> {
  const { createCa } = await import('./pki.js');
  const made: CertificateAuthority[] = [];
  for (const ca of CAS) made.push(await createCa(ca.commonName, random, now));
  const sa = ecKeyPairFromRandom(random);
  const [cluster, frontProxy, etcd] = made as [CertificateAuthority, CertificateAuthority, CertificateAuthority];
  return {
    certificateAuthorities: { cluster, frontProxy, etcd },
    serviceAccount: { publicKey: sa.publicKeyPem, privateKey: sa.privateKeyPem },
    bootstrapTokens: withTokensFor({}, joiners, random),
  };
}

/**
 * The tokens plus one for each joining node (every node but the init node) that has none. Tokens
 * of nodes no longer in the config are
 * kept: a token may still be in a running cluster, and removing it there is day 2's job
 * (`pi-seed apply`), which then drops it here too.
 */
function withTokensFor(tokens: Readonly<Record<string, string>>, joiners: readonly string[], random: RandomBytes): Record<string, string> {
  const result: Record<string, string> = { ...tokens };
  for (const node of joiners) if (result[node] === undefined) result[node] = newBootstrapToken(random, Object.values(result));
  return result;
}

export interface LoadedSecrets {
  secrets: ClusterSecrets;
  /** The file was made by this call. */
  created: boolean;
  /** Joining nodes that got a new token (written to the file when `create` is set). */
  added: string[];
  path: string;
}

/**
 * Loads the secrets beside the config; null when there are none and `create` is false. With
 * `create` the file is made on first use, and a joining node without a token gets one (file rewritten
 * atomically, 0600); without it (dry runs, status) new tokens exist in memory only.
 */
export async function loadOrCreateSecrets(configPath: string, random: RandomBytes, create: boolean, joiners: readonly string[], now: Date = new Date()): Promise<LoadedSecrets | null> {
  const path = secretsPathFor(configPath);
  if (!existsSync(path)) {
    if (!create) return null;
    const secrets = await createSecrets(random, joiners, now);
    writeFileAtomic(path, secretsText(secrets), 0o600);
    return { secrets, created: true, added: [], path };
  }
  const stored = readSecrets(path);
  const added = joiners.filter((n) => stored.bootstrapTokens[n] === undefined);
  if (added.length === 0) return { secrets: stored, created: false, added, path };
  const secrets = { ...stored, bootstrapTokens: withTokensFor(stored.bootstrapTokens, joiners, random) };
  if (create) writeFileAtomic(path, secretsText(secrets), 0o600);
  return { secrets, created: false, added, path };
}

// --- what the nodes get ------------------------------------------------------------------------

/** kubeadm's discovery pin (`caCertHashes`): sha256 of the CA certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(certPem: string): string {
  const spki = spkiDer(new X509Certificate(certPem).publicKey);
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The files kubeadm reads from /etc/kubernetes (paths relative to it) instead of making its own. */
export function pkiFiles(secrets: ClusterSecrets): Array<{ path: string; content: string }> {
  const files: Array<{ path: string; content: string }> = [];
  for (const ca of CAS) {
    const pair = secrets.certificateAuthorities[ca.key];
    files.push({ path: `${ca.file}.crt`, content: endLine(pair.certificate) }, { path: `${ca.file}.key`, content: endLine(pair.privateKey) });
  }
  files.push({ path: 'pki/sa.key', content: endLine(secrets.serviceAccount.privateKey) }, { path: 'pki/sa.pub', content: endLine(secrets.serviceAccount.publicKey) });
  return files;
}

const endLine = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** A joining node's token; each has one once loadOrCreateSecrets has run with the plan's joiners. */
export function workerToken(secrets: ClusterSecrets, worker: string): string {
  const token = secrets.bootstrapTokens[worker];
  if (token === undefined) throw new Error(`no bootstrap token for ${worker}: loadOrCreateSecrets was not given the plan's joiners`);
  return token;
}
