// The VMs' private LAN: one network namespace created by the suite, holding a bridge and one tap
// per VM. The namespace's own stack, with an address on the bridge, is the "desktop" on the same
// LAN (pi-seed status runs there). The example's addresses exist only inside the namespace;
// nothing touches the host's interfaces or routes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './tools.js';

export class VmLan {
  readonly taps: string[] = [];
  private created = false;

  constructor(readonly ns: string, readonly desktopAddress: string) {}

  setup(): void {
    run(['ip', 'netns', 'add', this.ns]);
    this.created = true;
    run(['ip', '-n', this.ns, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', this.ns, 'link', 'add', 'br0', 'type', 'bridge']);
    // No STP and no forwarding delay: the VMs' links are up the moment qemu opens the taps.
    run(['ip', '-n', this.ns, 'link', 'set', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    run(['ip', '-n', this.ns, 'addr', 'add', this.desktopAddress, 'dev', 'br0']);
    run(['ip', '-n', this.ns, 'link', 'set', 'br0', 'up']);
  }

  /** A tap on the bridge for one VM (qemu opens it by name inside the namespace). */
  addTap(name: string): string {
    run(['ip', '-n', this.ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
    run(['ip', '-n', this.ns, 'link', 'set', name, 'master', 'br0']);
    run(['ip', '-n', this.ns, 'link', 'set', name, 'up']);
    this.taps.push(name);
    return name;
  }

  private ntp: ChildProcess | undefined;

  /**
   * An NTP server on the desktop's address, as a LAN's router would be: chronyd from Debian, its
   * own clock as the reference (`local stratum 8`), `-x` so it never touches the host's clock,
   * no command port. It runs inside the namespace, so only the VMs can reach it.
   */
  serveNtp(dir: string, log: (line: string) => void): void {
    const address = this.desktopAddress.split('/')[0]!;
    const conf = join(dir, 'chrony.conf');
    const subnet = `${address.split('.').slice(0, 3).join('.')}.0/24`;
    writeFileSync(conf, ['# pi-seed VM suite: the LAN\'s NTP server', `bindaddress ${address}`, 'port 123', 'cmdport 0', 'local stratum 8', `allow ${subnet}`, `pidfile ${join(dir, 'chronyd.pid')}`, `driftfile ${join(dir, 'chrony.drift')}`, ''].join('\n'));
    this.ntp = spawn('ip', ['netns', 'exec', this.ns, 'chronyd', '-x', '-d', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (d: Buffer) => String(d).split('\n').filter(Boolean).forEach((l) => log(`chronyd: ${l}`));
    this.ntp.stdout!.on('data', lines);
    this.ntp.stderr!.on('data', lines);
  }

  /** The argv prefix that runs a command inside the namespace. */
  exec(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns, ...argv];
  }

  /** Removes a namespace of that name if one is left (what runs in it is killed first). */
  static remove(ns: string): void {
    if (!spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout?.split('\n').some((l) => l.split(' ')[0] === ns)) return;
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    if (pids.length) spawnSync('kill', ['-9', ...pids]);
    spawnSync('ip', ['netns', 'del', ns]);
  }

  /** Kills whatever still runs in the namespace, then deletes it (taps and bridge go with it). */
  teardown(): void {
    this.ntp?.kill('SIGKILL');
    if (!this.created) return;
    const pids = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    if (pids.length) spawnSync('kill', ['-9', ...pids]);
    spawnSync('ip', ['netns', 'del', this.ns]);
    this.created = false;
  }
}
