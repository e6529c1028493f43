// One node as a qemu VM: its card as a throwaway qcow2 overlay over the baked raw image, direct
// kernel boot with what the emulated firmware read from the card, a tap on the private LAN, the
// serial console in a file per boot, and a QMP socket for the power button and the power cord.
// Every qemu runs under `timeout`, inside the suite's network namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { type Firmware } from './card.js';
import { type VmLan } from './net.js';
import { log, remainingMs, run, sleep, waitUntil } from './tools.js';

export type Accel = 'tcg' | 'kvm';

export interface VmOptions {
  name: string;
  /** The baked card (raw); never written: the VM writes to its overlay. */
  card: string;
  firmware: Firmware;
  lan: VmLan;
  tap: string;
  mac: string;
  /** Overlay (big, throwaway). */
  workDir: string;
  /** Serial logs, one per boot (kept). */
  logDir: string;
  accel: Accel;
  /** TCG CPU model. */
  cpu: string;
  memoryMiB: number;
}

/** Console lines after which waiting for anything else on that VM is pointless. */
export const FATAL_CONSOLE = [/Ordering cycle found, skipping pi-seed-bootstrap\.service/, /Kernel panic - not syncing/, /You are in emergency mode/];

/** Guest reboots the suite follows by powering the VM on again (a guard against boot loops). */
const MAX_GUEST_REBOOTS = 3;

export function accelArgs(accel: Accel, cpu: string): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', cpu];
}

export class Vm {
  readonly overlay: string;
  readonly qmpPath: string;
  private child: ChildProcess | null = null;
  private exitPromise: Promise<number | null> = Promise.resolve(null);
  private guestReboots = 0;
  /** Set once the suite presses the power button or cuts the power: no more automatic power-on. */
  private stopping = false;
  /** One serial log per boot, in order. */
  readonly serialPaths: string[] = [];
  serialPath = '';
  stderr = '';
  exitCode: number | null | undefined;

  constructor(readonly options: VmOptions) {
    this.overlay = join(options.workDir, `${options.name}.qcow2`);
    this.qmpPath = join(options.workDir, `${options.name}.qmp`);
    run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', options.card, '-F', 'raw', this.overlay]);
  }

  get name(): string {
    return this.options.name;
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === undefined;
  }

  get boots(): number {
    return this.serialPaths.length;
  }

  /**
   * Powers the VM on; each boot gets its own serial log (<name>-boot<N>.serial.log). A reboot the
   * guest asks for ends qemu (-no-reboot) and is followed here by a new power-on, so that every
   * boot has its own log.
   */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.stopping = false;
    this.serialPath = join(this.options.logDir, `${this.name}-boot${this.boots + 1}.serial.log`);
    this.serialPaths.push(this.serialPath);
    this.stderr = '';
    this.exitCode = undefined;
    const { firmware, accel, cpu, memoryMiB, tap, mac } = this.options;
    const args = [
      '-name', this.name,
      '-nodefaults', '-no-user-config', '-display', 'none',
      ...accelArgs(accel, cpu), '-smp', '1', '-m', String(memoryMiB),
      '-kernel', firmware.kernel, '-initrd', firmware.initrd, '-append', firmware.append,
      '-drive', `file=${this.overlay},format=qcow2,if=virtio,cache=writeback`,
      '-netdev', `tap,id=lan,ifname=${tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=lan,mac=${mac},romfile=`,
      '-device', 'virtio-rng-pci',
      '-serial', `file:${this.serialPath}`,
      '-qmp', `unix:${this.qmpPath},server=on,wait=off`,
      // A guest-initiated reboot or a panic ends the process; the suite powers it on again.
      '-no-reboot',
    ];
    // Never longer than the suite has left: a stuck VM cannot outlive the run.
    const seconds = Math.max(30, Math.floor(remainingMs() / 1000));
    const argv = this.options.lan.exec(['timeout', '-k', '10', String(seconds), 'qemu-system-x86_64', ...args]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d));
    const boot = this.boots;
    this.exitPromise = new Promise((resolve) =>
      child.on('close', (code) => {
        this.exitCode = code;
        resolve(code);
        // The kernel's last words on a reboot: "reboot: Restarting system", "reboot: machine restart".
        if (!this.stopping && /reboot: Restarting system/.test(this.serial().slice(-400)) && this.guestReboots < MAX_GUEST_REBOOTS && remainingMs() > 60_000) {
          this.guestReboots += 1;
          log(`${this.name}: the guest rebooted (boot ${boot}); powering it on again`);
          this.start();
        }
      }),
    );
    log(`${this.name}: powered on (boot ${this.boots}, ${accel === 'kvm' ? 'kvm' : `tcg, -cpu ${cpu}`})`);
  }

  /** The console of one boot (default: the current one), without ANSI colours and CRs. */
  serial(boot = this.boots): string {
    const path = this.serialPaths[boot - 1];
    if (!path || !existsSync(path)) return '';
    return readFileSync(path, 'utf8').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
  }

  /** The consoles of boots `from`..`to` (1-based, inclusive), one after the other. */
  serialOf(from: number, to = this.boots): string {
    const parts: string[] = [];
    for (let boot = from; boot <= to; boot++) parts.push(this.serial(boot));
    return parts.join('\n');
  }

  private tail(): string {
    return this.serial().split('\n').slice(-40).join('\n');
  }

  /**
   * Waits for the current boot's console to match (a guest reboot moves on to the next boot's
   * console); fails at once if qemu ended for good or the console shows a FATAL_CONSOLE line.
   */
  async waitSerial(what: string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(
      `${this.name}: ${what}`,
      () => {
        const text = this.serial();
        const match = text.match(pattern);
        if (match) return match;
        const fatal = FATAL_CONSOLE.map((f) => text.match(f)).find(Boolean);
        if (fatal) throw new Error(`${this.name} (boot ${this.boots}): "${fatal[0]}" on the console before ${what}\n--- console tail ---\n${this.tail()}`);
        if (this.exitCode !== undefined) throw new Error(`${this.name} stopped (qemu exit ${this.exitCode}) before ${what}\n${this.stderr.trim()}\n--- console tail ---\n${this.tail()}`);
        return undefined;
      },
      timeoutMs,
      1000,
    );
  }

  /** Sends one QMP command (after the capabilities handshake). */
  async qmp(command: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.qmpPath);
      let buffer = '';
      let step = 0;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${this.name}: QMP ${command} timed out`));
      }, 10_000);
      socket.on('data', (d) => {
        buffer += d;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const message = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
          if (message.event) continue;
          if (message.error) {
            clearTimeout(timer);
            socket.destroy();
            reject(new Error(`${this.name}: QMP ${command}: ${message.error.desc}`));
            return;
          }
          if (step === 0 && message.QMP) {
            socket.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
            step = 1;
          } else if (step === 1 && 'return' in message) {
            socket.write(JSON.stringify({ execute: command }) + '\n');
            step = 2;
          } else if (step === 2 && 'return' in message) {
            clearTimeout(timer);
            socket.end();
            resolve(message.return);
          }
        }
      });
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Waits for qemu to end (bounded); kills it when the time is up. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    const timer = sleep(Math.min(timeoutMs, Math.max(1000, remainingMs() - 20_000))).then(() => 'timeout' as const);
    const result = await Promise.race([this.exitPromise, timer]);
    if (result === 'timeout') {
      this.kill();
      throw new Error(`${this.name} did not stop within ${Math.round(timeoutMs / 1000)} s`);
    }
    return result;
  }

  /**
   * The power button: ACPI, so systemd shuts down cleanly; resolves once qemu has ended. Pressed
   * again every 20 s, as a person would: a press early in boot, before logind listens, is lost.
   */
  async shutdown(timeoutMs = 180_000): Promise<void> {
    log(`${this.name}: power button (ACPI shutdown)`);
    this.stopping = true;
    const limit = Date.now() + timeoutMs;
    while (this.exitCode === undefined && Date.now() < limit) {
      await this.qmp('system_powerdown').catch(() => undefined);
      await Promise.race([this.exitPromise, sleep(20_000)]);
    }
    await this.waitExit(5_000);
    log(`${this.name}: powered off`);
  }

  /** The power cord: with -no-reboot a hard reset ends qemu at once, with no chance to sync. */
  async pullPlug(): Promise<void> {
    log(`${this.name}: power cut (hard reset)`);
    this.stopping = true;
    await this.qmp('system_reset').catch(() => undefined);
    await this.waitExit(30_000);
  }

  /**
   * Pulled out at once, as a board that dies: QMP `quit` ends qemu without a word to the guest
   * (no ACPI, no reset, no last writes).
   */
  async powerOff(): Promise<void> {
    log(`${this.name}: hard power-off (qemu quit)`);
    this.stopping = true;
    await this.qmp('quit').catch(() => undefined);
    await this.waitExit(30_000);
  }

  /** SIGTERM to `timeout`, which passes it on to qemu (a SIGKILL would orphan qemu). */
  kill(): void {
    this.stopping = true;
    if (this.child && this.exitCode === undefined) this.child.kill('SIGTERM');
  }

  /** The whole disk as a raw file, for debugfs and mtools once the VM is off. */
  exportDisk(dest: string): string {
    if (this.running) throw new Error(`${this.name} is still running`);
    run(['qemu-img', 'convert', '-O', 'raw', this.overlay, dest], { timeoutMs: 300_000 });
    return dest;
  }
}
