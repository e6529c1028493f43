// Each control plane asked directly, not through the endpoint: its own API server's /livez, and
// /readyz/etcd, which fails when that API server cannot read etcd (its member is down, or the
// members have lost their majority). kube-apiserver lets anonymous users read /livez but not
// /readyz/etcd (system:public-info-viewer names the exact paths /livez, /readyz, /healthz,
// /version), so pi-seed asks with its admin certificate, and verifies each server against the
// cluster CA as it does the endpoint.
import { request } from 'node:https';
import { type AdminCredentials } from './admin-credentials.js';

export interface HealthTarget {
  address: string;
  port: number;
  caCertificate: string;
  credentials: AdminCredentials;
  timeoutMs: number;
}

export interface ControlPlaneHealth {
  /** "ok", or why this control plane's API server did not answer. */
  apiServer: string;
  /** "ok", what the API server says of etcd, or null when the API server itself did not answer. */
  etcd: string | null;
}

/** One GET; resolves to the status code and the start of the body, or an error text. */
function get(target: HealthTarget, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.address,
        port: target.port,
        path,
        method: 'GET',
        ca: target.caCertificate,
        cert: target.credentials.certificate,
        key: target.credentials.privateKey,
        timeout: target.timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 2000) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${target.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ETIMEDOUT' ? err.message : `${err.code ?? 'error'}: ${err.message.split('\n')[0]}` }));
    req.end();
  });
}

/** kube-apiserver's verbose check lines say "[-]etcd failed: reason withheld": keep the gist. */
function failure(result: { status: number; body: string }): string {
  const line = result.body.split('\n').find((l) => l.startsWith('[-]')) ?? result.body.split('\n')[0] ?? '';
  return `HTTP ${result.status}${line ? `: ${line.slice(0, 120)}` : ''}`;
}

export async function controlPlaneHealth(target: HealthTarget): Promise<ControlPlaneHealth> {
  const live = await get(target, '/livez');
  if ('error' in live) return { apiServer: live.error, etcd: null };
  if (live.status !== 200) return { apiServer: failure(live), etcd: null };
  const etcd = await get(target, '/readyz/etcd');
  if ('error' in etcd) return { apiServer: 'ok', etcd: etcd.error };
  return { apiServer: 'ok', etcd: etcd.status === 200 ? 'ok' : failure(etcd) };
}
