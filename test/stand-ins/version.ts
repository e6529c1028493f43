// The Kubernetes version every stand-in reports (API server, kubeadm, kubectl, the kubelet's
// Node). A module of its own so that kubectl's bundle entry does not load the API server's code.
export const VERSION = 'v1.37.1';
