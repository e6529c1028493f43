// An HTTPS client for the stand-ins (kubeadm, kubectl) and reading/writing kubeconfig files
// the way client-go does: embedded *-data or file paths (node paths, looked up under PI_SEED_ROOT).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { b64, dumpYaml, StatusError, type Obj } from './util.js';

export interface Credentials {
  server: string;
  caPem?: string;
  insecure?: boolean;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

export interface Response {
  status: number;
  body: string;
  json(): Obj;
}

/** One HTTPS request, bounded by `timeoutMs`; network errors are thrown with their code. */
export function request(creds: Credentials, method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 10_000): Promise<Response> {
  const url = new URL(path, creds.server);
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: creds.caPem,
        cert: creds.certPem,
        key: creds.keyPem,
        rejectUnauthorized: !creds.insecure,
        headers: {
          Accept: 'application/json',
          ...(data !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) } : {}),
          ...(creds.token ? { Authorization: `Bearer ${creds.token}` } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) as Obj });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`request to ${url.host} timed out`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** The response as JSON, or its Kubernetes Status as a StatusError. */
export function expectOk(res: Response): Obj {
  if (res.status >= 200 && res.status < 300) return res.body ? res.json() : {};
  let status: Obj = {};
  try {
    status = res.json();
  } catch {
    /* not JSON */
  }
  throw new StatusError(res.status, status.reason ?? 'Unknown', status.message ?? (res.body || `the server responded with status ${res.status}`), status.details ?? {});
}

/** A node path as this root sees it (/var/lib/kubelet/... → $PI_SEED_ROOT/var/lib/kubelet/...). */
export function onNode(path: string): string {
  const root = process.env.PI_SEED_ROOT;
  if (root && path.startsWith('/') && !path.startsWith(root) && existsSync(join(root, path))) return join(root, path);
  return path;
}

/** Credentials from a kubeconfig (its current context). */
export function readKubeconfig(file: string): Credentials {
  const config = (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Obj;
  const contexts = (config.contexts ?? []) as Obj[];
  const context = (contexts.find((c) => c.name === config['current-context']) ?? contexts[0])?.context ?? {};
  const cluster = ((config.clusters ?? []) as Obj[]).find((c) => c.name === context.cluster)?.cluster ?? {};
  const user = ((config.users ?? []) as Obj[]).find((u) => u.name === context.user)?.user ?? {};
  const pem = (data?: string, path?: string) => (data ? Buffer.from(data, 'base64').toString('utf8') : path ? readFileSync(onNode(path), 'utf8') : undefined);
  if (!cluster.server) throw new Error(`invalid configuration: no server found for cluster "${context.cluster ?? ''}"`);
  return {
    server: cluster.server,
    caPem: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    certPem: pem(user['client-certificate-data'], user['client-certificate']),
    keyPem: pem(user['client-key-data'], user['client-key']),
    token: user.token,
  };
}

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  user: string;
  clusterName?: string;
  certPem?: string;
  keyPem?: string;
  /** Node paths instead of embedded data (the kubelet's rotating certificate). */
  certFile?: string;
  keyFile?: string;
  token?: string;
}

/** A kubeconfig as kubeadm writes one. */
export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const cluster = spec.clusterName ?? 'kubernetes';
  const context = `${spec.user}@${cluster}`;
  const user: Obj = {};
  if (spec.certPem) user['client-certificate-data'] = b64(spec.certPem);
  if (spec.keyPem) user['client-key-data'] = b64(spec.keyPem);
  if (spec.certFile) user['client-certificate'] = spec.certFile;
  if (spec.keyFile) user['client-key'] = spec.keyFile;
  if (spec.token) user.token = spec.token;
  return dumpYaml({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': b64(spec.caPem), server: spec.server }, name: cluster }],
    contexts: [{ context: { cluster, user: spec.user }, name: context }],
    'current-context': context,
    kind: 'Config',
    preferences: {},
    users: [{ name: spec.user, user }],
  });
}
