// What pi-seed v1 supports, in one place: versions, releases and boards, with where each fact
// comes from (see docs/versions.md for the sources and the date they were checked).
import { type Board, type Memory, type UbuntuRelease } from './types.js';

/** Oldest minor: the first with kubeadm.k8s.io/v1beta4, the only config API pi-seed writes. */
export const KUBERNETES_MIN = '1.31';
/** Newest minor confirmed released (1.37.0 on 2026-08-26, 1.37.1 on 2026-09-15). */
export const KUBERNETES_MAX = '1.37';
export const KUBERNETES_DEFAULT = KUBERNETES_MAX;
/** From this minor the kubelet refuses cgroup v1 by default (KEP-5573). */
export const KUBERNETES_FAILS_CGROUP_V1 = '1.35';

/** Pinned add-on releases; manifests are fetched by the control plane at first boot. */
export const FLANNEL_VERSION = 'v0.28.2';
export const METALLB_VERSION = 'v0.15.3';

/** The seed's demo image: nginx serving a page with the node's hostname. */
export const DEMO_IMAGE = 'yasthon/nginx-display-hostname';

export interface ReleaseFacts {
  codename: string;
  /** The image's own cmdline.txt, one line, as shipped (sources in docs/cmdline.md). */
  defaultCmdline: string;
  /** Boots the unified cgroup v2 hierarchy. */
  cgroupV2: boolean;
  /** VXLAN (Flannel's backend) lives in linux-modules-extra-raspi on this release. */
  needsModulesExtra: boolean;
  /** Pi 5 support arrived in 23.10. */
  bootsPi5: boolean;
  pastStandardSupport: boolean;
}

export const UBUNTU: Record<UbuntuRelease, ReleaseFacts> = {
  '20.04': {
    codename: 'focal',
    defaultCmdline: 'net.ifnames=0 dwc_otg.lpm_enable=0 console=serial0,115200 console=tty1 root=LABEL=writable rootfstype=ext4 elevator=deadline rootwait fixrtc',
    cgroupV2: false,
    needsModulesExtra: false,
    bootsPi5: false,
    pastStandardSupport: true,
  },
  '22.04': {
    codename: 'jammy',
    defaultCmdline: 'console=serial0,115200 dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc quiet splash',
    cgroupV2: true,
    needsModulesExtra: true,
    bootsPi5: false,
    pastStandardSupport: false,
  },
  '24.04': {
    codename: 'noble',
    defaultCmdline: 'console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc',
    cgroupV2: true,
    needsModulesExtra: false,
    bootsPi5: true,
    pastStandardSupport: false,
  },
  '26.04': {
    codename: 'resolute',
    // Not confirmed from a 26.04 image: 24.04's line, which the same boot stack accepts.
    defaultCmdline: 'console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc',
    cgroupV2: true,
    needsModulesExtra: false,
    bootsPi5: true,
    pastStandardSupport: false,
  },
};

/** Memory sizes each board was sold with. */
export const BOARD_MEMORY: Record<Board, readonly Memory[]> = {
  pi3b: ['1GB'],
  pi4: ['1GB', '2GB', '4GB', '8GB'],
  pi5: ['2GB', '4GB', '8GB', '16GB'],
};

export const memoryGB = (memory: Memory): number => Number(memory.replace('GB', ''));

/** Compares "1.35" with "1.37" numerically. */
export function compareMinor(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
