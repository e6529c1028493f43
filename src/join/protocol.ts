// The pi-seed join protocol, desktop side: key derivation, MACs, the sealed join reply and the
// join.json format. It mirrors the nodes' side in templates/join/pi_seed_join_core.py;
// docs/join-protocol.md is the specification both follow. The network client behind
// `pi-seed status` is in status-client.ts, so that `build` never loads node:http.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PROTOCOL = 'pi-seed/v1';
export const JOIN_CONFIG_API_VERSION = 'pi-seed/join/v1';

/** Phases a worker reports, in bootstrap order. */
export const WORKER_PHASES = ['preparing', 'waiting-for-clock', 'waiting-for-master', 'joining', 'joined', 'failed'] as const;
/** Phases the control plane records locally. */
export const CONTROL_PLANE_PHASES = ['preparing', 'waiting-for-clock', 'initialising', 'ready', 'failed'] as const;

/** The HTTP header carrying the status reply's MAC. */
export const STATUS_MAC_HEADER = 'x-pi-seed-mac';

// Labels of every HMAC input: each ends in "\n" and contains no other "\n", so an input of one
// kind can never be read as an input of another kind.
const LABEL_NODE_KEY = 'pi-seed/v1 node-key\n';
const LABEL_ADMIN_KEY = 'pi-seed/v1 admin-key';
const LABEL_JOIN = 'pi-seed/v1 join\n';
const LABEL_JOIN_REPLY = 'pi-seed/v1 join-reply\n';
const LABEL_SEAL_KEY = 'pi-seed/v1 join-reply-key\n';
const LABEL_PHASE = 'pi-seed/v1 phase\n';
const LABEL_STATUS = 'pi-seed/v1 status\n';
const LABEL_STATUS_REPLY = 'pi-seed/v1 status-reply\n';

/** A nonce, a MAC or a key in hex: 32 bytes. */
export const HEX64 = /^[0-9a-f]{64}$/;

/** /etc/pi-seed/join.json, written by `pi-seed build` for every node (not secret). */
export interface JoinConfig {
  apiVersion: typeof JOIN_CONFIG_API_VERSION;
  cluster: string;
  node: string;
  role: 'control-plane' | 'worker';
  master: { name: string; address: string; port: number };
  /** host:port of the API server, e.g. "192.168.1.101:6443". */
  apiServerEndpoint: string;
  /** The control plane's only: the workers it may let join. A worker's file leaves it out. */
  workers?: string[];
  keyFile: string;
  stateDir: string;
  logFile: string;
  kubeconfig: string;
  caCert: string;
  /** kubeadm --ttl duration, e.g. "30m". */
  tokenTTL: string;
  backoffCapSeconds: number;
}

/** join.json text with the keys in the documented order (byte-stable output). */
export function serializeJoinConfig(cfg: JoinConfig): string {
  const ordered: JoinConfig = {
    apiVersion: cfg.apiVersion,
    cluster: cfg.cluster,
    node: cfg.node,
    role: cfg.role,
    master: { name: cfg.master.name, address: cfg.master.address, port: cfg.master.port },
    apiServerEndpoint: cfg.apiServerEndpoint,
    ...(cfg.workers !== undefined ? { workers: [...cfg.workers] } : {}),
    keyFile: cfg.keyFile,
    stateDir: cfg.stateDir,
    logFile: cfg.logFile,
    kubeconfig: cfg.kubeconfig,
    caCert: cfg.caCert,
    tokenTTL: cfg.tokenTTL,
    backoffCapSeconds: cfg.backoffCapSeconds,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** A key file's content: 64 lowercase hex characters and a newline. */
export function formatKeyFile(key: Buffer): string {
  if (key.length !== 32) throw new Error(`a pi-seed key is 32 bytes, got ${key.length}`);
  return `${key.toString('hex')}\n`;
}

/** Parse a key file's content (surrounding whitespace allowed). */
export function parseKeyFile(text: string): Buffer {
  const hex = text.trim();
  if (!HEX64.test(hex)) throw new Error('a pi-seed key file holds one line of 64 lowercase hex characters');
  return Buffer.from(hex, 'hex');
}

function hmac(key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** A worker's key: HMAC-SHA256(cluster key, "pi-seed/v1 node-key\n" + name). */
export function deriveNodeKey(clusterKey: Buffer, nodeName: string): Buffer {
  return hmac(clusterKey, LABEL_NODE_KEY, nodeName);
}

/** The desktop's key for status requests: HMAC-SHA256(cluster key, "pi-seed/v1 admin-key"). */
export function deriveAdminKey(clusterKey: Buffer): Buffer {
  return hmac(clusterKey, LABEL_ADMIN_KEY);
}

/** MAC of a join request. */
export function joinMac(nodeKey: Buffer, nonce: string, node: string): string {
  return hmac(nodeKey, LABEL_JOIN, nonce, '\n', node).toString('hex');
}

/** MAC of a join reply, over the sealed (encrypted) script's hex text. */
export function joinReplyMac(nodeKey: Buffer, nonce: string, sealedHex: string): string {
  return hmac(nodeKey, LABEL_JOIN_REPLY, nonce, '\n', sealedHex).toString('hex');
}

/** MAC of a phase report. */
export function phaseMac(nodeKey: Buffer, nonce: string, node: string, phase: string, detail: string): string {
  return hmac(nodeKey, LABEL_PHASE, nonce, '\n', node, '\n', phase, '\n', detail).toString('hex');
}

/** MAC of a status request. */
export function statusMac(adminKey: Buffer, nonce: string): string {
  return hmac(adminKey, LABEL_STATUS, nonce).toString('hex');
}

/** MAC of a status reply, over the exact reply body bytes (sent in the X-Pi-Seed-Mac header). */
export function statusReplyMac(adminKey: Buffer, nonce: string, body: Buffer): string {
  return hmac(adminKey, LABEL_STATUS_REPLY, nonce, '\n', body).toString('hex');
}

/** Constant-time comparison of an expected MAC with a received value of any shape. */
export function macEquals(expectedHex: string, received: unknown): boolean {
  if (typeof received !== 'string' || !HEX64.test(received)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'ascii'), Buffer.from(received, 'ascii'));
}

/** XOR with HMAC-SHA256(key, 8-byte big-endian block counter): a PRF in counter mode. */
function keystreamXor(key: Buffer, data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  for (let offset = 0; offset < data.length; offset += 32) {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(offset / 32));
    const pad = hmac(key, counter);
    for (let i = 0; i < 32 && offset + i < data.length; i++) {
      out[offset + i] = data[offset + i]! ^ pad[i]!;
    }
  }
  return out;
}

/** The one-message encryption key of a join reply (nonces are random and single use). */
function sealKey(nodeKey: Buffer, nonce: string): Buffer {
  return hmac(nodeKey, LABEL_SEAL_KEY, nonce);
}

/** Encrypt a join script as the master does; returns hex. */
export function sealJoinScript(nodeKey: Buffer, nonce: string, script: string): string {
  return keystreamXor(sealKey(nodeKey, nonce), Buffer.from(script, 'utf8')).toString('hex');
}

/**
 * Verify a join reply ({sealed, mac}) and return the script. Throws if the MAC does not verify:
 * the MAC is checked before anything is decrypted.
 */
export function openJoinReply(nodeKey: Buffer, nonce: string, reply: unknown): string {
  const r = reply as { sealed?: unknown; mac?: unknown } | null;
  if (typeof r?.sealed !== 'string' || !/^([0-9a-f]{2})+$/.test(r.sealed)) {
    throw new Error('join reply is malformed');
  }
  if (!macEquals(joinReplyMac(nodeKey, nonce, r.sealed), r.mac)) {
    throw new Error('join reply MAC does not verify');
  }
  return keystreamXor(sealKey(nodeKey, nonce), Buffer.from(r.sealed, 'hex')).toString('utf8');
}
