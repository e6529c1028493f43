// The input model for apiVersion pi-seed/v1, as written in cluster.yaml (optional keys optional).
// schemas/cluster.schema.json describes the same shape; test/schema.test.ts keeps them in step.

export type Role = 'control-plane' | 'worker';
export type Board = 'pi3b' | 'pi4' | 'pi5';
export type Memory = '1GB' | '2GB' | '4GB' | '8GB' | '16GB';
export type UbuntuRelease = '20.04' | '22.04' | '24.04' | '26.04';
export type Storage = 'sd' | 'usb-ssd' | 'nvme';

export interface ClusterSpecV1 {
  apiVersion: 'pi-seed/v1';
  cluster: { name: string; domain: string };
  kubernetes?: {
    version?: string;
    podCIDR?: string;
    serviceCIDR?: string;
    cni?: 'flannel';
    /** The virtual IP the control planes share (docs/ha.md). */
    controlPlaneEndpoint?: { address: string; virtualRouterId?: number };
    metallb?: { addresses: string };
  };
  network: {
    interface?: string;
    subnet: string;
    gateway: string;
    dns?: string[];
    ipv6?: boolean;
    ntp?: string[];
  };
  os?: {
    ubuntu?: UbuntuRelease;
    timezone?: string;
    keyboard?: { layout?: string; model?: string; variant?: string };
    locale?: string;
  };
  admin?: {
    name?: string;
    sshAuthorizedKeys?: string[];
    passwordHash?: string;
    sshPasswordLogin?: boolean;
  };
  join?: { port?: number; tokenTTL?: string };
  nodes: NodeSpecV1[];
  addons?: { demo?: boolean };
}

export interface NodeSpecV1 {
  name: string;
  role: Role;
  address: string;
  board: Board;
  memory?: Memory;
  storage?: Storage;
}
