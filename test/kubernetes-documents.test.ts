// Every Kubernetes document a node feeds to kubeadm or applies (kubeadm Init/Cluster/Join and
// KubeletConfiguration, the MetalLB pool, the demo manifests) passes a strict schema written from
// upstream's Go types and CRDs (test/k8s-schemas/, each naming its source and tag). kubeadm only
// warns about an unknown field and drops it, so a typo would otherwise go unnoticed until a Pi
// came up wrong; here an unknown field, a wrong type or a value outside a closed set fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { TOKEN_PLACEHOLDER } from '../src/render/kubernetes.js';
import { parseSecretBundle } from '../src/secrets/cluster-secrets.js';
import { builtExamples, userDataWriteFiles } from './helpers.js';
import { documentKinds, validateKubernetesDocument, validateKubernetesYaml } from './k8s-schemas/index.js';

interface KubeFile {
  where: string;
  path: string;
  content: string;
}

/** A token of the right shape, for the served JoinConfigurations (each worker puts its own in). */
const SAMPLE_TOKEN = 'abcdef.0123456789abcdef';

/**
 * The JoinConfigurations inside the join-script ConfigMaps (binaryData), as a worker makes them:
 * decoded, its token in place of the placeholder.
 */
function servedJoinConfigurations(where: string, path: string, content: string): KubeFile[] {
  return (yaml.loadAll(content) as Array<{ kind?: string; metadata?: { name?: string }; binaryData?: Record<string, string> }>)
    .filter((doc) => doc?.kind === 'ConfigMap' && doc.binaryData?.['join-configuration.yaml'] !== undefined)
    .map((doc) => ({
      where,
      path: `${path} ${doc.metadata?.name}`,
      content: Buffer.from(doc.binaryData!['join-configuration.yaml']!, 'base64').toString('utf8').replace(TOKEN_PLACEHOLDER, SAMPLE_TOKEN),
    }));
}

/**
 * Every example's nodes, built; each node's Kubernetes YAML: write_files *.yaml under
 * /etc/pi-seed/, the YAML files of its key file, and the JoinConfigurations served to workers.
 */
async function kubernetesFiles(): Promise<{ nodes: number; files: KubeFile[] }> {
  const built = await builtExamples();
  const files = built.flatMap(({ example, node, dir }) => {
    const where = `${example}/${node}`;
    const written = userDataWriteFiles(join(dir, 'user-data'))
      .filter((entry) => entry.path.startsWith('/etc/pi-seed/') && entry.path.endsWith('.yaml'))
      .map((entry) => ({ where, path: entry.path, content: entry.content }));
    const keyFile = parseSecretBundle(readFileSync(join(dir, 'pi-seed-node.key'), 'utf8'))
      .entries.filter((entry) => entry.name.endsWith('.yaml'))
      .map((entry) => ({ where, path: `pi-seed-node.key ${entry.name}`, content: entry.content }));
    return [...written, ...keyFile, ...written.flatMap((f) => servedJoinConfigurations(where, f.path, f.content))];
  });
  return { nodes: built.length, files };
}

const { nodes, files } = await kubernetesFiles();

test('every Kubernetes document of every example node passes its strict schema', () => {
  assert.ok(nodes >= 3, `only ${nodes} nodes built`);
  const errors = files.flatMap((f) => validateKubernetesYaml(f.content, `${f.where}:${f.path}`));
  assert.equal(errors, [], `\n${errors.join('\n')}`);
});

test('the check is not vacuous: the examples hold the documents it is meant to check', () => {
  const seen = new Set(files.flatMap((f) => documentKinds(f.content)));
  for (const kind of [
    'kubeadm.k8s.io/v1beta4 InitConfiguration',
    'kubeadm.k8s.io/v1beta4 ClusterConfiguration',
    'kubelet.config.k8s.io/v1beta1 KubeletConfiguration',
    'metallb.io/v1beta1 IPAddressPool',
    'metallb.io/v1beta1 L2Advertisement',
    'v1 Namespace',
    'apps/v1 Deployment',
    'v1 Service',
    'v1 ConfigMap',
    'kubeadm.k8s.io/v1beta4 JoinConfiguration',
    'rbac.authorization.k8s.io/v1 Role',
    'rbac.authorization.k8s.io/v1 RoleBinding',
  ]) {
    assert.ok(seen.has(kind), `no ${kind} found in any example (seen: ${[...seen].join(', ')})`);
  }
  for (const path of ['/etc/pi-seed/kubeadm-cluster.yaml', 'pi-seed-node.key kubeadm-init.yaml', 'pi-seed-node.key cluster-access.yaml', '/etc/pi-seed/manifests/pi-seed-namespace.yaml']) {
    assert.ok(files.some((f) => f.path === path), `no ${path} found`);
  }
  assert.ok(files.some((f) => f.path.startsWith('/etc/pi-seed/manifests/pi-seed-namespace.yaml join-')), 'no served JoinConfiguration found');
});

// --- The schemas can fail: minimal valid documents pass, and each one broken in one place fails.

const TOKEN = 'abcdef.0123456789abcdef';
const HASH = `sha256:${'0'.repeat(64)}`;
const minimal: Record<string, Record<string, unknown>> = {
  InitConfiguration: { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration' },
  ClusterConfiguration: { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration' },
  JoinConfiguration: {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: '192.168.1.10:6443', token: TOKEN, caCertHashes: [HASH] } },
  },
  KubeletConfiguration: { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' } },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'r' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' } },
  IPAddressPool: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' }, spec: { addresses: ['10.0.0.0/28'] } },
  L2Advertisement: { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'p' } },
  Namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
  Service: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } },
  Deployment: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { app: 'a' } },
      template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  },
};

/** A full, valid document per kind using many fields, so the schemas' types are exercised too. */
const rich: Array<[string, Record<string, unknown>]> = [
  [
    'InitConfiguration',
    {
      ...minimal.InitConfiguration,
      bootstrapTokens: [
        { token: TOKEN, description: 'join', ttl: '24h', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] },
        { token: '783bde.3f89s0fje9f38fhf', expires: '2030-01-01T00:00:00Z' },
      ],
      dryRun: false,
      nodeRegistration: {
        name: 'cp',
        criSocket: 'unix:///var/run/containerd/containerd.sock',
        taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
        kubeletExtraArgs: [{ name: 'node-ip', value: '10.0.0.2' }],
        ignorePreflightErrors: ['Swap'],
        imagePullPolicy: 'IfNotPresent',
        imagePullSerial: true,
      },
      localAPIEndpoint: { advertiseAddress: '10.0.0.2', bindPort: 6443 },
      certificateKey: 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204',
      skipPhases: ['addon/kube-proxy'],
      patches: { directory: '/etc/pi-seed/patches' },
      timeouts: { controlPlaneComponentHealthCheck: '4m', kubeletHealthCheck: '4m0s', kubernetesAPICall: '1m', etcdAPICall: '2m', tlsBootstrap: '5m', discovery: '5m', upgradeManifests: '5m' },
    },
  ],
  [
    'ClusterConfiguration',
    {
      ...minimal.ClusterConfiguration,
      etcd: { local: { dataDir: '/var/lib/etcd', extraArgs: [{ name: 'quota-backend-bytes', value: '8589934592' }], extraEnvs: [{ name: 'A', value: 'b' }] } },
      networking: { serviceSubnet: '10.96.0.0/12', podSubnet: '10.244.0.0/16', dnsDomain: 'cluster.local' },
      kubernetesVersion: 'v1.37.1',
      controlPlaneEndpoint: '10.0.0.2:6443',
      apiServer: { certSANs: ['10.0.0.2'], extraArgs: [{ name: 'v', value: '2' }], extraVolumes: [{ name: 'x', hostPath: '/x', mountPath: '/x', readOnly: true, pathType: 'Directory' }] },
      controllerManager: { extraArgs: [{ name: 'allocate-node-cidrs', value: 'true' }] },
      scheduler: {},
      dns: { disabled: false },
      proxy: { disabled: false },
      certificatesDir: '/etc/kubernetes/pki',
      imageRepository: 'registry.k8s.io',
      featureGates: { SomeGate: true },
      clusterName: 'pi',
      encryptionAlgorithm: 'ECDSA-P256',
      certificateValidityPeriod: '8760h',
      caCertificateValidityPeriod: '87600h',
    },
  ],
  [
    'JoinConfiguration',
    {
      ...minimal.JoinConfiguration,
      nodeRegistration: { name: 'w1', taints: [], kubeletExtraArgs: [{ name: 'node-ip', value: '10.0.0.3' }] },
      caCertPath: '/etc/kubernetes/pki/ca.crt',
      discovery: { bootstrapToken: { apiServerEndpoint: '10.0.0.2:6443', token: TOKEN, caCertHashes: [HASH], unsafeSkipCAVerification: false }, tlsBootstrapToken: TOKEN },
      controlPlane: { localAPIEndpoint: { advertiseAddress: '10.0.0.3', bindPort: 6443 }, certificateKey: 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204' },
      skipPhases: ['preflight'],
      timeouts: { discovery: '5m', tlsBootstrap: '5m' },
    },
  ],
  ['JoinConfiguration (file discovery)', { ...minimal.JoinConfiguration, discovery: { file: { kubeConfigPath: '/etc/kubernetes/discovery.conf' }, tlsBootstrapToken: TOKEN } }],
  [
    'KubeletConfiguration',
    {
      ...minimal.KubeletConfiguration,
      cgroupDriver: 'systemd',
      failCgroupV1: true,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true, cacheTTL: '2m' }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } },
      authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '5m', cacheUnauthorizedTTL: '30s' } },
      clusterDNS: ['10.96.0.10'],
      evictionHard: { 'memory.available': '100Mi' },
      memorySwap: { swapBehavior: 'NoSwap' },
      logging: { format: 'text', flushFrequency: '5s', verbosity: 0, options: { json: { infoBufferSize: '0' } } },
      registerWithTaints: [{ key: 'k', effect: 'NoExecute' }],
      shutdownGracePeriod: '30s',
      containerRuntimeEndpoint: 'unix:///var/run/containerd/containerd.sock',
      kubeReserved: { cpu: '100m' },
    },
  ],
  [
    'IPAddressPool',
    {
      ...minimal.IPAddressPool,
      metadata: { name: 'p', namespace: 'metallb-system' },
      spec: { addresses: ['10.0.0.200-10.0.0.220'], autoAssign: true, avoidBuggyIPs: false, serviceAllocation: { priority: 1, namespaces: ['a'] } },
    },
  ],
  ['ConfigMap', { ...minimal.ConfigMap, immutable: false, data: { 'a.yaml': 'x', B_1: '' }, binaryData: { 'c-d': 'aGk=' } }],
  ['Role', { ...minimal.Role, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['c'], verbs: ['get', 'patch'] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] }],
  ['RoleBinding', { ...minimal.RoleBinding, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:node:w1' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'n' }] }],
  ['L2Advertisement', { ...minimal.L2Advertisement, spec: { ipAddressPools: ['p'], interfaces: ['eth0'], nodeSelectors: [{ matchLabels: { a: 'b' } }] } }],
  [
    'Service',
    {
      ...minimal.Service,
      metadata: { name: 's', namespace: 'n', annotations: { 'metallb.io/address-pool': 'p' } },
      spec: { type: 'LoadBalancer', selector: { app: 'a' }, ports: [{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 80, nodePort: 30080 }] },
    },
  ],
  [
    'Deployment',
    {
      ...minimal.Deployment,
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'a' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        template: {
          metadata: { labels: { app: 'a' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'nginx',
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                resources: { limits: { memory: '64Mi', cpu: 0.5 } },
                readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
                volumeMounts: [{ name: 'h', mountPath: '/h', readOnly: true }],
              },
            ],
            volumes: [{ name: 'h', hostPath: { path: '/etc/hostname', type: 'File' } }, { name: 'e', emptyDir: {} }],
            tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
    },
  ],
];

test('minimal and rich valid documents of every kind pass', () => {
  for (const [name, doc] of [...Object.entries(minimal), ...rich]) {
    assert.equal(validateKubernetesDocument(doc), [], `${name} should be valid`);
  }
});

/** Deep copy of a minimal document with `edit` applied. */
function broken(kind: string, edit: (d: any) => void): Record<string, unknown> {
  const doc = structuredClone(minimal[kind]!);
  edit(doc);
  return doc;
}

const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  ['unknown top-level field in InitConfiguration', broken('InitConfiguration', (d) => (d.bootstrapToken = [])), /unknown field "bootstrapToken"/],
  ['nodeRegistration.nmae', broken('InitConfiguration', (d) => (d.nodeRegistration = { nmae: 'cp' })), /\/nodeRegistration: unknown field "nmae"/],
  ['kubeletExtraArgs as a map (v1beta3 shape)', broken('InitConfiguration', (d) => (d.nodeRegistration = { kubeletExtraArgs: { 'node-ip': '10.0.0.2' } })), /kubeletExtraArgs: must be array/],
  ['taint with an unknown effect', broken('InitConfiguration', (d) => (d.nodeRegistration = { taints: [{ key: 'k', effect: 'NoScheduel' }] })), /taints\/0\/effect: must be equal to one of/],
  ['a bootstrap token of the wrong shape', broken('InitConfiguration', (d) => (d.bootstrapTokens = [{ token: 'ABCDEF.0123456789abcdef' }])), /bootstrapTokens\/0\/token: must match pattern/],
  ['a bootstrap token with both ttl and expires', broken('InitConfiguration', (d) => (d.bootstrapTokens = [{ ttl: '1h', expires: '2030-01-01T00:00:00Z' }])), /bootstrapTokens\/0: must NOT be valid/],
  ['a bootstrap token usage outside the known set', broken('InitConfiguration', (d) => (d.bootstrapTokens = [{ usages: ['sign'] }])), /usages\/0: must be equal to one of/],
  ['a duration as a number', broken('InitConfiguration', (d) => (d.timeouts = { kubeletHealthCheck: 240 })), /kubeletHealthCheck: must be string/],
  ['a duration that Go cannot parse', broken('InitConfiguration', (d) => (d.timeouts = { kubeletHealthCheck: '4 minutes' })), /kubeletHealthCheck: must match pattern/],
  ['the v1beta3 timeoutForControlPlane', broken('ClusterConfiguration', (d) => (d.apiServer = { timeoutForControlPlane: '4m' })), /\/apiServer: unknown field "timeoutForControlPlane"/],
  ['apiServer.extraArgs as a map (v1beta3 shape)', broken('ClusterConfiguration', (d) => (d.apiServer = { extraArgs: { v: '2' } })), /\/apiServer\/extraArgs: must be array/],
  ['an extraArg without a value', broken('ClusterConfiguration', (d) => (d.controllerManager = { extraArgs: [{ name: 'v' }] })), /extraArgs\/0: must have required property 'value'/],
  ['networking typo', broken('ClusterConfiguration', (d) => (d.networking = { podSubnett: '10.244.0.0/16' })), /\/networking: unknown field "podSubnett"/],
  ['an encryption algorithm outside the set', broken('ClusterConfiguration', (d) => (d.encryptionAlgorithm = 'RSA')), /encryptionAlgorithm: must be equal to one of/],
  ['both local and external etcd', broken('ClusterConfiguration', (d) => (d.etcd = { local: {}, external: { endpoints: ['https://e:2379'] } })), /\/etcd: must NOT be valid/],
  ['JoinConfiguration without discovery', broken('JoinConfiguration', (d) => delete d.discovery), /must have required property 'discovery'/],
  ['the v1beta3 discovery.timeout', broken('JoinConfiguration', (d) => (d.discovery.timeout = '5m')), /\/discovery: unknown field "timeout"/],
  ['discovery.bootstrapToken typo', broken('JoinConfiguration', (d) => (d.discovery.bootstrapToken.apiServerEndpiont = 'x')), /bootstrapToken: unknown field "apiServerEndpiont"/],
  ['a CA cert hash of the wrong form', broken('JoinConfiguration', (d) => (d.discovery.bootstrapToken.caCertHashes = ['sha256:abc'])), /caCertHashes\/0: must match pattern/],
  ['both bootstrapToken and file discovery', broken('JoinConfiguration', (d) => (d.discovery.file = { kubeConfigPath: '/x' })), /\/discovery: must match exactly one schema/],
  ['a KubeletConfiguration top-level typo', broken('KubeletConfiguration', (d) => (d.cgroupDrivr = 'systemd')), /unknown field "cgroupDrivr"/],
  ['a cgroup driver outside the set', broken('KubeletConfiguration', (d) => (d.cgroupDriver = 'system')), /cgroupDriver: must be equal to one of/],
  ['a nested kubelet typo', broken('KubeletConfiguration', (d) => (d.authentication = { anonymus: { enabled: false } })), /\/authentication: unknown field "anonymus"/],
  ['maxPods as a string', broken('KubeletConfiguration', (d) => (d.maxPods = '110')), /maxPods: must be integer/],
  ['spec.adresses in IPAddressPool', broken('IPAddressPool', (d) => (d.spec = { adresses: ['10.0.0.0/28'] })), /\/spec: unknown field "adresses"/],
  ['IPAddressPool without addresses', broken('IPAddressPool', (d) => (d.spec = {})), /\/spec: must have required property 'addresses'/],
  ['autoAssign as a string', broken('IPAddressPool', (d) => (d.spec.autoAssign = 'true')), /autoAssign: must be boolean/],
  ['L2Advertisement spec typo', broken('L2Advertisement', (d) => (d.spec = { ipAddressPool: ['p'] })), /\/spec: unknown field "ipAddressPool"/],
  ['metadata typo', broken('Namespace', (d) => (d.metadata.lables = { a: 'b' })), /\/metadata: unknown field "lables"/],
  ['a label value that is not a string', broken('Namespace', (d) => (d.metadata.labels = { a: 1 })), /labels\/a: must be string/],
  ['an unknown container field', broken('Deployment', (d) => (d.spec.template.spec.containers[0].imagePullPolicyy = 'Always')), /containers\/0: unknown field "imagePullPolicyy"/],
  ['a container port as a string', broken('Deployment', (d) => (d.spec.template.spec.containers[0].ports = [{ containerPort: '80' }])), /containerPort: must be integer/],
  ['a volumeMount typo', broken('Deployment', (d) => (d.spec.template.spec.containers[0].volumeMounts = [{ name: 'h', mountpath: '/h' }])), /volumeMounts\/0: unknown field "mountpath"/],
  ['a hostPath type outside the set', broken('Deployment', (d) => (d.spec.template.spec.volumes = [{ name: 'h', hostPath: { path: '/x', type: 'file' } }])), /hostPath\/type: must be equal to one of/],
  ['a volume with two sources', broken('Deployment', (d) => (d.spec.template.spec.volumes = [{ name: 'h', hostPath: { path: '/x' }, emptyDir: {} }])), /volumes\/0: must NOT have more than 2 properties/],
  ['a volume source typo', broken('Deployment', (d) => (d.spec.template.spec.volumes = [{ name: 'h', hostpath: { path: '/x' } }])), /volumes\/0: unknown field "hostpath"/],
  ['a DeploymentSpec typo', broken('Deployment', (d) => (d.spec.replica = 2)), /\/spec: unknown field "replica"/],
  ['a PodSpec typo', broken('Deployment', (d) => (d.spec.template.spec.restartpolicy = 'Always')), /template\/spec: unknown field "restartpolicy"/],
  ['a Service type outside the set', broken('Service', (d) => (d.spec.type = 'Loadbalancer')), /\/spec\/type: must be equal to one of/],
  ['a ServicePort typo', broken('Service', (d) => (d.spec.ports = [{ port: 80, targetport: 80 }])), /ports\/0: unknown field "targetport"/],
  ['a Service without metadata', broken('Service', (d) => delete d.metadata), /must have required property 'metadata'/],
  ['a wrong apiVersion for the kind', broken('Deployment', (d) => (d.apiVersion = 'extensions/v1beta1')), /no schema for apiVersion "extensions\/v1beta1" kind "Deployment"/],
  ['the retired kubeadm v1beta3', broken('InitConfiguration', (d) => (d.apiVersion = 'kubeadm.k8s.io/v1beta3')), /no schema for apiVersion "kubeadm.k8s.io\/v1beta3"/],
  ['a ConfigMap key with a slash', broken('ConfigMap', (d) => (d.data = { 'a/b': 'x' })), /\/data: property name must be valid/],
  ['binaryData that is not base64', broken('ConfigMap', (d) => (d.binaryData = { a: 'not base64!' })), /binaryData\/a: must match pattern/],
  ['a ConfigMap typo', broken('ConfigMap', (d) => (d.binarydata = {})), /unknown field "binarydata"/],
  ['a PolicyRule without verbs', broken('Role', (d) => (d.rules = [{ resources: ['configmaps'] }])), /rules\/0: must have required property 'verbs'/],
  ['a PolicyRule typo', broken('Role', (d) => (d.rules = [{ verbs: ['get'], resourceName: ['x'] }])), /rules\/0: unknown field "resourceName"/],
  ['a RoleBinding without roleRef', broken('RoleBinding', (d) => delete d.roleRef), /must have required property 'roleRef'/],
  ['a subject kind outside the set', broken('RoleBinding', (d) => (d.subjects = [{ kind: 'user', name: 'x' }])), /subjects\/0\/kind: must be equal to one of/],
  ['an unknown kind', { apiVersion: 'v1', kind: 'ConfigMapp', metadata: { name: 'x' } }, /no schema for apiVersion "v1" kind "ConfigMapp"/],
];

for (const [name, doc, expected] of invalid) {
  test(`refused: ${name}`, () => {
    const errors = validateKubernetesDocument(doc);
    assert.ok(errors.length > 0, `${name} was accepted`);
    assert.ok(errors.some((e) => expected.test(e)), `${name}: expected ${expected}, got:\n${errors.join('\n')}`);
  });
}

test('multi-document YAML: each document is checked and errors name the file and document', () => {
  const text = [
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: InitConfiguration',
    'nodeRegistration:',
    '  name: cp',
    '---',
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: ClusterConfiguration',
    'networking:',
    '  podSubnet: 10.244.0.0/16',
    '  servicesubnet: 10.96.0.0/12',
    '---',
    '',
  ].join('\n');
  const errors = validateKubernetesYaml(text, 'x.yaml');
  assert.equal(errors, ['x.yaml document 2 (kubeadm.k8s.io/v1beta4 ClusterConfiguration): /networking: unknown field "servicesubnet"']);
  assert.equal(validateKubernetesYaml('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n', 'ns.yaml'), []);
  assert.match(validateKubernetesYaml('a: [\n', 'bad.yaml')[0] ?? '', /bad\.yaml: YAML does not parse/);
  assert.match(validateKubernetesYaml('- 1\n', 'list.yaml')[0] ?? '', /list\.yaml document 1 .*document is not a mapping/);
});

test.run();
