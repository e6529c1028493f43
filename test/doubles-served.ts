// What the stand-in download server (test/doubles/curl) serves for the add-on manifests, in the
// simulation and in the VM images. The real manifests cannot be fetched here, so the tests pin
// these bytes' digests (PI_SEED_ADDON_CHECKSUMS) in place of the real ones; one simulation keeps
// the real pins to show that bytes other than the pinned ones are never applied.
import { createHash } from 'node:crypto';

export const SERVED_MANIFESTS: Readonly<Record<string, string>> = {
  'kube-flannel.yml': 'kind: ConfigMap\ndata:\n  net-conf.json: |\n    {\n      "Network": "10.244.0.0/16",\n      "Backend": {"Type": "vxlan"}\n    }\n',
  'metallb-native.yaml': 'kind: Namespace\nmetadata:\n  name: metallb-system\n',
};

/** The stand-ins' digests in sha256sum's format (the format of /etc/pi-seed/addons.sha256). */
export function servedChecksums(): string {
  return Object.entries(SERVED_MANIFESTS)
    .map(([name, body]) => `${createHash('sha256').update(body).digest('hex')}  ${name}\n`)
    .join('');
}
