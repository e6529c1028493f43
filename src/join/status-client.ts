// The desktop side of `pi-seed status`: an authenticated request to the control plane's join
// service (docs/join-protocol.md), and the table it prints. Kept apart from protocol.ts so that
// only `status` loads node:http.
import { request } from 'node:http';
import { HEX64, STATUS_MAC_HEADER, deriveAdminKey, macEquals, statusMac, statusReplyMac } from './protocol.js';

const MAX_STATUS_REPLY = 1024 * 1024;

export interface NodeStatus {
  name: string;
  role: string;
  phase: string;
  /** When the master received the phase: ISO-8601 UTC by the master's clock (display only). */
  since: string | null;
  /** The last failure reason, cleared when the node reaches joined (workers) or ready. */
  error: string | null;
}

export interface ClusterStatus {
  cluster: string;
  nodes: NodeStatus[];
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** POST a JSON body; resolve with the whole reply, bounded in size and by an absolute deadline. */
function postJson(address: string, port: number, path: string, body: unknown, deadline: number): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      reject(new Error(`timed out before POST ${path}`));
      return;
    }
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = request(
      {
        host: address,
        port,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          connection: 'close',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_STATUS_REPLY) {
            fail(new Error(`reply to ${path} is larger than ${MAX_STATUS_REPLY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => fail(err));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    const timer = setTimeout(() => fail(new Error(`no complete reply to ${path} from ${address}:${port} in time`)), remaining);
    req.on('error', (err) => fail(new Error(`cannot reach the join service at ${address}:${port}: ${err.message}`)));
    req.end(payload);
  });
}

function parseObject(body: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function refusal(what: string, reply: HttpReply): Error {
  let reason = 'no reason given';
  try {
    const error = parseObject(reply.body, 'reply').error;
    if (typeof error === 'string') reason = error;
  } catch {
    // keep the generic reason
  }
  return new Error(`the join service refused the ${what} (HTTP ${reply.status}: ${reason})`);
}

function isNullableString(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

/**
 * Ask the master's join service for every node's phase, authenticated with the admin key derived
 * from the cluster key; the reply's MAC is verified before it is believed. Rejects on any
 * failure (unreachable, refused, bad MAC, malformed, over 1 MiB, slower than timeoutMs overall).
 */
export async function requestStatus(opts: {
  address: string;
  port: number;
  clusterKey: Buffer;
  timeoutMs?: number;
}): Promise<ClusterStatus> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  const adminKey = deriveAdminKey(opts.clusterKey);

  const nonceReply = await postJson(opts.address, opts.port, '/v1/nonce', {}, deadline);
  if (nonceReply.status !== 200) throw refusal('nonce request', nonceReply);
  const nonce = parseObject(nonceReply.body, 'nonce reply').nonce;
  if (typeof nonce !== 'string' || !HEX64.test(nonce)) throw new Error('the join service sent a malformed nonce');

  const reply = await postJson(opts.address, opts.port, '/v1/status', { nonce, mac: statusMac(adminKey, nonce) }, deadline);
  if (reply.status === 403) {
    const err = refusal('status request', reply);
    err.message += ' (is this the cluster.secrets.yaml the cluster was built with?)';
    throw err;
  }
  if (reply.status !== 200) throw refusal('status request', reply);
  if (!macEquals(statusReplyMac(adminKey, nonce, reply.body), reply.headers[STATUS_MAC_HEADER])) {
    throw new Error('the status reply MAC does not verify (not from this cluster\'s master, or altered)');
  }

  const doc = parseObject(reply.body, 'status reply');
  if (typeof doc.cluster !== 'string' || !Array.isArray(doc.nodes)) throw new Error('the status reply is malformed');
  const nodes: NodeStatus[] = doc.nodes.map((n: unknown) => {
    const o = n as Record<string, unknown> | null;
    if (
      typeof o !== 'object' || o === null ||
      typeof o.name !== 'string' || typeof o.role !== 'string' || typeof o.phase !== 'string' ||
      !isNullableString(o.since ?? null) || !isNullableString(o.error ?? null)
    ) {
      throw new Error('the status reply has a malformed node entry');
    }
    return {
      name: o.name,
      role: o.role,
      phase: o.phase,
      since: (o.since ?? null) as string | null,
      error: (o.error ?? null) as string | null,
    };
  });
  return { cluster: doc.cluster, nodes };
}

/** Control characters (a reported detail could hold terminal escapes) shown as "?". */
function printable(value: string | null): string {
  return value === null || value === '' ? '-' : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * An aligned table with columns NODE ROLE PHASE SINCE ERROR: a header line, then one line per
 * node, each ending in "\n", without trailing spaces. Missing values show as "-".
 */
export function formatStatusTable(nodes: NodeStatus[]): string {
  const rows: string[][] = [
    ['NODE', 'ROLE', 'PHASE', 'SINCE', 'ERROR'],
    ...nodes.map((n) => [n.name, n.role, n.phase, n.since, n.error].map(printable)),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
