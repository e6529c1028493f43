// A simulated cluster for the join tests: one network namespace per node on a private bridge
// (the example's own addresses exist only inside them), a scratch root folder per node holding
// exactly the files its user-data writes, and the real bootstrap script run against that root
// (PI_SEED_ROOT) with test doubles on PATH for apt, kubeadm, kubectl, systemctl and the like.
// The kubeadm stand-in starts a stand-in API server in the control plane's namespace (as the
// kubelet would start the static pod); workers reach it over the bridge with real curl.
// Nothing touches the host's interfaces or routes; every namespace and process is removed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SERVED_MANIFESTS, servedChecksums } from '../doubles-served.js';
import { REPO, tempDir, userDataWriteFiles } from '../helpers.js';

export interface SimNode {
  name: string;
  address: string;
  prefix: number;
}

export interface Run {
  node: string;
  child: ChildProcess;
  output: string;
  exit: Promise<number | null>;
}

const DOUBLES = join(REPO, 'test', 'doubles');
/** The strict Kubernetes schemas as a command, for the kubeadm double (`kubeadm config validate`'s strictness). */
const K8S_VALIDATOR = join(REPO, 'dist', 'test', 'k8s-schemas', 'check-file.js');
/** The stand-ins' bundle (scripts/bundle-stand-ins.mjs): API server, kubeadm and kubectl. */
const STAND_INS = join(REPO, 'dist', 'stand-ins', 'stand-ins.cjs');


function ip(args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

/** Can this process create network namespaces (root with iproute2)? */
export function canUseNetns(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = `pisprobe${process.pid}`;
  const result = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (result.status !== 0) return `ip netns add failed: ${result.error?.message ?? result.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

export class SimCluster {
  readonly id = `pis${process.pid % 100000}x${Math.floor(Math.random() * 1000)}`;
  readonly work = tempDir('pi-seed-sim-');
  /** Shared state of the doubles: calls.log, faults, the API servers' pids and logs. */
  readonly doubles = join(this.work, 'doubles');
  /** Digests of SERVED_MANIFESTS, in sha256sum's format; used when `pinServedManifests` is on. */
  readonly servedChecksumsFile = join(this.doubles, 'served.sha256');
  /** Extra environment for every bootstrap (test overrides such as PI_SEED_CLOCK_WAIT_SECONDS). */
  readonly extraEnv: NodeJS.ProcessEnv = {};
  /** false: the bootstraps check the real pinned digests (the stand-in manifests then fail them). */
  pinServedManifests = true;
  /** Root-owned, under /run: where keepalived's check scripts may live (see test/doubles/systemctl). */
  readonly keepalivedRunDir = join('/run', 'pi-seed-sim', this.id);
  private readonly namespaces: string[] = [];
  private readonly runs: Run[] = [];

  constructor(
    private readonly outDir: string,
    readonly nodes: SimNode[],
  ) {}

  ns(name: string): string {
    return `${this.id}-${name}`;
  }

  root(node: string): string {
    return join(this.work, 'roots', node);
  }

  /** The bridge, a namespace per node (and a desktop), and each node's freshly flashed root. */
  setup(desktop: SimNode): void {
    mkdirSync(join(this.doubles, 'served'), { recursive: true });
    mkdirSync(join(this.doubles, 'faults'), { recursive: true });
    for (const [name, body] of Object.entries(SERVED_MANIFESTS)) writeFileSync(join(this.doubles, 'served', name), body);
    writeFileSync(this.servedChecksumsFile, servedChecksums());
    const lan = this.ns('lan');
    ip(['netns', 'add', lan]);
    this.namespaces.push(lan);
    ip(['-n', lan, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', lan, 'link', 'set', 'br0', 'up']);
    [...this.nodes, desktop].forEach((node, i) => {
      const ns = this.ns(node.name);
      ip(['netns', 'add', ns]);
      this.namespaces.push(ns);
      ip(['link', 'add', 'name', `p${i}`, 'netns', lan, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', lan, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      ip(['-n', ns, 'addr', 'add', `${node.address}/${node.prefix}`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    });
    for (const node of this.nodes) this.flash(node.name);
  }

  /**
   * Lays out a node's root as cloud-init would leave it: the card's boot partition at
   * /boot/firmware (with the node key), and every write_files entry of its user-data with its
   * permissions: the same bytes the Pi gets.
   */
  flash(node: string): void {
    const root = this.root(node);
    const boot = join(root, 'boot', 'firmware');
    mkdirSync(boot, { recursive: true });
    for (const file of ['user-data', 'network-config', 'meta-data', 'cmdline.txt', 'pi-seed-node.key']) {
      copyFileSync(join(this.outDir, node, file), join(boot, file));
    }
    for (const dir of ['etc/apt/sources.list.d', 'run', 'var/log', 'var/run', 'tmp']) mkdirSync(join(root, dir), { recursive: true });
    this.setClock(node, true);
    writeFileSync(join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n# a line of the owner\n');
    for (const file of userDataWriteFiles(join(boot, 'user-data'))) {
      const target = join(root, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
      chmodSync(target, parseInt(file.permissions, 8));
    }
  }

  /** Plays NTP: systemd-timesyncd's flag file, which the timedatectl double reads. */
  setClock(node: string, synchronised: boolean): void {
    const flag = join(this.root(node), 'run', 'systemd', 'timesync', 'synchronized');
    if (synchronised) {
      mkdirSync(dirname(flag), { recursive: true });
      writeFileSync(flag, '');
    } else rmSync(flag, { force: true });
  }

  /** Makes the next `count` kubeadm calls of a kind fail (see test/doubles/kubeadm). */
  fault(name: 'init-preflight' | 'init-wait-control-plane' | 'join-kubelet-start' | 'join-tls-bootstrap-timeout' | 'join-mark-control-plane' | 'kubelet-not-installable', count = 1): void {
    writeFileSync(join(this.doubles, 'faults', name), `${count}\n`);
  }

  private env(node: string): NodeJS.ProcessEnv {
    return {
      PI_SEED_K8S_VALIDATOR: K8S_VALIDATOR,
      PI_SEED_CLOCK_POLL_SECONDS: '1',
      PI_SEED_KUBEADM_RETRY_DELAY_SECONDS: '0',
      PI_SEED_FETCH_BACKOFF_CAP_SECONDS: '2',
      PI_SEED_STAND_INS: STAND_INS,
      // The systemctl double runs the real keepalived for `systemctl restart keepalived`.
      PI_SEED_KEEPALIVED_SIM: '1',
      PI_SEED_KEEPALIVED_RUN_DIR: this.keepalivedRunDir,
      ...(this.pinServedManifests ? { PI_SEED_ADDON_CHECKSUMS: this.servedChecksumsFile } : {}),
      ...this.extraEnv,
      PATH: `${DOUBLES}:${dirname(process.execPath)}:${process.env.PATH}`,
      PI_SEED_ROOT: this.root(node),
      PI_SEED_DOUBLES_DIR: this.doubles,
      PI_SEED_NO_CONSOLE: '1',
      LANG: 'C.UTF-8',
      HOME: join(this.root(node), 'tmp'),
    };
  }

  /** Runs a node's real bootstrap script in its namespace ("powers the Pi on"). */
  boot(node: string, timeoutMs = 120_000): Run {
    this.plugIn(node);
    const script = join(this.root(node), 'usr', 'local', 'sbin', 'pi-seed-bootstrap');
    const child = spawn('ip', ['netns', 'exec', this.ns(node), 'timeout', '-k', '5', String(Math.ceil(timeoutMs / 1000)), 'bash', script], { env: this.env(node), stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { node, child, output: '', exit: Promise.resolve(null) };
    child.stdout!.on('data', (d) => (run.output += d));
    child.stderr!.on('data', (d) => (run.output += d));
    run.exit = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    this.runs.push(run);
    return run;
  }

  /** A command in a node's (or the desktop's) namespace, with the doubles and its root. */
  exec(node: string, argv: string[], timeoutMs = 30_000): { code: number | null; stdout: string; stderr: string } {
    const result = spawnSync('ip', ['netns', 'exec', this.ns(node), ...argv], { env: { ...process.env, ...this.env(node) }, encoding: 'utf8', timeout: timeoutMs });
    return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  /**
   * Cuts a node's power: every process in its namespace is killed at once (the bootstrap, its
   * children, a stand-in API server), as a pulled plug would. Resolves once they are gone.
   */
  async powerOff(node: string): Promise<void> {
    const pids = spawnSync('ip', ['netns', 'pids', this.ns(node)], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
    if (pids.length) spawnSync('kill', ['-9', ...pids]);
    // A dead Pi answers no ARP and keeps no address (a VIP keepalived held included): its link
    // goes down and its addresses go; boot() puts its own address back.
    spawnSync('ip', ['-n', this.ns(node), 'link', 'set', 'eth0', 'down']);
    spawnSync('ip', ['-n', this.ns(node), 'addr', 'flush', 'dev', 'eth0']);
    await Promise.all(this.runs.filter((r) => r.node === node).map((r) => r.exit));
  }

  /** The node's own address on its link, up (again after a power cut). */
  private plugIn(node: string): void {
    const spec = this.nodes.find((n) => n.name === node);
    if (!spec) return;
    const shown = spawnSync('ip', ['-n', this.ns(node), '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
    if (!shown.includes(` ${spec.address}/`)) ip(['-n', this.ns(node), 'addr', 'add', `${spec.address}/${spec.prefix}`, 'dev', 'eth0']);
    ip(['-n', this.ns(node), 'link', 'set', 'eth0', 'up']);
  }

  /** The nodes that have `address` on a link now (a VIP: its keepalived holder). */
  holders(address: string): string[] {
    return this.nodes.map((n) => n.name).filter((n) => spawnSync('ip', ['-n', this.ns(n), '-4', '-o', 'addr', 'show', 'to', address], { encoding: 'utf8' }).stdout.trim() !== '');
  }

  /** keepalived's log of a node (the systemctl double runs it), '' when it never ran. */
  keepalivedLog(node: string): string {
    const file = join(this.doubles, 'keepalived', node, 'keepalived.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Kills a node's stand-in API server as a crash or power cut would (SIGKILL). */
  killApiServer(node: string): void {
    const pidfile = join(this.doubles, `apiserver-${node}.pid`);
    if (existsSync(pidfile)) spawnSync('kill', ['-9', readFileSync(pidfile, 'utf8').trim()]);
  }

  /** kubectl (the stand-in) on a control plane, with its admin.conf. */
  kubectl(node: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
    return this.exec(node, ['kubectl', '--kubeconfig', join(this.root(node), 'etc', 'kubernetes', 'admin.conf'), ...args]);
  }

  /**
   * One HTTPS request to the control plane's API server from a node's (or the desktop's)
   * namespace, with real curl, the server verified against the cluster CA. Returns the HTTP
   * status (0 when there was no answer) and the body.
   */
  apiRequest(from: string, method: string, path: string, auth: { token?: string; cert?: string; body?: string; contentType?: string; server?: string }): { status: number; body: string } {
    const ca = join(this.root(this.nodes[0]!.name), 'etc', 'pi-seed', 'cluster-ca.crt');
    const args = ['/usr/bin/curl', '-sS', '--cacert', existsSync(ca) ? ca : join(this.root(from), 'etc', 'pi-seed', 'cluster-ca.crt'), '--max-time', '10', '-X', method, '-o', '-', '-w', '\n%{http_code}'];
    if (auth.token) args.push('-H', `Authorization: Bearer ${auth.token}`);
    if (auth.cert) args.push('--cert', auth.cert, '--key', auth.cert);
    if (auth.body !== undefined) args.push('-H', `Content-Type: ${auth.contentType ?? 'application/merge-patch+json'}`, '--data-binary', auth.body);
    args.push(`https://${auth.server ?? `${this.nodes[0]!.address}:6443`}${path}`);
    const result = this.exec(from, args);
    const lines = result.stdout.split('\n');
    const status = Number(lines.pop() ?? '0');
    return { status: Number.isFinite(status) ? status : 0, body: lines.join('\n') + result.stderr };
  }

  read(node: string, path: string): string {
    return readFileSync(join(this.root(node), path), 'utf8');
  }

  /** The file's text, or '' while it does not exist. */
  readSafe(node: string, path: string): string {
    const file = join(this.root(node), path);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  teardown(): void {
    for (const run of this.runs) run.child.kill('SIGKILL');
    for (const ns of this.namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
      if (pids.length) spawnSync('kill', ['-9', ...pids]);
    }
    for (const ns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    this.namespaces.length = 0;
    rmSync(this.keepalivedRunDir, { recursive: true, force: true });
  }
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
