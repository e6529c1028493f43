// Kubernetes-side documents for the control plane: kubeadm's configuration, the MetalLB pool
// and the demo app. Pure functions of the plan.
import { type ClusterPlan } from '../plan/plan.js';
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

/** kubeadm.k8s.io/v1beta4 (1.31+): InitConfiguration, ClusterConfiguration, KubeletConfiguration. */
export function kubeadmConfig(plan: ClusterPlan): string {
  const cp = plan.controlPlane;
  const endpoint = `${cp.address}:${plan.kubernetes.apiServerPort}`;
  return toYamlDocuments([
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      localAPIEndpoint: { advertiseAddress: cp.address, bindPort: plan.kubernetes.apiServerPort },
      nodeRegistration: {
        name: cp.name,
        criSocket: 'unix:///var/run/containerd/containerd.sock',
        // A cluster without workers must run its pods (and MetalLB) on the control plane.
        ...(plan.workers.length === 0 ? { taints: [] } : {}),
      },
      timeouts: KUBEADM_TIMEOUTS,
    },
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: plan.cluster.name,
      // Replaced at first boot by the installed kubeadm's exact version (see the bootstrap).
      kubernetesVersion: `stable-${plan.kubernetes.minor}`,
      controlPlaneEndpoint: endpoint,
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
