// The stand-in's stacked etcd: every control plane's API server process also plays its node's
// etcd member, so all their API servers serve one cluster state. A member listens where kubeadm's
// etcd static pod does (https://ADDR:2379 for clients, https://ADDR:2380 for peers) with the
// certificates kubeadm makes from the etcd CA, and trusts only that CA (etcd's
// --client-cert-auth/--peer-client-cert-auth as kubeadm sets them).
//
// This is a stand-in, not a consensus implementation. What it keeps from etcd: a write (and a
// member add) counts only once a majority of the members has it, else it fails with etcd's
// "etcdserver: request timed out" and nothing changes; a member that was down or behind catches
// up from a peer; membership is part of the replicated state and persists. What it simplifies:
// - a write ships the whole state (small here), not a log entry; a member accepts it when it is
//   at the writer's base revision or behind it (it just adopts the newer state);
// - a member that is ahead (it committed, or is committing, something else at that revision)
//   refuses; a writer without a majority drops its tentative state for the newest state a peer
//   has, and the API server runs the request again once (so two API servers writing at once
//   cannot both win a revision: each member votes for one state per revision);
// - no leader, no terms: reads are served from the local copy, which a periodic catch-up keeps
//   fresh (reads may be stale for a moment, as etcd's serializable reads are).
// Learners, as kubeadm has used them for every joining member since its EtcdLearnerMode (beta and
// on in v1.29, GA in v1.32): a member added as a learner gets every write but counts for no
// majority, so adding one never costs the cluster its quorum; etcd takes one learner at a time
// ("too many learner members in cluster"), and promotes one only once it has caught up ("can only
// promote a learner member which is in sync with leader").
// Removal (etcd's MemberRemove, which kubeadm reset calls on a control plane while its own member
// still runs) is a membership change like an add: decided by the members before it, the leaving
// one included.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pki } from './paths.js';
import { STORE_DIR, type Member, type Snapshot, type Store } from './store.js';
import { atomicWrite, StatusError } from './util.js';

/** Who this node's member is, and the members it knew when kubeadm set it up (init or join). */
export interface MemberFile {
  self: Member;
  members: Member[];
}

export const memberFile = (root: string) => join(root, STORE_DIR, 'member.json');

export function readMemberFile(root: string): MemberFile | undefined {
  const file = memberFile(root);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as MemberFile) : undefined;
}

export function writeMemberFile(root: string, content: MemberFile): void {
  atomicWrite(memberFile(root), `${JSON.stringify(content, null, 2)}\n`, 0o600);
}

/** kubeadm's URLs for a member on `address`. */
export const memberOf = (name: string, address: string): Member => ({ name, peerURL: `https://${address}:2380`, clientURL: `https://${address}:2379` });

/** etcd's error when a proposal cannot reach a majority (kube-apiserver passes it on). */
export const quorumLost = () => new StatusError(500, 'InternalError', 'etcdserver: request timed out');
/** etcd's answer to a write on a learner. */
export const learnerRefused = () => new StatusError(500, 'InternalError', 'etcdserver: rpc not supported for learner');

export interface Tls {
  ca: string;
  cert: string;
  key: string;
}

/** The etcd CA and a certificate of it (etcd/peer for members, apiserver-etcd-client for kubeadm). */
export function etcdTls(root: string, leaf: 'etcd/peer' | 'etcd/server' | 'apiserver-etcd-client'): Tls {
  return { ca: readFileSync(pki(root, 'etcd', 'ca.crt'), 'utf8'), cert: readFileSync(pki(root, `${leaf}.crt`), 'utf8'), key: readFileSync(pki(root, `${leaf}.key`), 'utf8') };
}

/** One bounded HTTPS call to a member, mutual TLS with the etcd CA. */
export function call(tls: Tls, url: string, method: string, body?: unknown, timeoutMs = 1500): Promise<{ status: number; json: any }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(url), { method, ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`etcd member ${url} timed out`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/**
 * How long a member waits for a peer: tuned for the host simulation, multiplied by
 * PI_SEED_ETCD_TIMEOUT_SCALE where the members are much slower (the VM image: Node under TCG on
 * CPU-starved VMs answers a peer in seconds, not milliseconds; real etcd is not what is slow there).
 */
const SCALE = Math.max(1, Number(process.env.PI_SEED_ETCD_TIMEOUT_SCALE ?? 1) || 1);
const PEER_TIMEOUT_MS = { replicate: 1500 * SCALE, revision: 800 * SCALE, snapshot: 1500 * SCALE };

/**
 * Waits for the peers' answers only until `needed` of them count (`counts`), as a raft leader
 * commits once a majority has acknowledged, without waiting for a slow or dead member; otherwise
 * until all have answered. The answers not in yet are undefined.
 */
export function untilMajority<T>(calls: Array<Promise<T>>, counts: (answer: T, index: number) => boolean, needed: number): Promise<{ reached: boolean; answers: Array<T | undefined> }> {
  const answers: Array<T | undefined> = calls.map(() => undefined);
  if (needed <= 0) return Promise.resolve({ reached: true, answers });
  return new Promise((resolve) => {
    let yes = 0;
    let settled = 0;
    calls.forEach((p, i) =>
      void p.then((answer) => {
        answers[i] = answer;
        settled++;
        if (counts(answer, i)) yes++;
        if (yes === needed) resolve({ reached: true, answers });
        else if (settled === calls.length && yes < needed) resolve({ reached: false, answers });
      }),
    );
  });
}

/** The members that vote: all but learners. */
export const voters = (members: Member[]) => members.filter((m) => !m.isLearner);
export const quorum = (members: Member[]) => Math.floor(voters(members).length / 2) + 1;

export class EtcdMember {
  private servers: Server[] = [];
  private healthy = { at: 0, ok: true };
  private timer: NodeJS.Timeout | undefined;
  private catchingUp = false;

  constructor(
    private readonly store: Store,
    private readonly self: Member,
    private readonly tls: Tls,
    private readonly log: (line: string) => void,
  ) {}

  private peers(members = this.store.members): Member[] {
    return members.filter((m) => m.name !== this.self.name);
  }

  /** Whether this member is a learner: the replicated membership says (its file says learner until promoted). */
  get isLearner(): boolean {
    return this.store.members.find((m) => m.name === this.self.name)?.isLearner ?? this.self.isLearner === true;
  }

  /** Listens on the member's client and peer URLs; catches up; keeps catching up every 2 s. */
  async start(serving: Tls): Promise<void> {
    for (const url of [this.self.clientURL, this.self.peerURL]) {
      const { hostname, port } = new URL(url);
      const server = createServer({ ca: this.tls.ca, cert: serving.cert, key: serving.key, requestCert: true, rejectUnauthorized: true }, (req, res) => void this.handle(req, res));
      server.requestTimeout = 10_000;
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(Number(port), hostname.replace(/^\[|\]$/g, ''), () => resolve());
        });
      } catch (error) {
        // A single member needs no peers and no client port of its own here (the API server
        // holds the state); the host-namespace tests share 127.0.0.1 and may find the port taken.
        if (this.store.members.length > 1) throw error;
        this.log(`etcd ${this.self.name}: not listening on ${url}: ${(error as Error).message} (single member)`);
        continue;
      }
      this.servers.push(server);
    }
    await this.catchUp();
    this.timer = setInterval(() => void this.catchUp(), 2000);
    this.timer.unref();
  }

  /** Adopts the newest state a reachable peer has, when it is newer than ours. */
  async catchUp(): Promise<void> {
    if (this.store.pendingBase !== undefined) return; // a write of ours is in flight
    if (this.catchingUp) return; // the last one still waits for a slow peer
    this.catchingUp = true;
    try {
      await this.adoptNewest();
    } finally {
      this.catchingUp = false;
    }
  }

  private async adoptNewest(): Promise<void> {
    const snaps = await Promise.all(this.peers().map((m) => call(this.tls, `${m.peerURL}/snapshot`, 'GET', undefined, PEER_TIMEOUT_MS.snapshot).then((r) => (r.status === 200 ? (r.json as Snapshot) : undefined), () => undefined)));
    const newest = snaps.filter((s): s is Snapshot => !!s).sort((a, b) => b.revision - a.revision)[0];
    if (newest && newest.revision > this.store.currentRevision && this.store.pendingBase === undefined) {
      this.log(`etcd ${this.self.name}: caught up from revision ${this.store.currentRevision} to ${newest.revision}`);
      this.store.adopt(newest);
    }
  }

  /**
   * Makes the request's tentative writes count: replicated to a majority of `members` (the
   * membership before the request: a member add is decided by the old members, as in raft).
   * Returns 'committed', or 'conflict' (another state won; ours was dropped for it), or throws
   * etcd's timeout (no majority reachable; ours was dropped).
   */
  async commit(base: number, before: Snapshot): Promise<'committed' | 'conflict'> {
    // A learner serves no writes, membership changes included, until kubeadm promotes it.
    if (this.isLearner) {
      this.store.adopt(before);
      throw learnerRefused();
    }
    const members = before.members.length ? before.members : this.store.members;
    const state = this.store.snapshot();
    const peers = this.peers(members);
    const calls = peers.map((m) => call(this.tls, `${m.peerURL}/replicate`, 'POST', { from: this.self.name, base, state }, PEER_TIMEOUT_MS.replicate).then((r) => r.status, () => 0));
    // Learners get the write; only voters' acknowledgements (this member's own included) count.
    const { reached, answers } = await untilMajority(calls, (status, i) => status === 200 && !peers[i]!.isLearner, quorum(members) - 1);
    if (reached) return 'committed';
    const acks = 1 + answers.filter((s, i) => s === 200 && !peers[i]!.isLearner).length;
    this.log(`etcd ${this.self.name}: revision ${state.revision} not committed (${acks} of ${members.length} members; answers ${answers.join(',')})`);
    this.store.adopt(before);
    // The state that won, whether or not the periodic catch-up is waiting for a slow peer.
    await this.adoptNewest();
    if (answers.includes(409)) return 'conflict';
    throw quorumLost();
  }

  /** /readyz/etcd: can this member reach a majority (itself included)? Cached for a second. */
  async inQuorum(): Promise<boolean> {
    if (Date.now() - this.healthy.at < 1000) return this.healthy.ok;
    // A learner answers no linearizable request: kube-apiserver's etcd check fails on it.
    if (this.isLearner) return false;
    const peers = this.peers();
    const calls = peers.map((m) => call(this.tls, `${m.peerURL}/revision`, 'GET', undefined, PEER_TIMEOUT_MS.revision).then((r) => r.status === 200, () => false));
    const { reached: ok } = await untilMajority(calls, (up, i) => up && !peers[i]!.isLearner, quorum(this.store.members) - 1);
    this.healthy = { at: Date.now(), ok };
    return ok;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      const path = new URL(req.url ?? '/', 'https://etcd').pathname;
      if (req.method === 'GET' && path === '/revision') return reply(200, { revision: this.store.currentRevision });
      if (req.method === 'GET' && path === '/snapshot') return reply(200, this.store.snapshot());
      if (req.method === 'GET' && path === '/health') return (await this.inQuorum()) ? reply(200, { health: 'true' }) : reply(503, { health: 'false', reason: 'RAFT NO LEADER' });
      if (req.method === 'GET' && path === '/members') return reply(200, { members: this.store.members });
      if (req.method === 'POST' && path === '/replicate') {
        // Synchronous check-and-adopt: nothing else runs between them (one event loop).
        const { base, state } = body as { base: number; state: Snapshot };
        if (this.store.currentRevision > base || this.store.pendingBase !== undefined) return reply(409, { revision: this.store.currentRevision });
        this.store.adopt(state);
        return reply(200, { revision: state.revision });
      }
      if (req.method === 'POST' && path === '/members') return reply(...(await this.memberAdd(body as Member)));
      if (req.method === 'POST' && path === '/members/promote') return reply(...(await this.memberPromote(String((body as { name?: string }).name ?? ''))));
      if (req.method === 'DELETE' && path.startsWith('/members/')) return reply(...(await this.memberRemove(decodeURIComponent(path.slice('/members/'.length)))));
      reply(404, { message: 'not found' });
    } catch (error) {
      reply(500, { message: (error as Error).message });
    }
  }

  /** etcd's MemberAdd (MemberAddAsLearner with isLearner): the new member is announced to the cluster before it starts. */
  private async memberAdd(member: Member): Promise<[number, unknown]> {
    if (!member?.name || !member.peerURL || !member.clientURL) return [400, { message: 'member name, peerURL and clientURL are required' }];
    if (this.store.members.some((m) => m.peerURL === member.peerURL && m.name !== member.name)) return [409, { message: 'etcdserver: Peer URLs already exists' }];
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.store.members.some((m) => m.name === member.name)) return [200, { members: this.store.members }];
      // etcd's default --max-learners is 1.
      if (member.isLearner && this.store.members.some((m) => m.isLearner)) return [400, { message: 'etcdserver: too many learner members in cluster' }];
      if (this.store.pendingBase !== undefined) return [503, { message: 'etcdserver: too many requests' }];
      const before = this.store.snapshot();
      this.store.setMembers([...this.store.members, member]);
      const result = await this.commitMembership(before);
      if (result !== 'conflict') return result;
    }
    return [503, { message: 'etcdserver: request timed out' }];
  }

  /** etcd's MemberPromote: a learner becomes a voter once it has every committed write. */
  private async memberPromote(name: string): Promise<[number, unknown]> {
    const member = this.store.members.find((m) => m.name === name);
    if (!member) return [404, { message: 'etcdserver: member not found' }];
    if (!member.isLearner) return [400, { message: 'etcdserver: can only promote a learner member' }];
    const behind = await call(this.tls, `${member.peerURL}/revision`, 'GET', undefined, PEER_TIMEOUT_MS.revision).then((r) => (r.status === 200 ? (r.json.revision as number) < this.store.currentRevision : true), () => true);
    if (behind) return [400, { message: 'etcdserver: can only promote a learner member which is in sync with leader' }];
    if (this.store.pendingBase !== undefined) return [503, { message: 'etcdserver: too many requests' }];
    const before = this.store.snapshot();
    this.store.setMembers(this.store.members.map((m) => (m.name === name ? { ...m, isLearner: false } : m)));
    const result = await this.commitMembership(before);
    return result === 'conflict' ? [503, { message: 'etcdserver: request timed out' }] : result;
  }

  /** etcd's MemberRemove: the member leaves the replicated membership (the old members decide). */
  private async memberRemove(name: string): Promise<[number, unknown]> {
    if (!this.store.members.some((m) => m.name === name)) return [404, { message: 'etcdserver: member not found' }];
    if (this.store.pendingBase !== undefined) return [503, { message: 'etcdserver: too many requests' }];
    const before = this.store.snapshot();
    this.store.setMembers(this.store.members.filter((m) => m.name !== name));
    const result = await this.commitMembership(before);
    return result === 'conflict' ? [503, { message: 'etcdserver: request timed out' }] : result;
  }

  /** Commits a membership change made on the store; 'conflict' when another write won the revision (the caller tries again). */
  private async commitMembership(before: Snapshot): Promise<[number, unknown] | 'conflict'> {
    try {
      if ((await this.commit(before.revision, before)) === 'committed') return [200, { members: this.store.members }];
      return 'conflict';
    } catch (error) {
      return [503, { message: (error as Error).message }];
    } finally {
      this.store.pendingBase = undefined;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.servers) s.close();
  }
}
