// user-data: the #cloud-config document. Only keys that cloud-init has understood since 20.1
// (the 20.04 image's version) are used; everything else happens in the bootstrap script that
// write_files delivers (see docs/bootstrap.md).
import { type ClusterPlan, type ClusterTrust, type PlannedNode } from '../plan/plan.js';
import { nodeWriteFiles } from './node-files.js';
import { toYaml } from './yaml.js';

export const NODE_KEY_FILE = 'pi-seed-node.key';

/**
 * bootcmd runs early in every boot, before write_files: it moves the node key off the FAT boot
 * partition (readable by all local users) to root-only /etc/pi-seed as soon as possible.
 */
export const SECURE_KEY_COMMAND = [
  'set -eu',
  `if [ -f /boot/firmware/${NODE_KEY_FILE} ]; then`,
  '  install -d -m 0700 /etc/pi-seed',
  `  install -m 0600 /boot/firmware/${NODE_KEY_FILE} /etc/pi-seed/node.key.new`,
  '  mv -f /etc/pi-seed/node.key.new /etc/pi-seed/node.key',
  `  rm -f /boot/firmware/${NODE_KEY_FILE}`,
  'fi',
].join('\n');

export function userData(plan: ClusterPlan, node: PlannedNode, trust: ClusterTrust): string {
  const admin = plan.admin;
  const user: Record<string, unknown> = {
    name: admin.name,
    gecos: 'pi-seed admin',
    groups: 'adm,sudo',
    shell: '/bin/bash',
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    lock_passwd: admin.passwordHash === null,
    ...(admin.passwordHash !== null ? { passwd: admin.passwordHash } : {}),
    // cloud-init 26.x refuses an empty list (minItems 1): a password-only admin has no key entry.
    ...(admin.sshAuthorizedKeys.length > 0 ? { ssh_authorized_keys: admin.sshAuthorizedKeys } : {}),
  };
  const config = {
    hostname: node.name,
    fqdn: node.fqdn,
    preserve_hostname: false,
    // /etc/hosts is kept by the bootstrap between markers; cloud-init would rewrite it whole.
    manage_etc_hosts: false,
    timezone: plan.os.timezone,
    locale: plan.os.locale,
    users: [user],
    ssh_pwauth: admin.sshPasswordLogin,
    bootcmd: [['sh', '-c', SECURE_KEY_COMMAND]],
    write_files: nodeWriteFiles(plan, node, trust).map((f) => ({ path: f.path, owner: 'root:root', permissions: f.permissions, content: f.content })),
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'pi-seed-bootstrap.service'],
      // --no-block: the unit orders itself after cloud-final, which is running this command.
      ['systemctl', 'start', '--no-block', 'pi-seed-bootstrap.service'],
    ],
  };
  const header = [
    '#cloud-config',
    `# pi-seed: ${node.name} (${node.role}) of cluster ${plan.cluster.name}. Generated from cluster.yaml; do not edit.`,
    '# Copy this folder to the SD card\'s boot partition (system-boot), or use `pi-seed write`.',
  ].join('\n');
  return `${header}\n${toYaml(config)}`;
}
