// The console lines both VM scenarios wait for and check (test/vm/suite.ts, test/vm/ha.ts), as the
// bootstrap, the doubles' wrapper, the kubelet stand-in and keepalived print them on a guest's
// serial console (ANSI colours are stripped by Vm.serial).

/** The JoinConfiguration a joining node's bootstrap passes to `kubeadm join --config`. */
export const JOIN_CONFIG = '/var/lib/pi-seed/join-configuration.yaml';

export const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)) ?? []).length;
export const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Console lines the suite waits for and checks (ANSI colours are stripped by Vm.serial). */
export const CONSOLE = {
  nocloud: /Datasource DataSourceNoCloud \[seed=\/dev\/vda1\]/,
  cloudInitDone: /Cloud-init v\. \S+ finished at/,
  address: (a: string) => new RegExp(`ci-info: \\|\\s+eth0\\s+\\|\\s+True\\s+\\|\\s+${escape(a)}\\s+\\|\\s+255\\.255\\.255\\.0\\s+\\|`),
  login: (n: string) => new RegExp(`^${escape(n)} login:`, 'm'),
  // The report's log line ("<ts> pi-seed[work01]: report: phase joined", optionally followed by
  // " (<detail>)"), as the bootstrap unit's journal+console output shows it.
  phase: (n: string, p: string) => new RegExp(`pi-seed\\[${escape(n)}\\]: report: phase ${escape(p)}( \\(.*\\))?$`, 'm'),
  bootstrapStart: /pi-seed\[[a-z0-9-]+\]: bootstrap starting/,
  bootstrapDone: /pi-seed\[[a-z0-9-]+\]: bootstrap finished/,
  published: /pi-seed\[[a-z0-9-]+\]: join scripts published: Kubernetes (v\d+\.\d+\.\d+) \(packages (\S+)\)/,
  // The kubelet stand-in unit (test/vm/guest/kubelet-stand-in) running the API server's static pod.
  apiServerStarted: /kubelet \(stand-in\): starting the API server of [a-z0-9-]+ from \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml/,
  double: (cmd: string, status = 0) => new RegExp(`^pi-seed-double: ${cmd} \\(exit ${status}\\)$`, 'm'),
  kubeadmInit: /^pi-seed-double: kubeadm init /m,
  kubeadmJoin: /^pi-seed-double: kubeadm join /m,
  kubeadmJoinConfig: new RegExp(`^pi-seed-double: kubeadm join --config ${escape(JOIN_CONFIG)} \\(exit 0\\)$`, 'm'),
  // pi-seed-nodes (the control plane's timer): one label per new worker, its used token deleted.
  label: (n: string) => new RegExp(`^pi-seed-double: kubectl --request-timeout=20s label --overwrite node/${escape(n)} node-role\\.kubernetes\\.io/worker= \\(exit 0\\)$`, 'm'),
  labelAny: /^pi-seed-double: kubectl --request-timeout=20s label --overwrite node\//m,
  tokenDeleted: (n: string) => new RegExp(`^pi-seed-double: kubectl --request-timeout=20s -n kube-system delete secret -l pi-seed\\.io/node=${escape(n)} --ignore-not-found \\(exit 0\\)$`, 'm'),
  // A worker polling the API server, then its join script.
  waiting: (n: string, server: string) => new RegExp(`pi-seed\\[${escape(n)}\\]: waiting for the control plane at ${escape(server)} \\(try (\\d+)\\): `, 'm'),
  fetched: (n: string) => new RegExp(`pi-seed\\[${escape(n)}\\]: join script fetched \\(try (\\d+)\\): Kubernetes (v\\d+\\.\\d+\\.\\d+)`, 'm'),
};
