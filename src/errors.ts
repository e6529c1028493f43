// The catalog of every user-facing message (after butane's config/common/errors.go): one place
// to read, word and test them. Messages are lower-case sentences stating the rule; hints say
// how to fix it. Each entry returns a Problem; callers add the path and position.
import { type Diagnostic, type Problem } from './diagnostics.js';

const error = (code: string, message: string, hint?: string): Problem => ({ severity: 'error', code, message, ...(hint ? { hint } : {}) });
const warning = (code: string, message: string, hint?: string): Problem => ({ severity: 'warning', code, message, ...(hint ? { hint } : {}) });
const fileProblem = (file: string, p: Problem): Diagnostic => ({ ...p, path: [], file });

export const SUPPORTED_API_VERSION = 'pi-seed/v1';

export const msg = {
  // --- reading the file ---
  cannotRead: (file: string, code: string) =>
    fileProblem(file, error('cannot-read', `cannot read ${file} (${code})`, code === 'ENOENT' ? 'create one with `pi-seed init`, or pass --config PATH' : 'check the path and its permissions')),
  notAFile: (file: string) => fileProblem(file, error('not-a-file', `${file} is not a regular file`, 'pass the path of a cluster.yaml file with --config')),
  tooLarge: (file: string, size: number, max: number) =>
    fileProblem(file, error('file-too-large', `${file} is ${size} bytes; a cluster description is at most ${max} bytes`, 'check that --config names the right file')),
  binaryFile: (file: string) => fileProblem(file, error('binary-file', `${file} contains NUL bytes: it is not a YAML text file`, 'check that --config names the right file')),
  notUtf8: (file: string) => fileProblem(file, error('not-utf8', `${file} is not valid UTF-8 text`, 'save the file as UTF-8')),
  yamlSyntax: (detail: string) => error('yaml-syntax', `invalid YAML: ${detail}`, 'fix the YAML syntax at the position shown (indentation, quotes, colons)'),
  duplicateKey: () => error('duplicate-key', 'a key appears twice in the same mapping', 'keep one of the two entries: YAML keeps only one of them silently in many tools'),
  emptyFile: () => error('empty-file', 'the file is empty', 'start from `pi-seed init`, which writes a commented example'),
  notAMapping: (found: string) => error('not-a-mapping', `the top level must be a mapping of keys, found ${found}`, 'start the file with `apiVersion: pi-seed/v1`; see `pi-seed init` for the layout'),

  // --- schema ---
  unknownApiVersion: (found: unknown) =>
    error('unknown-api-version', `unknown apiVersion ${JSON.stringify(found)}; this pi-seed understands ${SUPPORTED_API_VERSION}`, `set \`apiVersion: ${SUPPORTED_API_VERSION}\``),
  unknownKey: (key: string, suggestion?: string) =>
    error('unknown-key', `unknown key ${JSON.stringify(key)}${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''}`, suggestion ? `rename it to ${suggestion}` : 'remove it; the config reference in README.md lists every key'),
  missingKey: (key: string) => error('missing-key', `missing required key ${JSON.stringify(key)}`, `add ${key}; the config reference in README.md describes it`),
  wrongType: (expected: string, found: string) => error('wrong-type', `expected ${expected}, found ${found}`, expected === 'string' ? 'quote the value, e.g. "1.37"' : undefined),
  notOneOf: (allowed: readonly unknown[]) => error('not-allowed', `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`),
  badPattern: (what: string, example: string) => error('bad-format', `not a valid ${what}`, `write it like ${example}`),
  tooFewItems: (min: number) => error('too-few-items', `needs at least ${min} item${min === 1 ? '' : 's'}`),
  tooManyItems: (max: number) => error('too-many-items', `takes at most ${max} items`),
  duplicateItems: (first: number, second: number) => error('duplicate-items', `items ${first} and ${second} are the same`, 'list each value once'),
  outOfRange: (min?: number, max?: number) => error('out-of-range', `must be between ${min ?? '-∞'} and ${max ?? '∞'}`),

  // --- nodes ---
  duplicateNodeName: (name: string, first: number) =>
    error('duplicate-node-name', `node name ${JSON.stringify(name)} is already used by nodes[${first}]`, 'give every node its own hostname'),
  duplicateAddress: (address: string, first: string) =>
    error('duplicate-address', `address ${address} is already used by node ${first}`, 'give every node its own address'),
  noControlPlane: () => error('no-control-plane', 'no node has role control-plane', 'set `role: control-plane` on one node (or on three or five, for a control plane that survives losing a board)'),
  evenControlPlanes: (names: string[]) =>
    error('even-control-planes', `${names.length} control-plane nodes (${names.join(', ')}): etcd, which runs on each of them, works only while a majority of its members is up, so ${names.length} survive no more lost boards than ${names.length - 1}`, `use 1, 3 or 5 control planes (3 keep working when one is lost, 5 when two are): make ${names.length === 2 ? 'one' : 'one more'} a worker, or add one`),
  tooManyControlPlanes: (count: number) =>
    error('too-many-control-planes', `${count} control-plane nodes; pi-seed builds clusters with 1, 3 or 5`, 'every etcd write waits for a majority of the members, so more members make the cluster slower without a real gain at home: make the others workers'),
  endpointRequired: (count: number) =>
    error('control-plane-endpoint-required', `${count} control planes need kubernetes.controlPlaneEndpoint.address: the virtual address the API server answers on, whichever control plane holds it`, 'add `controlPlaneEndpoint: {address: 192.168.1.100}` under kubernetes, with a free LAN address (not a node, not the gateway, outside the MetalLB pool and your router\'s DHCP range)'),
  endpointOutsideSubnet: (address: string, subnet: string) =>
    error('endpoint-outside-subnet', `the control-plane endpoint ${address} is not inside the LAN subnet ${subnet}`, 'the control planes announce it on the LAN (VRRP and ARP): pick a free address inside network.subnet'),
  endpointReserved: (address: string, what: string) =>
    error('endpoint-reserved', `the control-plane endpoint ${address} is the subnet's ${what} address`, 'pick a free host address of the LAN'),
  endpointIsGateway: (address: string) => error('endpoint-is-gateway', `the control-plane endpoint ${address} is the gateway's address`, 'the router already uses it; pick a free address'),
  endpointIsNode: (address: string, node: string) =>
    error('endpoint-is-node', `the control-plane endpoint ${address} is node ${node}'s own address`, 'the endpoint is a second, virtual address that moves between the control planes: pick a free LAN address'),
  endpointIsServer: (address: string, list: string) =>
    error('endpoint-is-server', `the control-plane endpoint ${address} is listed in ${list}: another machine of the LAN (a DNS or NTP server) has that address`, 'pick a free LAN address for the endpoint'),
  endpointInPool: (address: string) =>
    error('endpoint-in-pool', `the control-plane endpoint ${address} is inside the MetalLB pool`, 'MetalLB would hand it to a LoadBalancer service: move the endpoint or the pool'),
  virtualRouterIdNeeded: (address: string) =>
    error('virtual-router-id-needed', `the control-plane endpoint ${address} ends in 0, which cannot be the default VRRP router id (1 to 255)`, 'set kubernetes.controlPlaneEndpoint.virtualRouterId to a number from 1 to 255 that no other VRRP router on the LAN uses'),
  controlPlaneOnSd: (node: string) =>
    warning('control-plane-on-sd', `control plane ${node} keeps etcd on its SD card (storage: sd, the default): etcd waits for every write to reach the disk, and an SD card's slow writes make the members miss heartbeats and elect a new leader again and again`, 'boot the control planes from a USB SSD or an NVMe drive and set their storage to usb-ssd or nvme'),
  addressOutsideSubnet: (address: string, subnet: string) =>
    error('address-outside-subnet', `address ${address} is not inside the LAN subnet ${subnet}`, 'pick an address inside network.subnet, or fix the subnet'),
  addressReserved: (address: string, what: string) =>
    error('address-reserved', `address ${address} is the subnet's ${what} address`, 'pick a host address that your router does not hand out by DHCP'),
  addressIsGateway: (address: string) => error('address-is-gateway', `address ${address} is the gateway's address`, 'the router already uses it; pick another address'),
  gatewayOutsideSubnet: (gateway: string, subnet: string) =>
    error('gateway-outside-subnet', `gateway ${gateway} is not a host address of the LAN subnet ${subnet}`, 'the gateway is your router\'s LAN address, inside network.subnet'),
  memoryRequired: (board: string) =>
    error('memory-required', `a ${board} comes in several memory sizes; say which`, 'add e.g. `memory: 4GB` to the node'),
  memoryNotForBoard: (board: string, memory: string, allowed: readonly string[]) =>
    error('memory-not-for-board', `a ${board} does not come with ${memory}`, `use one of ${allowed.join(', ')}`),
  controlPlaneTooSmall: (memory: string) =>
    error('control-plane-too-small', `the control plane has ${memory} of memory; kubeadm requires at least 2 GB`, 'make a board with 2 GB or more the control plane'),
  smallWorker: (memory: string) =>
    warning('small-worker', `a worker with ${memory} of memory leaves little room for pods after the kubelet, containerd and Flannel`, 'expect evictions under load; prefer a 2 GB or larger board'),
  pi5NeedsNewerUbuntu: (release: string) =>
    error('pi5-needs-newer-ubuntu', `a Raspberry Pi 5 does not boot Ubuntu ${release}; it needs 23.10 or later`, 'set os.ubuntu to "24.04" or "26.04"'),

  // --- networks ---
  badCidr: (value: string) => error('bad-cidr', `${JSON.stringify(value)} is not an IPv4 network in CIDR notation with its host bits zero`, 'write it like 10.244.0.0/16'),
  networksOverlap: (a: string, b: string) =>
    error('networks-overlap', `${a} overlaps ${b}`, 'the pod network, the service network and the LAN must not share addresses; pick disjoint ranges'),
  badPool: (value: string) =>
    error('bad-address-pool', `${JSON.stringify(value)} is not an address range "A-B" (A ≤ B) or a CIDR`, 'write it like 192.168.1.210-192.168.1.215'),
  poolOutsideSubnet: (pool: string, subnet: string) =>
    error('pool-outside-subnet', `the MetalLB pool ${pool} is not inside the LAN subnet ${subnet}`, 'MetalLB in L2 mode answers ARP on the LAN: pick free addresses inside network.subnet'),
  poolOverlapsNode: (node: string, address: string) =>
    error('pool-overlaps-node', `the MetalLB pool contains node ${node}'s address ${address}`, 'shrink or move the pool so it holds no node address'),
  poolOverlapsGateway: (gateway: string) => error('pool-overlaps-gateway', `the MetalLB pool contains the gateway ${gateway}`, 'move the pool away from your router\'s address'),
  poolReserved: (address: string) => error('pool-reserved', `the MetalLB pool contains the subnet's network or broadcast address ${address}`, 'keep the pool to host addresses'),
  demoNeedsPool: () => error('demo-needs-pool', 'the demo app is a LoadBalancer service but kubernetes.metallb.addresses is not set', 'add a MetalLB pool, e.g. `metallb: {addresses: 192.168.1.210-192.168.1.215}`, or turn addons.demo off'),

  // --- versions ---
  kubernetesUnsupported: (version: string, min: string, max: string) =>
    error('kubernetes-version-unsupported', `Kubernetes ${version} is not supported; pi-seed supports ${min} to ${max}`, `set kubernetes.version to a minor between ${min} and ${max}`),
  kubernetesTooNewForRelease: (version: string, release: string, max: string, why: string) =>
    error('kubernetes-too-new-for-release', `Kubernetes ${version} cannot run on Ubuntu ${release}: ${why}`, `set os.ubuntu to "24.04" or "26.04", or kubernetes.version to "${max}" or older`),
  kubernetesEndOfLife: (version: string, date: string, oldestSupported: string) =>
    warning('kubernetes-end-of-life', `Kubernetes ${version} reached its end of life on ${date}: it gets no more patches, security fixes included`, `set kubernetes.version to "${oldestSupported}" or newer`),
  cgroupV1Release: (version: string) =>
    warning('cgroup-v1-release', `Ubuntu 20.04 boots with cgroup v1, which the kubelet ${version} refuses; pi-seed adds systemd.unified_cgroup_hierarchy=1 to cmdline.txt to boot it with cgroup v2`, 'prefer Ubuntu 24.04; 20.04 is past its standard support'),
  endOfStandardSupport: (release: string) =>
    warning('release-past-support', `Ubuntu ${release} is past its standard support; security updates need Ubuntu Pro`, 'prefer Ubuntu 24.04 for new clusters'),

  // --- admin ---
  noLogin: () =>
    warning('no-login', 'admin has no SSH key and no password: nobody can log in to the nodes', 'add your public key to admin.sshAuthorizedKeys (cat ~/.ssh/id_ed25519.pub)'),
  passwordLoginWithoutPassword: () =>
    error('password-login-without-password', 'admin.sshPasswordLogin is on but admin.passwordHash is not set', 'add passwordHash (mkpasswd -m sha-512), or turn sshPasswordLogin off and use keys'),

  // --- join ---
  joinPortUnused: () =>
    warning('join-port-unused', 'join.port is no longer used: workers fetch their join script from the API server (port 6443), and no pi-seed service listens on the LAN', 'remove join.port from cluster.yaml'),

  // --- cluster.secrets.yaml ---
  publicTestKeys: (file: string) =>
    warning('public-test-keys', `${file} holds the public test keys of pi-seed's bundled examples: fine for trying pi-seed out, never for a real cluster (anyone can read its CA key and join tokens)`, 'for your own cluster, start a folder with `pi-seed init`: its first build makes secrets of its own'),
  secretsUnreadable: (file: string, detail: string) =>
    error('secrets-unreadable', `cannot read the cluster secrets in ${file} (${detail})`, 'restore cluster.secrets.yaml from your backup; without it the existing cards cannot be re-made (a new file means re-seeding every node)'),
  secretsDamaged: (file: string, what: string) =>
    error('secrets-damaged', `${file} is damaged: ${what}`, 'restore cluster.secrets.yaml from your backup (it was truncated or edited); a new one means re-seeding every node: move this one away and run `pi-seed build`'),
  secretsForeign: (file: string, found: string, expected: string) =>
    error('secrets-foreign', `${file} has ${found}, not ${expected}: it was not written by this version of pi-seed`, 'use the pi-seed version that wrote it, or restore the file from your backup'),
  secretsOldFormat: (file: string) =>
    error('secrets-old-format', `${file} is an old secrets file (pi-seed/v1, one clusterKey) for the join service, which this pi-seed no longer has: clusters now keep their certificate authorities and join tokens there`, 'move it aside (mv cluster.secrets.yaml cluster.secrets.v1.yaml) and run `pi-seed build`, which creates new secrets; the cluster gets a new CA, so write every card again (pi-seed write or bake) and set every node up afresh'),
  secretsMissing: (file: string, why: string) =>
    error('no-secrets', `no cluster secrets at ${file}: ${why}`, 'run `pi-seed build` first (it creates them), or pass the --config of the cluster you built'),

  // --- desktop access (kubeconfig, status) ---
  badDuration: (value: string) => error('bad-duration', `${JSON.stringify(value)} is not a duration`, 'write a whole number with a unit: 30m, 12h or 7d'),
  durationOutOfRange: (value: string, max: string) => error('duration-out-of-range', `--ttl ${value} is outside 1m to ${max}`, `admin certificates cannot be revoked: keep them short, at most ${max}, and mint a new one when it runs out`),
  badServer: (value: string) => error('bad-server', `--server ${JSON.stringify(value)} is not a host or host:port`, 'write it like 192.168.1.10 or mas01.lan:6443'),
  kubeconfigUnderOut: (file: string, folder: string) =>
    error('kubeconfig-under-out', `refusing to write the admin kubeconfig ${file} inside ${folder}`, 'the output folder is copied onto cards and shared; pass --out outside it, e.g. ~/.kube/config-pi (the default is ~/.kube/pi-seed-<cluster>.yaml)'),
  apiServerRefused: (url: string) =>
    error('api-server-refused', `nothing answers at ${url} (connection refused)`, 'the API server starts once the control plane has run kubeadm init (watch its console or /var/log/pi-seed.log); check the address, or pass --server'),
  apiServerTimeout: (url: string, seconds: number) =>
    error('api-server-timeout', `no answer from ${url} within ${seconds} s`, 'check that this machine reaches the control plane (same LAN, no firewall on port 6443), or pass --server'),
  apiServerUnreachable: (url: string, detail: string) =>
    error('api-server-unreachable', `cannot reach ${url}: ${detail}`, 'check the control plane\'s address (network.* in cluster.yaml) or pass --server'),
  apiServerNotThisCluster: (url: string, detail: string) =>
    error('api-server-not-this-cluster', `the server at ${url} failed TLS verification against the cluster CA in cluster.secrets.yaml (${detail}): it is not this cluster's API server`, 'check the address (another cluster, or a machine that took the control plane\'s address?), or that cluster.secrets.yaml is the one the cards were made with'),
  apiServerDenied: (url: string, status: number) =>
    error('api-server-denied', `${url} refused pi-seed's admin certificate (HTTP ${status})`, 'the API server does not trust this cluster CA for clients: was the control plane seeded with this cluster.secrets.yaml?'),
  apiServerFailed: (url: string, detail: string) =>
    error('api-server-failed', `the API server at ${url} answered with an error: ${detail}`, 'try again; if it persists, look at the control plane\'s kube-apiserver log (crictl logs)'),

  // --- day 2: plan and apply (docs/day-2.md) ---
  dayTwoNoInitNode: (node: string) =>
    error('day2-no-init-node', `the cluster has no Node ${node}, the control plane that runs kubeadm init`, 'boot it first (pi-seed status shows how far it got), or check that --server and cluster.secrets.yaml are this cluster\'s'),
  dayTwoMixedVersions: (versions: readonly string[]) =>
    error('day2-mixed-versions', `the control planes run different Kubernetes minors (${versions.join(', ')})`, 'finish the upgrade that was started (kubeadm upgrade node on the ones behind) before pi-seed changes anything'),
  dayTwoVersionChange: (running: string, wanted: string) =>
    error('day2-version-change', `the cluster runs Kubernetes ${running} and cluster.yaml says ${wanted}: pi-seed does not upgrade or downgrade Kubernetes yet`, `set kubernetes.version back to "${running}" to add or remove nodes now; upgrades come with a later pi-seed (kubeadm's documented upgrade, one minor at a time)`),
  dayTwoRoleChange: (node: string, running: string, wanted: string) =>
    error('day2-role-change', `${node} is a ${running} in the cluster but a ${wanted} in cluster.yaml`, `a node cannot change its role: give it back its role, or remove it and add it under a new name`),
  dayTwoAddControlPlane: (node: string) =>
    error('day2-add-control-plane', `${node} is a new control plane: pi-seed cannot add a control plane to a running cluster yet`, 'the running control planes\' keepalived and etcd would need to learn of it; list it as a worker, or leave it out for now'),
  dayTwoRemoveControlPlane: (node: string) =>
    error('day2-remove-control-plane', `the control plane ${node} is not in cluster.yaml: pi-seed cannot remove a control plane yet`, `put ${node} back into cluster.yaml; removing a control plane needs its etcd member removed first (kubeadm reset on it does that)`),
  dayTwoNoToken: (node: string) =>
    error('day2-no-token', `cluster.secrets.yaml has no bootstrap token for ${node}, a node of cluster.yaml the cluster does not know yet`, `run \`pi-seed build --node ${node}\` first: it creates the token and ${node}'s card`),

  // --- command line ---
  unknownNode: (name: string, known: string[], suggestion?: string) =>
    error('unknown-node', `no node named ${JSON.stringify(name)} in the cluster${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''}`, `known nodes: ${known.join(', ')}`),

  // --- cards and images (write, bake, build --tar; see docs/card-and-image.md) ---
  notAFolder: (dir: string) => error('not-a-folder', `${dir} is not a folder`, 'pass the folder where the card\'s system-boot partition is mounted, e.g. /media/$USER/system-boot'),
  notABootPartition: (dir: string, missing: readonly string[]) =>
    error('not-a-boot-partition', `${dir} does not look like an Ubuntu Raspberry Pi boot partition (no ${missing.join(' or ')})`, 'pass the folder where the card\'s system-boot partition is mounted (e.g. /media/$USER/system-boot, /Volumes/system-boot, E:\\); add --force only if you are sure'),
  missingTool: (tool: string, debianPackage: string, why: string) =>
    error('missing-tool', `${tool} is not installed; pi-seed needs it to ${why}`, `install it: apt-get install ${debianPackage} (Debian, Ubuntu) or brew install ${debianPackage} (macOS)`),
  toolFailed: (tool: string, detail: string) => error('tool-failed', `${tool} failed: ${detail}`, 'this is unexpected; run the command again, and report it with the image name if it persists'),
  noSuchImage: (image: string) => error('no-such-image', `cannot read the image ${image}: no such file`, 'pass the downloaded image with --image, e.g. ubuntu-24.04.3-preinstalled-server-arm64+raspi.img.xz'),
  imageIsAFolder: (image: string) => error('image-is-a-folder', `${image} is a folder, not an image`, 'pass the downloaded image file with --image, e.g. ubuntu-24.04.3-preinstalled-server-arm64+raspi.img.xz'),
  unsupportedCompression: (image: string, format: string) =>
    error('unsupported-compression', `${image} is ${format}-compressed; pi-seed reads raw .img and .img.xz images`, 'decompress it first, or download the .img.xz image'),
  imageCorrupt: (image: string, detail: string) =>
    error('image-corrupt', `cannot decompress ${image}: ${detail}`, 'the file is incomplete or damaged: download it again and compare its SHA-256 with the release\'s SHA256SUMS'),
  imageTruncated: (image: string, needed: number, size: number) =>
    error('image-truncated', `${image} ends at byte ${size} but its partition table reaches byte ${needed}`, 'the file is incomplete: download it again and compare its SHA-256 with the release\'s SHA256SUMS'),
  noPartitionTable: (image: string) =>
    error('no-partition-table', `${image} has no MBR or GPT partition table: it is not a disk image`, 'pass an Ubuntu Server image for Raspberry Pi, e.g. ubuntu-24.04.3-preinstalled-server-arm64+raspi.img.xz'),
  noBootPartition: (image: string, partitions: number) =>
    error('no-boot-partition', `${image} has no FAT partition labelled system-boot (${partitions} partition${partitions === 1 ? '' : 's'} checked)`, 'pass an Ubuntu Server image for Raspberry Pi; its first partition is the FAT system-boot partition'),
  fatExceedsPartition: (image: string, fatBytes: number, partitionBytes: number) =>
    error('fat-exceeds-partition', `the system-boot FAT in ${image} claims ${fatBytes} bytes but its partition holds ${partitionBytes}`, 'the image is damaged: pi-seed will not write into it, so it cannot spill into the next partition'),
  bootPartitionFull: (detail: string) =>
    error('boot-partition-full', `the system-boot partition has no room for the seed files (${detail})`, 'free space on it or use an image with a larger system-boot partition'),
  fatCheckFailed: (output: string) =>
    error('fat-check-failed', `fsck.fat -n found problems in the baked system-boot partition:\n${output.trim()}`, 'run fsck.fat -n on the input image\'s partition: if it fails there too the image was damaged before pi-seed touched it'),
  diskFull: (path: string) =>
    error('disk-full', `no space left on the disk holding ${path}`, 'free some space or pass -o on another disk; nothing was left behind'),
  fileTooLarge: (path: string) =>
    error('file-too-large-for-disk', `${path} is larger than this file system or your file-size limit allows (EFBIG)`, 'write it to a disk formatted with ext4, NTFS, APFS or exFAT (FAT32 caps files at 4 GiB), or raise `ulimit -f`'),
  imageExists: (path: string) =>
    error('image-exists', `${path} already exists`, 'pass --force to replace it (it may be a card image you still need), or choose another -o'),
  outputIsInput: (path: string) => error('output-is-input', `the output ${path} is the input image`, 'bake into a new file with -o; the downloaded image stays untouched for the next node'),
  unsafeImagePath: (path: string) => error('unsafe-image-path', `${path} contains "@@", which mtools reads as an offset`, 'pick an output path without "@@"'),
  compressedOutput: (path: string) =>
    error('compressed-output', `${path} names a compressed file, but bake writes a raw .img`, 'name the output .img; compress it yourself (xz -T0) if you want: every flashing tool reads both'),
  tarToTerminal: () => error('tar-to-terminal', 'refusing to write a tar archive to a terminal', 'redirect it (pi-seed build --tar - > seeds.tar) or pass a file name: --tar seeds.tar'),
} as const;
