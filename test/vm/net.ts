// The VMs' private LAN: one network namespace created by the suite, holding a bridge and one tap
// per VM. The namespace's own stack, with an address on the bridge, is the "desktop" on the same
// LAN (pi-seed status runs there). The example's addresses exist only inside the namespace;
// nothing touches the host's interfaces or routes.
import { spawnSync } from 'node:child_process';
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

  /** The argv prefix that runs a command inside the namespace. */
  exec(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns, ...argv];
  }

  /** Kills whatever still runs in the namespace, then deletes it (taps and bridge go with it). */
  teardown(): void {
    if (!this.created) return;
    const pids = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    if (pids.length) spawnSync('kill', ['-9', ...pids]);
    spawnSync('ip', ['netns', 'del', this.ns]);
    this.created = false;
  }
}
