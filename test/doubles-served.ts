// What the stand-in download server (test/doubles/curl) serves for the add-on manifests, in the
// simulation and in the VM images. The real manifests cannot be fetched here, so the tests pin
// these bytes' digests (PI_SEED_ADDON_CHECKSUMS) in place of the real ones; one simulation keeps
// the real pins to show that bytes other than the pinned ones are never applied.
import { createHash } from 'node:crypto';

/** A CustomResourceDefinition of MetalLB's, cut to what the stand-in API server needs to serve it. */
const metallbCrd = (kind: string, plural: string): string => `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.metallb.io
spec:
  group: metallb.io
  names:
    kind: ${kind}
    plural: ${plural}
  scope: Namespaced
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
`;

/**
 * Cut-down manifests with the objects the bootstrap relies on: Flannel's namespace and its
 * net-conf.json (whose "Network" the bootstrap rewrites for another pod CIDR); MetalLB's
 * namespace, the CRDs of the pool and the advertisement, and the controller it waits for.
 */
export const SERVED_MANIFESTS: Readonly<Record<string, string>> = {
  'kube-flannel.yml': `apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  net-conf.json: |
    {
      "Network": "10.244.0.0/16",
      "Backend": {"Type": "vxlan"}
    }
`,
  'metallb-native.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: metallb-system
${metallbCrd('IPAddressPool', 'ipaddresspools')}${metallbCrd('L2Advertisement', 'l2advertisements')}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller
  namespace: metallb-system
spec:
  selector:
    matchLabels:
      app: metallb
  template:
    metadata:
      labels:
        app: metallb
    spec:
      containers:
        - name: controller
          image: quay.io/metallb/controller:v0.16.1
`,
};

/** The stand-ins' digests in sha256sum's format (the format of /etc/pi-seed/addons.sha256). */
export function servedChecksums(): string {
  return Object.entries(SERVED_MANIFESTS)
    .map(([name, body]) => `${createHash('sha256').update(body).digest('hex')}  ${name}\n`)
    .join('');
}
