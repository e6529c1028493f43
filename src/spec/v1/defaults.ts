// Defaults for every optional key. The schema's "default" annotations (shown by editors) must
// say the same: test/schema.test.ts compares the two.
import { type ClusterSpecV1, type NodeSpecV1, type UbuntuRelease } from './types.js';
import { KUBERNETES_DEFAULT } from './support.js';

export const DEFAULTS = {
  kubernetes: { version: KUBERNETES_DEFAULT, podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', cni: 'flannel' as const },
  network: { interface: 'eth0', ipv6: false },
  os: { ubuntu: '24.04' as const, timezone: 'Etc/UTC', locale: 'en_US.UTF-8', keyboard: { layout: 'us', model: 'pc105', variant: '' } },
  admin: { name: 'ubuntu', sshAuthorizedKeys: [] as string[], sshPasswordLogin: false },
  join: {},
  node: { storage: 'sd' as const },
  addons: { demo: false },
} as const;

/** The spec with every default filled in; only controlPlaneEndpoint, metallb and passwordHash stay optional. */
export interface ResolvedSpecV1 {
  apiVersion: 'pi-seed/v1';
  cluster: { name: string; domain: string };
  kubernetes: {
    version: string;
    podCIDR: string;
    serviceCIDR: string;
    cni: 'flannel';
    controlPlaneEndpoint?: { address: string; virtualRouterId?: number };
    metallb?: { addresses: string };
  };
  network: { interface: string; subnet: string; gateway: string; dns: string[]; ipv6: boolean; ntp: string[] };
  os: { ubuntu: UbuntuRelease; timezone: string; locale: string; keyboard: { layout: string; model: string; variant: string } };
  admin: { name: string; sshAuthorizedKeys: string[]; passwordHash?: string; sshPasswordLogin: boolean };
  /** tokenTTL absent: a worker's token lives until its node has joined. */
  join: { tokenTTL?: string };
  nodes: NodeSpecV1[];
  addons: { demo: boolean };
}

export function applyDefaults(spec: ClusterSpecV1): ResolvedSpecV1 {
  const k = spec.kubernetes ?? {};
  const os = spec.os ?? {};
  const admin = spec.admin ?? {};
  return {
    apiVersion: spec.apiVersion,
    cluster: { ...spec.cluster },
    kubernetes: {
      version: k.version ?? DEFAULTS.kubernetes.version,
      podCIDR: k.podCIDR ?? DEFAULTS.kubernetes.podCIDR,
      serviceCIDR: k.serviceCIDR ?? DEFAULTS.kubernetes.serviceCIDR,
      cni: k.cni ?? DEFAULTS.kubernetes.cni,
      ...(k.controlPlaneEndpoint ? { controlPlaneEndpoint: { ...k.controlPlaneEndpoint } } : {}),
      ...(k.metallb ? { metallb: { addresses: k.metallb.addresses } } : {}),
    },
    network: {
      interface: spec.network.interface ?? DEFAULTS.network.interface,
      subnet: spec.network.subnet,
      gateway: spec.network.gateway,
      dns: spec.network.dns ?? [spec.network.gateway],
      ipv6: spec.network.ipv6 ?? DEFAULTS.network.ipv6,
      ntp: [...(spec.network.ntp ?? [])],
    },
    os: {
      ubuntu: os.ubuntu ?? DEFAULTS.os.ubuntu,
      timezone: os.timezone ?? DEFAULTS.os.timezone,
      locale: os.locale ?? DEFAULTS.os.locale,
      keyboard: {
        layout: os.keyboard?.layout ?? DEFAULTS.os.keyboard.layout,
        model: os.keyboard?.model ?? DEFAULTS.os.keyboard.model,
        variant: os.keyboard?.variant ?? DEFAULTS.os.keyboard.variant,
      },
    },
    admin: {
      name: admin.name ?? DEFAULTS.admin.name,
      sshAuthorizedKeys: admin.sshAuthorizedKeys ?? [...DEFAULTS.admin.sshAuthorizedKeys],
      ...(admin.passwordHash !== undefined ? { passwordHash: admin.passwordHash } : {}),
      sshPasswordLogin: admin.sshPasswordLogin ?? DEFAULTS.admin.sshPasswordLogin,
    },
    join: spec.join?.tokenTTL !== undefined ? { tokenTTL: spec.join.tokenTTL } : {},
    nodes: spec.nodes.map((n) => ({ ...n })),
    addons: { demo: spec.addons?.demo ?? DEFAULTS.addons.demo },
  };
}
