#!/bin/sh
# pi-seed: switch containerd's runc runtime to the systemd cgroup driver, in place.
# Usage: containerd-systemd-cgroup.sh CONFIG.toml   (the output of `containerd config default`)
#
# kubeadm configures the kubelet with the systemd cgroup driver; containerd must match. The
# runc options table is named differently in each config version:
#   version 2 (containerd 1.x): [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
#   version 3 (containerd 2.x): [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
# containerd 2.x's default has no SystemdCgroup line at all, so a sed that flips "false" to
# "true" silently does nothing there: the line is inserted when it is missing.
set -eu

config=$1
tmp="$config.pi-seed.tmp"

awk '
  function is_runc_options(line) {
    return line ~ /^[[:space:]]*\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\.options\][[:space:]]*$/ ||
           line ~ /^[[:space:]]*\[plugins\.'\''io\.containerd\.cri\.v1\.runtime'\''\.containerd\.runtimes\.runc\.options\][[:space:]]*$/
  }
  # Leaving the runc options table without having seen the key: add it at the table end.
  function close_table() {
    if (in_table && !done) { print indent "SystemdCgroup = true"; done = 1 }
    in_table = 0
  }
  /^[[:space:]]*\[/ {
    close_table()
    if (is_runc_options($0)) {
      in_table = 1; found = 1
      match($0, /^[[:space:]]*/); indent = substr($0, 1, RLENGTH) "  "
    }
    print; next
  }
  in_table && /^[[:space:]]*SystemdCgroup[[:space:]]*=/ {
    sub(/=.*/, "= true"); print; done = 1; next
  }
  { print }
  /^[[:space:]]*version[[:space:]]*=/ { version = $0; sub(/^[^=]*=[[:space:]]*/, "", version) }
  END {
    close_table()
    # No runc options table at all: add one for the config version in use.
    if (!found && version == 3) {
      print ""; print "[plugins.'\''io.containerd.cri.v1.runtime'\''.containerd.runtimes.runc.options]"; print "  SystemdCgroup = true"
    } else if (!found && version == 2) {
      print ""; print "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"; print "  SystemdCgroup = true"
    } else if (!found) {
      print "pi-seed: unknown containerd config version \"" version "\"" > "/dev/stderr"; exit 1
    }
  }
' "$config" >"$tmp"
mv -f "$tmp" "$config"
