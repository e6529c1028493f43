#!/bin/bash
# pi-seed node keeper, on the control plane (pi-seed-nodes.timer runs it every 30 s). Generated
# by pi-seed; edit cluster.yaml, not this file. With the admin kubeconfig, it:
#  - labels every node that is not a control plane node-role.kubernetes.io/worker (the kubelet
#    may not set node-role labels on itself: NodeRestriction), so no list of workers is needed;
#  - deletes a worker's bootstrap token once its Node is Ready and its report says joined: a
#    failure after registration needs a reset and a second join, which needs the token.
# Every step is idempotent and bounded; a step that fails is tried again at the next run.
set -Eeuo pipefail

ROOT="${PI_SEED_ROOT:-}"
export KUBECONFIG="$ROOT/etc/kubernetes/admin.conf"
LOG_FILE="$ROOT/var/log/pi-seed.log"
KUBECTL=(kubectl --request-timeout=20s)

log() {
  printf '%s pi-seed-nodes: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG_FILE"
}

# Before kubeadm init has written it, there is no cluster to look after yet.
[ -s "$KUBECONFIG" ] || exit 0

label_workers() {
  local node
  for node in $("${KUBECTL[@]}" get nodes -l '!node-role.kubernetes.io/control-plane,!node-role.kubernetes.io/worker' -o name); do
    "${KUBECTL[@]}" label --overwrite "$node" node-role.kubernetes.io/worker= >/dev/null
    log "labelled ${node#node/} node-role.kubernetes.io/worker"
  done
}

ready() {
  [ "$("${KUBECTL[@]}" get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

delete_used_tokens() {
  local report node
  for report in $("${KUBECTL[@]}" -n pi-seed get configmaps -l 'pi-seed.io/report,pi-seed.io/phase=joined,pi-seed.io/token!=deleted' -o name); do
    node=${report#configmap/report-}
    ready "$node" || continue
    "${KUBECTL[@]}" -n kube-system delete secret -l "pi-seed.io/node=$node" --ignore-not-found >/dev/null
    "${KUBECTL[@]}" -n pi-seed label --overwrite "$report" pi-seed.io/token=deleted >/dev/null
    log "$node has joined and is Ready: deleted its bootstrap token"
  done
}

label_workers
delete_used_tokens
