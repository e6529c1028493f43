// Kubernetes-side documents for the control plane: kubeadm's configuration, the MetalLB pool
// and the demo app. Pure functions of the plan.
import { type ClusterPlan, type ClusterTrust, type PlannedNode } from '../plan/plan.js';
import { toYamlDocuments } from './yaml.js';

/**
 * kubeadm's waits, stretched for a Pi 3 on an SD card: its defaults (4 min for the kubelet and
 * the static pods, 1 min per API call, 2 min per etcd call) are made for servers, and a slow card
 * pulling the control-plane images makes `wait-control-plane` time out half-way through init.
 */
export const KUBEADM_TIMEOUTS = {
  controlPlaneComponentHealthCheck: '15m0s',
  kubeletHealthCheck: '10m0s',
  kubernetesAPICall: '3m0s',
  etcdAPICall: '5m0s',
};

const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
const CRI_SOCKET = 'unix:///var/run/containerd/containerd.sock';
/** The namespace of pi-seed's own objects: join scripts and reports (docs/join-protocol.md). */
export const PI_SEED_NAMESPACE = 'pi-seed';
/** In a served JoinConfiguration: the worker puts its own token here (the token stays on its card). */
export const TOKEN_PLACEHOLDER = 'PI_SEED_BOOTSTRAP_TOKEN';
/** kubeadm's default extra group for join tokens, which its RBAC lets join the cluster. */
export const JOIN_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';

const apiServerEndpoint = (plan: ClusterPlan): string => `${plan.controlPlane.address}:${plan.kubernetes.apiServerPort}`;

/**
 * The control plane's InitConfiguration. It lists every worker's bootstrap token, so it travels in
 * the control plane's key file, never in user-data. Tokens without join.tokenTTL never expire
 * ("0s"): the control plane deletes each one once its worker has joined.
 */
export function kubeadmInitConfiguration(plan: ClusterPlan, tokens: ReadonlyMap<string, string>): string {
  const cp = plan.controlPlane;
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'InitConfiguration',
      // Without workers, none: kubeadm then makes its default token, which expires in 24 h.
      ...(plan.workers.length === 0 ? {} : { bootstrapTokens: plan.workers.map((worker) => ({
        token: tokenFor(tokens, worker.name),
        description: `pi-seed join token for ${worker.name}`,
        ttl: plan.join.tokenTTL === null ? '0s' : plan.join.tokenTTL,
        usages: ['signing', 'authentication'],
        groups: [JOIN_TOKEN_GROUP],
      })) }),
      localAPIEndpoint: { advertiseAddress: cp.address, bindPort: plan.kubernetes.apiServerPort },
      nodeRegistration: {
        name: cp.name,
        criSocket: CRI_SOCKET,
        // A cluster without workers must run its pods (and MetalLB) on the control plane.
        ...(plan.workers.length === 0 ? { taints: [] } : {}),
      },
      timeouts: KUBEADM_TIMEOUTS,
    },
  ]);
}

function tokenFor(tokens: ReadonlyMap<string, string>, node: string): string {
  const token = tokens.get(node);
  // The pipeline makes a token for every worker before rendering; a gap is a bug, not bad input.
  if (token === undefined) throw new Error(`no bootstrap token for ${node}`);
  return token;
}

/**
 * ClusterConfiguration and KubeletConfiguration: public, in user-data. kubeadm init reads them
 * after the InitConfiguration from the key file. The CAs come from cluster.secrets.yaml (kubeadm's
 * "custom certificates"); the certificates kubeadm makes from them use the same algorithm.
 */
export function kubeadmClusterConfiguration(plan: ClusterPlan): string {
  const cp = plan.controlPlane;
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'ClusterConfiguration',
      clusterName: plan.cluster.name,
      // Replaced at first boot by the installed kubeadm's exact version (see the bootstrap).
      kubernetesVersion: `stable-${plan.kubernetes.minor}`,
      controlPlaneEndpoint: apiServerEndpoint(plan),
      encryptionAlgorithm: 'ECDSA-P256',
      networking: { podSubnet: plan.kubernetes.podCIDR, serviceSubnet: plan.kubernetes.serviceCIDR, dnsDomain: 'cluster.local' },
      apiServer: { certSANs: [cp.address, cp.name, cp.fqdn] },
    },
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
    },
  ]);
}

/** kubeadm's waits on a worker, stretched like the control plane's (a Pi 3 pulling images). */
export const KUBEADM_JOIN_TIMEOUTS = {
  ...KUBEADM_TIMEOUTS,
  discovery: '15m0s',
  tlsBootstrap: '15m0s',
};

/**
 * A worker's JoinConfiguration as the control plane serves it: kubeadm's own token discovery,
 * the CA pinned by its hash. The token is a placeholder the worker fills from its card.
 */
export function workerJoinConfiguration(plan: ClusterPlan, trust: ClusterTrust, worker: PlannedNode): string {
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: { apiServerEndpoint: apiServerEndpoint(plan), token: TOKEN_PLACEHOLDER, caCertHashes: [trust.caCertHash] },
      },
      nodeRegistration: { name: worker.name, criSocket: CRI_SOCKET },
      timeouts: KUBEADM_JOIN_TIMEOUTS,
    },
  ]);
}

const managedBy = { 'app.kubernetes.io/managed-by': 'pi-seed' };

/**
 * What the control plane publishes right after kubeadm init: pi-seed's namespace and one join
 * script per worker. binaryData (base64) lets a worker read it with sed and base64, without a JSON
 * parser; the control plane adds kubernetes-version and package-version at first boot.
 */
export function joinScripts(plan: ClusterPlan, trust: ClusterTrust): string {
  return toYamlDocuments([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PI_SEED_NAMESPACE, labels: managedBy } },
    ...plan.workers.map((worker) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `join-${worker.name}`, namespace: PI_SEED_NAMESPACE, labels: { ...managedBy, 'pi-seed.io/join-script': '', 'pi-seed.io/node': worker.name } },
      binaryData: { 'join-configuration.yaml': Buffer.from(workerJoinConfiguration(plan, trust, worker)).toString('base64') },
    })),
  ]);
}

/**
 * RBAC: each worker may read its own join script and write its own report, with its bootstrap token
 * before it joins and its kubelet's credentials after. It names the token ids, so it travels in the
 * control plane's key file.
 */
export function clusterAccess(plan: ClusterPlan, tokens: ReadonlyMap<string, string>): string {
  // The control plane reports with admin.conf: only workers need a Role.
  return toYamlDocuments(
    plan.workers.flatMap((node) => {
      const name = `pi-seed:node:${node.name}`;
      const subjects = [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:bootstrap:${tokenFor(tokens, node.name).split('.')[0]}` },
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${node.name}` },
      ];
      return [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name, namespace: PI_SEED_NAMESPACE, labels: managedBy },
          rules: [
            { apiGroups: [''], resources: ['configmaps'], resourceNames: [`join-${node.name}`], verbs: ['get'] },
            { apiGroups: [''], resources: ['configmaps'], resourceNames: [`report-${node.name}`], verbs: ['get', 'patch', 'update'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name, namespace: PI_SEED_NAMESPACE, labels: managedBy },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects,
        },
      ];
    }),
  );
}

export const METALLB_POOL_NAME = 'pi-seed-pool';

export function metallbPool(plan: ClusterPlan): string | null {
  const metallb = plan.kubernetes.metallb;
  if (!metallb) return null;
  return toYamlDocuments([
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: METALLB_POOL_NAME, namespace: 'metallb-system' },
      spec: { addresses: [metallb.addresses], autoAssign: true },
    },
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: METALLB_POOL_NAME, namespace: 'metallb-system' },
      spec: { ipAddressPools: [METALLB_POOL_NAME] },
    },
  ]);
}

/** The seed's demo: 2 nginx replicas showing their node's hostname, behind a LoadBalancer. */
export function demoApp(plan: ClusterPlan): string | null {
  const demo = plan.addons.demo;
  if (!demo) return null;
  const labels = { app: 'nginx-pod' };
  return toYamlDocuments([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nginx-prod' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx-deployment', namespace: 'nginx-prod' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'nginx-container',
                image: demo.image,
                ports: [{ containerPort: 80 }],
                volumeMounts: [{ name: 'file-hostname', mountPath: '/usr/share/nginx/html/hostname', readOnly: true }],
              },
            ],
            volumes: [{ name: 'file-hostname', hostPath: { path: '/etc/hostname', type: 'File' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nginx-service-lb', namespace: 'nginx-prod', annotations: { 'metallb.io/address-pool': METALLB_POOL_NAME } },
      spec: {
        type: 'LoadBalancer',
        selector: labels,
        ports: [{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 80, nodePort: 30080 }],
      },
    },
  ]);
}
