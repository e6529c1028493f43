// Kubernetes-side documents for the control planes: kubeadm's configuration, the MetalLB pool
// and the demo app. Pure functions of the plan.
import { type ClusterPlan, type ClusterTrust, type PlannedNode } from '../plan/plan.js';
import { ENDPOINT_CONFIGMAP, NODE_LABEL, REPORT_LABEL } from '../kube/status-report.js';
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

/**
 * The init node's InitConfiguration. It lists the bootstrap token of every node that joins
 * (workers and the other control planes), so it travels in the init node's key file, never in
 * user-data. Tokens without join.tokenTTL never expire ("0s"): a control plane deletes each one
 * once its node has joined.
 */
export function kubeadmInitConfiguration(plan: ClusterPlan, tokens: ReadonlyMap<string, string>): string {
  const cp = plan.initNode;
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'InitConfiguration',
      // Without joiners, none: kubeadm then makes its default token, which expires in 24 h.
      ...(plan.joiners.length === 0 ? {} : { bootstrapTokens: plan.joiners.map((node) => ({
        token: tokenFor(tokens, node.name),
        description: `pi-seed join token for ${node.name}`,
        ttl: plan.join.tokenTTL === null ? '0s' : plan.join.tokenTTL,
        usages: ['signing', 'authentication'],
        groups: [JOIN_TOKEN_GROUP],
      })) }),
      localAPIEndpoint: { advertiseAddress: cp.address, bindPort: plan.kubernetes.apiServerPort },
      nodeRegistration: nodeRegistration(plan, cp),
      timeouts: KUBEADM_TIMEOUTS,
    },
  ]);
}

function nodeRegistration(plan: ClusterPlan, node: PlannedNode): Record<string, unknown> {
  return {
    name: node.name,
    criSocket: CRI_SOCKET,
    // A cluster without workers must run its pods (and MetalLB) on its control planes.
    ...(node.role === 'control-plane' && plan.workers.length === 0 ? { taints: [] } : {}),
  };
}

export function tokenFor(tokens: ReadonlyMap<string, string>, node: string): string {
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
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'ClusterConfiguration',
      clusterName: plan.cluster.name,
      // Replaced at first boot by the installed kubeadm's exact version (see the bootstrap).
      kubernetesVersion: `stable-${plan.kubernetes.minor}`,
      controlPlaneEndpoint: plan.kubernetes.endpoint,
      encryptionAlgorithm: 'ECDSA-P256',
      networking: { podSubnet: plan.kubernetes.podCIDR, serviceSubnet: plan.kubernetes.serviceCIDR, dnsDomain: 'cluster.local' },
      // Every name a client may use for an API server: kubeadm adds each node's own name and
      // address and the endpoint; the rest lets any control plane answer for any of them.
      apiServer: { certSANs: apiServerNames(plan) },
    },
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
    },
  ]);
}

function apiServerNames(plan: ClusterPlan): string[] {
  const names = plan.virtualIP ? [plan.virtualIP.address] : [];
  for (const cp of plan.controlPlanes) names.push(cp.address, cp.name, cp.fqdn);
  return names;
}

/** kubeadm's waits on a joining node, stretched like the control plane's (a Pi 3 pulling images). */
export const KUBEADM_JOIN_TIMEOUTS = {
  ...KUBEADM_TIMEOUTS,
  discovery: '15m0s',
  tlsBootstrap: '15m0s',
};

/**
 * A joining node's JoinConfiguration as the init node serves it: kubeadm's own token discovery
 * through the endpoint, the CA pinned by its hash. The token is a placeholder the node fills from
 * its card. A control plane's has `controlPlane` (kubeadm's `--control-plane`, which cannot be
 * mixed with --config): it brings the shared certificates on its own card, so nothing is uploaded.
 */
export function joinConfiguration(plan: ClusterPlan, trust: ClusterTrust, node: PlannedNode): string {
  return toYamlDocuments([
    {
      apiVersion: KUBEADM_API,
      kind: 'JoinConfiguration',
      ...(node.role === 'control-plane'
        ? { controlPlane: { localAPIEndpoint: { advertiseAddress: node.address, bindPort: plan.kubernetes.apiServerPort } } }
        : {}),
      discovery: {
        bootstrapToken: { apiServerEndpoint: plan.kubernetes.endpoint, token: TOKEN_PLACEHOLDER, caCertHashes: [trust.caCertHash] },
      },
      nodeRegistration: nodeRegistration(plan, node),
      timeouts: KUBEADM_JOIN_TIMEOUTS,
    },
  ]);
}

const managedBy = { 'app.kubernetes.io/managed-by': 'pi-seed' };

/**
 * What the init node publishes with one `kubectl apply` right after kubeadm init: pi-seed's
 * namespace, one join script per joining node, every node's report and (with a virtual IP) the
 * ConfigMap that names its holder. binaryData (base64) lets a worker read its join script with sed
 * and base64, without a JSON parser; the control plane adds kubernetes-version and
 * package-version at first boot. A report starts with its role only: its phase is written by its
 * node (a report without one is pending), and the holder by the node keepers, so applying this
 * again (a retried bootstrap) changes neither: client-side apply only touches the fields it set.
 */
export function piSeedNamespace(plan: ClusterPlan, trust: ClusterTrust): string {
  return toYamlDocuments([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PI_SEED_NAMESPACE, labels: managedBy } },
    ...plan.joiners.map((node) => joinScriptConfigMap(plan, trust, node)),
    ...plan.nodes.map((node) => reportConfigMap(node)),
    ...(plan.virtualIP
      ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ENDPOINT_CONFIGMAP, namespace: PI_SEED_NAMESPACE, labels: managedBy }, data: { address: plan.virtualIP.address } }]
      : []),
  ]);
}

export const JOIN_SCRIPT_LABEL = 'pi-seed.io/join-script';
export const joinScriptName = (node: string): string => `join-${node}`;
export const reportName = (node: string): string => `report-${node}`;
export const nodeAccessName = (node: string): string => `pi-seed:node:${node}`;

/** A joining node's join script, without the versions (the init node, or `apply`, adds them). */
export function joinScriptConfigMap(plan: ClusterPlan, trust: ClusterTrust, node: PlannedNode) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: joinScriptName(node.name), namespace: PI_SEED_NAMESPACE, labels: { ...managedBy, [JOIN_SCRIPT_LABEL]: '', [NODE_LABEL]: node.name } },
    binaryData: { 'join-configuration.yaml': Buffer.from(joinConfiguration(plan, trust, node)).toString('base64') },
  };
}

/** A node's report as published: its role only (a report without a phase is pending). */
export function reportConfigMap(node: PlannedNode) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: reportName(node.name), namespace: PI_SEED_NAMESPACE, labels: { ...managedBy, [REPORT_LABEL]: '', [NODE_LABEL]: node.name } },
    data: { role: node.role },
  };
}

/**
 * RBAC: each joining node may read its own join script and write its own report, with its
 * bootstrap token before it joins and its kubelet's credentials after. It names the token ids, so
 * it travels in the init node's key file.
 */
export function clusterAccess(plan: ClusterPlan, tokens: ReadonlyMap<string, string>): string {
  // The init node reports with admin.conf from the start: only joining nodes need a Role.
  return toYamlDocuments(plan.joiners.flatMap((node) => nodeAccess(node.name, tokenFor(tokens, node.name).split('.')[0]!)));
}

/** One joining node's Role and RoleBinding: its token id's user and, after the join, its kubelet. */
export function nodeAccess(node: string, tokenId: string) {
  const name = nodeAccessName(node);
  const subjects = [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:bootstrap:${tokenId}` },
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${node}` },
  ];
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: PI_SEED_NAMESPACE, labels: managedBy },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [joinScriptName(node)], verbs: ['get'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [reportName(node)], verbs: ['get', 'patch', 'update'] },
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
