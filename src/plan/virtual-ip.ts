// The control planes' shared address (docs/ha.md): keepalived's VRRP settings, decided once here.
import { createHash } from 'node:crypto';
import { parseIPv4 } from './ipv4.js';

export interface VirtualIPMember {
  name: string;
  address: string;
  /** VRRP priority: the higher, the likelier to hold the address; from cluster.yaml's order. */
  priority: number;
}

export interface VirtualIP {
  address: string;
  /** The LAN's prefix length: the address is added to the interface as address/prefix. */
  prefix: number;
  interface: string;
  virtualRouterId: number;
  /**
   * VRRP's "password": 8 characters sent in clear text in every advert. It only keeps two
   * clusters' adverts apart; it is derived from the cluster name and is not a secret.
   */
  authPass: string;
  /**
   * What a failing API server check takes off a member's priority: more than the spread of the
   * priorities, so any member whose API server answers outranks one whose does not, while a
   * member whose check fails keeps its address when nobody better is up (kubeadm's
   * ha-considerations: a check that drops the address would make the first kubeadm init fail).
   */
  checkWeight: number;
  members: VirtualIPMember[];
}

/** Priorities step down by this much per control plane in cluster.yaml order. */
const PRIORITY_STEP = 10;
/** The last member's priority (VRRP: 1-254 for a backup). */
const PRIORITY_BASE = 100;

export function planVirtualIP(
  clusterName: string,
  endpoint: { address: string; virtualRouterId?: number },
  networkInterface: string,
  prefix: number,
  controlPlanes: ReadonlyArray<{ name: string; address: string }>,
): VirtualIP {
  const count = controlPlanes.length;
  return {
    address: endpoint.address,
    prefix,
    interface: networkInterface,
    // The validator refuses a last octet of 0 without an explicit id.
    virtualRouterId: endpoint.virtualRouterId ?? (parseIPv4(endpoint.address)! & 0xff),
    authPass: createHash('sha256').update(`pi-seed vrrp ${clusterName}`).digest('hex').slice(0, 8),
    checkWeight: PRIORITY_STEP * count,
    members: controlPlanes.map((cp, i) => ({ name: cp.name, address: cp.address, priority: PRIORITY_BASE + PRIORITY_STEP * (count - 1 - i) })),
  };
}
