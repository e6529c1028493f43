#!/usr/bin/env python3
"""pi-seed join service and client.

One file, Python 3 standard library only (Ubuntu 20.04's Python 3.8 up to 3.13), installed on
every node at /usr/local/lib/pi-seed/pi_seed_join.py. docs/join-protocol.md in the pi-seed
repository describes the protocol; this file implements both ends of it:

  serve   (control plane) the join service: hands out nonces, mints a bootstrap token for an
          authenticated worker and answers with a sealed, MAC'd join script, stores phase
          reports, answers the desktop's `pi-seed status`, labels workers once they register.
  fetch   (worker) polls the master until it gets a join script whose MAC verifies, then
          writes it to --out (mode 0700). Nothing unverified is ever written.
  report  (any node) reports a bootstrap phase. Best effort: always exits 0.
  status  (control plane) prints the phases stored on this machine (a debugging aid).

Exit codes: 0 success; 1 fetch gave up (only with --max-tries/--max-seconds) or serve could not
listen; 2 usage error; 3 key file missing, unreadable or malformed; 4 config file missing or
invalid. `serve` exits 3 or 4 for problems a restart cannot fix, so its systemd unit sets
RestartPreventExitStatus=3 4 and does not crash-loop.

No wall clock is used for any decision: a Raspberry Pi has no RTC and its clock is wrong until
NTP syncs. Nonce lifetimes and back-off use time.monotonic(); the wall clock only stamps the
"since" field that `pi-seed status` displays.
"""

import argparse
import collections
import contextlib
import datetime
import fcntl
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

# --- constants ----------------------------------------------------------------------------

CONFIG_API_VERSION = "pi-seed/join/v1"
STATE_API_VERSION = "pi-seed/state/v1"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_NO_KEY = 3
EXIT_BAD_CONFIG = 4

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"
WORKER_PHASES = ("preparing", "waiting-for-master", "joining", "joined", "failed")
CONTROL_PLANE_PHASES = ("preparing", "initialising", "ready", "failed")

# Bounds. They keep a LAN attacker (or a confused node) from exhausting the master's memory,
# threads or CPU, and are generous for legitimate traffic (a worker sends about one request per
# second at most; `pi-seed status --watch` two every couple of seconds).
MAX_BODY = 4096  # request bytes; checked against Content-Length before reading
MAX_REPLY = 64 * 1024  # reply bytes a client accepts
MAX_DETAIL = 512  # characters in a phase report's detail
NONCE_TTL = 120.0  # seconds of monotonic time
MAX_NONCES = 1024  # outstanding nonces; the oldest is evicted first
SOCKET_TIMEOUT = 10.0  # per socket operation while reading a request
CONNECTION_DEADLINE = 20.0  # a whole connection, however slowly the peer trickles bytes
MAX_HANDLERS = 32  # concurrent connections being handled
MAX_HANDLERS_PER_PEER = 8  # so one peer cannot take every handler slot
GLOBAL_RATE, GLOBAL_BURST = 40.0, 80  # requests/s, bucket size, all peers together
PEER_RATE, PEER_BURST = 10.0, 40  # requests/s, bucket size, per peer address
MAX_TRACKED_PEERS = 1024
KUBE_TIMEOUT = 60  # seconds for one kubeadm/kubectl/openssl call
LABEL_RETRY_FIRST, LABEL_RETRY_CAP = 2.0, 30.0
CLIENT_TIMEOUT = 10.0  # fetch: per socket operation
REPORT_TIMEOUT, REPORT_TRIES, REPORT_DEADLINE = 3.0, 3, 10.0
BACKOFF_BASE = 1.0

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
# Kubernetes node names are DNS subdomains. Restricting names to this also keeps them safe to
# put into a shell comment, a log line and a file name.
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
TTL_RE = re.compile(r"^([0-9]+(h|m|s))+$")  # the subset of Go durations kubeadm --ttl takes

# Labels of every HMAC input. Each ends in "\n" and none contains another "\n", so no input of
# one kind can be read as an input of another kind (domain separation).
LABEL_NODE_KEY = b"pi-seed/v1 node-key\n"
LABEL_ADMIN_KEY = b"pi-seed/v1 admin-key"
LABEL_JOIN = "pi-seed/v1 join\n"
LABEL_JOIN_REPLY = "pi-seed/v1 join-reply\n"
LABEL_SEAL_KEY = "pi-seed/v1 join-reply-key\n"
LABEL_PHASE = "pi-seed/v1 phase\n"
LABEL_STATUS = "pi-seed/v1 status\n"
LABEL_STATUS_REPLY = "pi-seed/v1 status-reply\n"
STATUS_MAC_HEADER = "X-Pi-Seed-Mac"


# --- logging --------------------------------------------------------------------------------

_log_lock = threading.Lock()
_log_file = None  # set from the config once it is loaded


def _one_line(text, limit=300):
    """Make untrusted or multi-line text safe for a one-line log entry."""
    text = "".join(c if " " <= c < "\x7f" or c > "\x9f" else "?" for c in str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def log(message):
    """One line per event, to stderr (the journal under systemd) and the node's log file.

    Callers never pass a key, MAC, nonce, token or join script: only names, addresses, phases
    and reasons.
    """
    line = "pi-seed-join: " + _one_line(message, 1000) + "\n"
    with _log_lock:
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        if _log_file:
            try:
                with open(_log_file, "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError:
                pass  # a missing /var/log must not stop a join


def console(message):
    """Also show a message on the node's console (HDMI / serial), where a person looks first.

    PI_SEED_NO_CONSOLE=1 turns this off (tests run as root and must not write to the host's
    console).
    """
    if os.environ.get("PI_SEED_NO_CONSOLE"):
        return
    try:
        fd = os.open("/dev/console", os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(fd, ("pi-seed: " + _one_line(message, 1000) + "\r\n").encode("utf-8", "replace"))
    except OSError:
        pass
    finally:
        os.close(fd)


class ThrottledLog:
    """Logs an event kind at most once per interval, counting what it left out.

    Floods (rate-limited requests, refused connections) would otherwise fill the SD card.
    """

    def __init__(self, interval=5.0):
        self._interval = interval
        self._lock = threading.Lock()
        self._last = {}  # key -> (monotonic time logged, suppressed count)

    def __call__(self, key, message):
        now = time.monotonic()
        with self._lock:
            last, suppressed = self._last.get(key, (None, 0))
            if last is not None and now - last < self._interval:
                self._last[key] = (last, suppressed + 1)
                return
            if len(self._last) > MAX_TRACKED_PEERS:
                self._last.clear()
            self._last[key] = (now, 0)
        if suppressed:
            message += " (%d similar events not logged)" % suppressed
        log(message)


# --- configuration and keys -------------------------------------------------------------------


class ConfigError(Exception):
    pass


class KeyFileError(Exception):
    pass


CONFIG_KEYS = {
    "apiVersion", "cluster", "node", "role", "master", "apiServerEndpoint", "workers",
    "keyFile", "stateDir", "logFile", "kubeconfig", "caCert", "tokenTTL", "backoffCapSeconds",
}


def load_config(path):
    """Read and check /etc/pi-seed/join.json (written by `pi-seed build`, not secret)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = json.load(f)
    except OSError as e:
        raise ConfigError("cannot read config %s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise ConfigError("config %s is not valid JSON: %s" % (path, e))
    if not isinstance(cfg, dict):
        raise ConfigError("config %s is not a JSON object" % path)

    def need(cond, what):
        if not cond:
            raise ConfigError("config %s: %s" % (path, what))

    need(cfg.get("apiVersion") == CONFIG_API_VERSION,
         "apiVersion must be %r" % CONFIG_API_VERSION)
    for key in ("cluster", "apiServerEndpoint", "keyFile", "stateDir", "logFile", "kubeconfig",
                "caCert"):
        need(isinstance(cfg.get(key), str) and cfg[key] != "",
             "%s must be a non-empty string" % key)
    need(isinstance(cfg.get("node"), str) and NAME_RE.match(cfg["node"]),
         "node must be a node name")
    need(cfg.get("role") in (ROLE_CONTROL_PLANE, ROLE_WORKER),
         "role must be %r or %r" % (ROLE_CONTROL_PLANE, ROLE_WORKER))
    master = cfg.get("master")
    need(isinstance(master, dict), "master must be an object")
    need(isinstance(master.get("name"), str) and NAME_RE.match(master["name"]),
         "master.name must be a node name")
    need(isinstance(master.get("address"), str) and master["address"] != "",
         "master.address must be an address")
    port = master.get("port")
    need(isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536,
         "master.port must be a port number")
    workers = cfg.get("workers")
    need(isinstance(workers, list)
         and all(isinstance(w, str) and NAME_RE.match(w) for w in workers),
         "workers must be a list of node names")
    need(len(set(workers)) == len(workers) and master["name"] not in workers,
         "workers must be distinct and must not include the master")
    cfg.setdefault("tokenTTL", "30m")
    need(isinstance(cfg["tokenTTL"], str) and TTL_RE.match(cfg["tokenTTL"]),
         "tokenTTL must be a duration such as 30m or 1h")
    cfg.setdefault("backoffCapSeconds", 30)
    cap = cfg["backoffCapSeconds"]
    need(isinstance(cap, (int, float)) and not isinstance(cap, bool) and 1 <= cap <= 3600,
         "backoffCapSeconds must be a number from 1 to 3600")
    unknown = sorted(set(cfg) - CONFIG_KEYS)
    if unknown:
        # A newer generator may add keys; an older script should still work.
        log("config %s: ignoring unknown keys %s" % (path, ", ".join(unknown)))
    # PI_SEED_ROOT exists only for pi-seed's simulation tests (empty on a Pi): the same prefix
    # the bootstrap script puts before every path it touches.
    root = os.environ.get("PI_SEED_ROOT", "")
    if root:
        for key in ("keyFile", "stateDir", "logFile", "kubeconfig", "caCert"):
            cfg[key] = root + cfg[key]
    return cfg


def load_key(path):
    """Read a key file: one line of 64 lowercase hex characters (32 bytes)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(1024)
            mode = os.fstat(f.fileno()).st_mode
    except OSError as e:
        raise KeyFileError("cannot read key file %s: %s" % (path, e.strerror or e))
    text = raw.decode("ascii", "replace").strip()
    if not HEX64_RE.match(text):
        raise KeyFileError("key file %s is malformed (expected one line of 64 lowercase hex "
                           "characters)" % path)
    if mode & 0o077:
        log("warning: key file %s is readable by other users; it should be mode 0600" % path)
    return bytes.fromhex(text)


def report_key_problem(error):
    """Explain a missing key where a person will look: stderr, the log and the console."""
    message = ("%s. This node cannot authenticate to the join service. At first boot the key "
               "file pi-seed-node.key is moved from the SD card's boot partition (system-boot) "
               "into /etc/pi-seed/; it was probably missing from the boot partition. Copy "
               "out/<node>/pi-seed-node.key from the folder `pi-seed build` wrote to the card's "
               "boot partition, then reboot." % error)
    log(message)
    console(message)


# --- key derivation and MACs (mirrored in src/join/protocol.ts) ------------------------------


def _hmac(key, message):
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def derive_node_key(cluster_key, node):
    """A worker's key: the master derives it, the worker's card holds only its own."""
    return _hmac(cluster_key, LABEL_NODE_KEY + node.encode("utf-8"))


def derive_admin_key(cluster_key):
    """The desktop's key for status requests; no node but the master can derive it."""
    return _hmac(cluster_key, LABEL_ADMIN_KEY)


def join_mac(node_key, nonce, node):
    return _hmac(node_key, LABEL_JOIN + nonce + "\n" + node).hex()


def join_reply_mac(node_key, nonce, sealed_hex):
    return _hmac(node_key, LABEL_JOIN_REPLY + nonce + "\n" + sealed_hex).hex()


def phase_mac(node_key, nonce, node, phase, detail):
    return _hmac(node_key, LABEL_PHASE + nonce + "\n" + node + "\n" + phase + "\n" + detail).hex()


def status_mac(admin_key, nonce):
    return _hmac(admin_key, LABEL_STATUS + nonce).hex()


def status_reply_mac(admin_key, nonce, body):
    return _hmac(admin_key, LABEL_STATUS_REPLY.encode() + nonce.encode() + b"\n" + body).hex()


def mac_ok(expected_hex, received):
    """Constant-time comparison; anything that is not 64 lowercase hex characters is wrong."""
    if not isinstance(received, str) or not HEX64_RE.match(received):
        return False
    return hmac.compare_digest(expected_hex.encode("ascii"), received.encode("ascii"))


def _keystream_xor(key, data):
    """XOR data with HMAC-SHA256(key, counter) blocks: a PRF in counter mode.

    Sound here because every key is used for one message only (see seal_key) and the
    ciphertext is authenticated (encrypt-then-MAC) before anyone decrypts it.
    """
    out = bytearray()
    for block in range(0, len(data), 32):
        pad = hmac.new(key, (block // 32).to_bytes(8, "big"), hashlib.sha256).digest()
        out.extend(a ^ b for a, b in zip(data[block:block + 32], pad))
    return bytes(out)


def seal_key(node_key, nonce):
    """A fresh encryption key per join reply: nonces are random and single use."""
    return _hmac(node_key, LABEL_SEAL_KEY + nonce)


def seal(node_key, nonce, plaintext):
    return _keystream_xor(seal_key(node_key, nonce), plaintext).hex()


def unseal(node_key, nonce, sealed_hex):
    return _keystream_xor(seal_key(node_key, nonce), bytes.fromhex(sealed_hex))


# --- small helpers ------------------------------------------------------------------------------


def utc_now():
    """The master's wall-clock time, for display only (it may be wrong before NTP syncs)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sh_quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def write_atomically(path, data, mode):
    """Write a file so that readers see the old or the new content, never a torn one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable across power loss
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _strict_object(pairs):
    """json object hook: refuse duplicate keys rather than silently keep the last one."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key %r" % key)
        obj[key] = value
    return obj


def parse_json_object(data):
    """Parse bytes as one JSON object, or return None."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_strict_object)
    except (ValueError, RecursionError):  # RecursionError: deeply nested arrays
        return None
    return value if isinstance(value, dict) else None


def has_fields(obj, names):
    """True when obj has exactly these keys, all with string values."""
    return set(obj) == set(names) and all(isinstance(obj[n], str) for n in names)


def run_tool(argv, input_bytes=None, what=None):
    """Run a program found on PATH, without a shell; raise ToolError on any failure.

    `what` names the call in error messages (default: the program and its first argument).
    """
    what = what or " ".join(argv[:2])
    try:
        done = subprocess.run(argv, input=input_bytes, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=KUBE_TIMEOUT)
    except FileNotFoundError:
        raise ToolError("%s not found on PATH" % argv[0])
    except subprocess.TimeoutExpired:
        raise ToolError("%s did not finish within %d s" % (what, KUBE_TIMEOUT))
    except OSError as e:
        raise ToolError("cannot run %s: %s" % (argv[0], e))
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise ToolError("%s failed (exit %d)%s" % (
            what, done.returncode, ": " + _one_line(first[0], 200) if first else ""))
    return done.stdout


class ToolError(Exception):
    pass


# --- state: phases.json -----------------------------------------------------------------------


class StateStore:
    """Node phases and labelling progress in <stateDir>/phases.json.

    Written by the server and, on the control plane, by `report` (the server may not be
    running yet). Every change is a read-modify-write under an exclusive flock on
    phases.lock, and the file is replaced atomically, so the two never lose each other's
    updates and a crash never leaves a torn file.
    """

    def __init__(self, state_dir):
        self.dir = state_dir
        self.path = os.path.join(state_dir, "phases.json")
        self._lock_path = os.path.join(state_dir, "phases.lock")
        self._thread_lock = threading.Lock()  # flock does not exclude threads of one process

    @contextlib.contextmanager
    def _locked(self):
        with self._thread_lock:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self):
        try:
            with open(self.path, "rb") as f:
                state = parse_json_object(f.read())
        except FileNotFoundError:
            state = {}
        except OSError as e:
            log("cannot read %s: %s; starting from empty state" % (self.path, e))
            state = {}
        if state is None or not isinstance(state.get("nodes"), dict):
            if state != {}:
                # Keep the damaged file for a person to look at; the next update starts afresh.
                log("%s is damaged; moved to phases.json.damaged, starting from empty state"
                    % self.path)
                with contextlib.suppress(OSError):
                    os.replace(self.path, self.path + ".damaged")
            state = {}
        return {"apiVersion": STATE_API_VERSION, "nodes": state.get("nodes", {})}

    def read(self):
        with self._locked():
            return self._read()

    def update(self, change):
        with self._locked():
            state = self._read()
            change(state["nodes"])
            data = (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8")
            write_atomically(self.path, data, 0o600)

    def record_phase(self, node, phase, detail="", served=False):
        now = utc_now()

        def change(nodes):
            entry = nodes.setdefault(node, {})
            if entry.get("phase") != phase:
                entry["since"] = now  # "since when in this phase", so repeats keep the first time
            entry["phase"] = phase
            if phase == "failed":
                entry["error"] = detail or "failed (no reason given)"
            elif phase in ("joined", "ready"):
                entry["error"] = None  # success clears the last error
            else:
                entry.setdefault("error", None)  # keep the last error until success
            if served:
                entry["served"] = True

        self.update(change)

    def mark_labelled(self, node):
        def change(nodes):
            nodes.setdefault(node, {})["labelled"] = True

        self.update(change)


# --- the server -------------------------------------------------------------------------------


class NonceStore:
    """Outstanding nonces: single use, expire after NONCE_TTL seconds of monotonic time."""

    def __init__(self, ttl=NONCE_TTL, limit=MAX_NONCES, clock=time.monotonic):
        self._ttl = ttl
        self._limit = limit
        self._clock = clock
        self._issued = collections.OrderedDict()  # nonce -> monotonic time issued, oldest first
        self._lock = threading.Lock()

    def issue(self):
        nonce = secrets.token_hex(32)
        with self._lock:
            now = self._clock()
            self._expire(now)
            while len(self._issued) >= self._limit:
                self._issued.popitem(last=False)  # evict the oldest; its owner will just retry
            self._issued[nonce] = now
        return nonce

    def consume(self, nonce):
        """Remove the nonce whatever happens next; True if it was outstanding and fresh."""
        with self._lock:
            issued = self._issued.pop(nonce, None)
            return issued is not None and self._clock() - issued <= self._ttl

    def __len__(self):
        with self._lock:
            return len(self._issued)

    def _expire(self, now):
        while self._issued:
            oldest, issued = next(iter(self._issued.items()))
            if now - issued <= self._ttl:
                break
            del self._issued[oldest]


class TokenBucket:
    def __init__(self, rate, burst, now):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now

    def take(self, now):
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """A global token bucket plus one per peer address (the least recently seen forgotten)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._global = TokenBucket(GLOBAL_RATE, GLOBAL_BURST, clock())
        self._peers = collections.OrderedDict()

    def allow(self, peer):
        with self._lock:
            now = self._clock()
            bucket = self._peers.pop(peer, None) or TokenBucket(PEER_RATE, PEER_BURST, now)
            self._peers[peer] = bucket  # most recently seen last
            while len(self._peers) > MAX_TRACKED_PEERS:
                self._peers.popitem(last=False)
            # Charge the peer first so a flooding peer does not also drain the global bucket.
            return bucket.take(now) and self._global.take(now)


class Labeller(threading.Thread):
    """Labels workers node-role.kubernetes.io/worker once they have registered.

    The kubelet may not set node-role labels on itself (NodeRestriction), so the control plane
    does it. A worker is due once it was served a join script or reported joining/joined, and
    stays due until kubectl succeeds (persisted as "labelled", so a restart does not relabel).
    Retries back off from 2 s to 30 s per node; a join or phase report for a node wakes the
    thread at once and resets that node's back-off, since registration is then imminent.
    """

    def __init__(self, service):
        super().__init__(name="labeller", daemon=True)
        self._service = service
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._poked = set()
        self._retry = {}  # node -> [next try (monotonic), next delay, tries so far]

    def poke(self, node):
        with self._lock:
            self._poked.add(node)
        self._wake.set()

    def run(self):
        while True:
            try:
                timeout = self._round()
            except Exception as e:  # keep labelling alive whatever one round hits
                log("labeller: unexpected error: %r" % e)
                timeout = LABEL_RETRY_CAP
            self._wake.wait(timeout)
            self._wake.clear()  # pokes after this point set it again; pokes before are in _poked

    def _due(self):
        nodes = self._service.state.read()["nodes"]
        due = []
        for name in self._service.workers:
            entry = nodes.get(name, {})
            wanted = entry.get("served") or entry.get("phase") in ("joining", "joined")
            if wanted and not entry.get("labelled"):
                due.append(name)
        return due

    def _round(self):
        """Try every due node whose time has come; return seconds until the next try or None."""
        with self._lock:
            poked, self._poked = self._poked, set()
        now = time.monotonic()
        for name in poked:
            tries = self._retry.get(name, [0, 0, 0])[2]
            self._retry[name] = [now, LABEL_RETRY_FIRST, tries]
        due = self._due()
        for name in list(self._retry):
            if name not in due:
                del self._retry[name]
        for name in due:
            entry = self._retry.setdefault(name, [now, LABEL_RETRY_FIRST, 0])
            if entry[0] > now:
                continue
            entry[2] += 1
            try:
                run_tool(["kubectl", "--kubeconfig", self._service.cfg["kubeconfig"], "label",
                          "node", name, "node-role.kubernetes.io/worker=", "--overwrite"],
                         what="kubectl label node %s" % name)
            except ToolError as e:
                if entry[2] & (entry[2] - 1) == 0:  # log tries 1, 2, 4, 8, ... not every one
                    log("labelling %s failed on try %d (it may not have registered yet): %s"
                        % (name, entry[2], e))
                entry[0] = time.monotonic() + entry[1]
                entry[1] = min(entry[1] * 2, LABEL_RETRY_CAP)
                continue
            self._service.state.mark_labelled(name)
            del self._retry[name]
            log("labelled %s node-role.kubernetes.io/worker" % name)
        if not self._retry:
            return None
        return max(0.0, min(e[0] for e in self._retry.values()) - time.monotonic())


class JoinService:
    """Everything the request handlers share: config, keys, nonces, limits, state."""

    def __init__(self, cfg, cluster_key):
        self.cfg = cfg
        self.workers = list(cfg["workers"])
        self.node_keys = {w: derive_node_key(cluster_key, w) for w in self.workers}
        self.admin_key = derive_admin_key(cluster_key)
        self.nonces = NonceStore()
        self.limiter = RateLimiter()
        self.throttled_log = ThrottledLog()
        self.state = StateStore(cfg["stateDir"])
        self.mint_lock = threading.Lock()  # one kubeadm token create at a time
        self.labeller = Labeller(self)

    def ca_cert_hash(self):
        """sha256 of the CA's DER SubjectPublicKeyInfo, as --discovery-token-ca-cert-hash wants."""
        ca = self.cfg["caCert"]
        if not os.path.isfile(ca):
            raise ToolError("CA certificate %s not found (has kubeadm init run?)" % ca)
        pem = run_tool(["openssl", "x509", "-in", ca, "-pubkey", "-noout"])
        der = run_tool(["openssl", "pkey", "-pubin", "-outform", "der"], input_bytes=pem)
        return "sha256:" + hashlib.sha256(der).hexdigest()

    def mint_join_script(self, node):
        """Mint a fresh bootstrap token and wrap it in a join script for this node."""
        if not self.mint_lock.acquire(timeout=KUBE_TIMEOUT):
            raise ToolError("token minting is busy")
        try:
            ca_hash = self.ca_cert_hash()  # first, so a broken CA does not waste a token
            out = run_tool(["kubeadm", "token", "create", "--ttl", self.cfg["tokenTTL"]],
                           what="kubeadm token create")
        finally:
            self.mint_lock.release()
        token = out.decode("ascii", "replace").strip()
        if not TOKEN_RE.match(token):
            # Do not log the output: it might be a token in a format we did not expect.
            raise ToolError("kubeadm token create printed something that is not a bootstrap token")
        cfg = self.cfg
        return "\n".join([
            "#!/bin/sh",
            "# pi-seed join script for %s (minted by %s; the token expires after %s)"
            % (node, cfg["master"]["name"], cfg["tokenTTL"]),
            "set -eu",
            "exec kubeadm join %s --token %s --discovery-token-ca-cert-hash %s --node-name %s"
            % (sh_quote(cfg["apiServerEndpoint"]), sh_quote(token), sh_quote(ca_hash),
               sh_quote(node)),
        ]) + "\n"


def status_document(cfg, state):
    """The status reply: the master and every worker, "unknown" for nodes never heard from."""
    nodes = state.read()["nodes"]

    def row(name, role):
        entry = nodes.get(name, {})
        return {"name": name, "role": role, "phase": entry.get("phase", "unknown"),
                "since": entry.get("since"), "error": entry.get("error")}

    return {"cluster": cfg["cluster"],
            "nodes": [row(cfg["master"]["name"], ROLE_CONTROL_PLANE)]
            + [row(w, ROLE_WORKER) for w in cfg["workers"]]}


class Refusal(Exception):
    """A request the server turns down: HTTP status, the reason sent back and logged."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


class JoinHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # but every reply closes the connection (one request each)
    server_version = "pi-seed-join/1"
    sys_version = ""
    timeout = SOCKET_TIMEOUT  # applied to the socket by StreamRequestHandler.setup

    # -- connection lifetime --

    def setup(self):
        super().setup()
        self._body_read = False
        self._declared_length = 0
        self._fresh_nonce = False
        # A per-connection deadline: the socket timeout bounds each read, this bounds them all.
        self._watchdog = threading.Timer(CONNECTION_DEADLINE, self._abort)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _abort(self):
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self):
        self._watchdog.cancel()
        with contextlib.suppress(OSError):
            super().finish()

    @property
    def service(self):
        return self.server.service

    @property
    def peer(self):
        return self.client_address[0]

    # -- http.server hooks: keep its HTML error pages and access log out --

    def log_message(self, format, *args):
        pass  # we log events ourselves, in our format

    def log_error(self, format, *args):
        self.service.throttled_log("error:" + self.peer,
                                   "connection from %s: %s" % (self.peer, format % args))

    def send_error(self, code, message=None, explain=None):
        # Used by http.server for malformed request lines/headers and unknown methods.
        reason = message or self.responses.get(code, ("error",))[0]
        self.service.throttled_log("error:" + self.peer, "refused a request from %s: %s (HTTP %d)"
                                   % (self.peer, reason, code))
        self._reply(code, {"error": reason})

    # -- replies --

    def _reply(self, status, obj, headers=None, body=None):
        if body is None:
            body = json.dumps(obj).encode("utf-8")
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            return
        if not self._body_read and self._declared_length > 0:
            self._linger()

    def _linger(self):
        """After refusing a request whose body we did not read, let the client read our reply.

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the reply before the client reads it. Discard a bounded amount for a bounded time.
        """
        with contextlib.suppress(OSError, ValueError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline = time.monotonic() + 1.0
            left = 64 * 1024
            while left > 0 and time.monotonic() < deadline:
                chunk = self.connection.recv(min(left, 8192))
                if not chunk:
                    break
                left -= len(chunk)

    def _refuse(self, refusal, context=""):
        message = "refused %s %s from %s: %s%s" % (
            self.command, _one_line(self.path, 64), self.peer, refusal.reason, context)
        if refusal.status == 429:
            self.service.throttled_log("429:" + self.peer, message)
        else:
            log(message)
        self._reply(refusal.status, {"error": refusal.reason})

    # -- request handling --

    def _method_not_allowed(self):
        if not self.service.limiter.allow(self.peer):
            self._refuse(Refusal(429, "rate limited"))
        else:
            self._refuse(Refusal(405, "method not allowed (use POST)"))

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

    def handle_expect_100(self):
        # Do not invite a body we may refuse; curl sends it anyway after a short wait.
        return True

    def do_POST(self):
        routes = {
            "/v1/nonce": self._nonce,
            "/v1/join": self._join,
            "/v1/phase": self._phase,
            "/v1/status": self._status,
        }
        length = self.headers.get("Content-Length", "")
        self._declared_length = int(length) if re.match(r"^[0-9]{1,9}$", length) else 0
        context = ""
        try:
            # Cheapest checks first, and all of them before reading the body.
            if not self.service.limiter.allow(self.peer):
                raise Refusal(429, "rate limited")
            route = routes.get(self.path)
            if route is None:
                raise Refusal(404, "unknown path")
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise Refusal(415, "content type must be application/json")
            if self.headers.get("Transfer-Encoding"):
                raise Refusal(411, "chunked bodies are not accepted; send Content-Length")
            if not re.match(r"^[0-9]{1,9}$", length):
                raise Refusal(411 if not length else 400, "missing or invalid Content-Length")
            if self._declared_length > MAX_BODY:
                raise Refusal(413, "request body larger than %d bytes" % MAX_BODY)
            body = self._read_body(self._declared_length)
            route(body)
        except Refusal as refusal:
            self._refuse(refusal, context)

    def _read_body(self, length):
        deadline = time.monotonic() + SOCKET_TIMEOUT
        data = b""
        try:
            while len(data) < length:
                if time.monotonic() > deadline:
                    raise Refusal(408, "request body too slow")
                chunk = self.rfile.read1(length - len(data))
                if not chunk:
                    raise Refusal(400, "request body shorter than Content-Length")
                data += chunk
        except (socket.timeout, OSError):
            raise Refusal(408, "timed out reading the request body")
        self._body_read = True
        # From here on the time is ours (minting may take a while), not the peer's to waste.
        self._watchdog.cancel()
        return data

    def _json_body(self, body, fields, what):
        obj = parse_json_object(body)
        if obj is None:
            raise Refusal(400, "malformed %s request: not a JSON object" % what)
        # Any use of a nonce burns it, even by a request refused for its shape, so a captured
        # nonce can never be tried twice.
        nonce = obj.get("nonce")
        self._fresh_nonce = isinstance(nonce, str) and self.service.nonces.consume(nonce)
        if not has_fields(obj, fields):
            raise Refusal(400, "malformed %s request: expected exactly the string fields %s"
                          % (what, ", ".join(fields)))
        return obj

    def _check_node(self, obj):
        """Check the node is a worker of this cluster and the nonce (already consumed) was fresh."""
        if obj["node"] not in self.service.node_keys:
            raise Refusal(403, "unknown node %s" % _one_line(obj["node"], 64))
        if not self._fresh_nonce:
            raise Refusal(403, "unknown, expired or already used nonce")
        return self.service.node_keys[obj["node"]]

    def _nonce(self, body):
        self._reply(200, {"nonce": self.service.nonces.issue()})

    def _join(self, body):
        req = self._json_body(body, ("node", "nonce", "mac"), "join")
        node_key = self._check_node(req)
        node, nonce = req["node"], req["nonce"]
        if not mac_ok(join_mac(node_key, nonce, node), req["mac"]):
            raise Refusal(403, "bad mac for node %s" % node)
        # Authenticated: only now may a token be minted.
        try:
            script = self.service.mint_join_script(node)
        except ToolError as e:
            log("could not mint a join script for %s (%s): %s" % (node, self.peer, e))
            self._reply(500, {"error": "the master could not mint a join token; see its log"})
            return
        sealed = seal(node_key, nonce, script.encode("utf-8"))
        reply = {"sealed": sealed, "mac": join_reply_mac(node_key, nonce, sealed)}
        try:
            self.service.state.record_phase(node, "joining", served=True)
        except OSError as e:
            log("cannot record the join of %s: %s" % (node, e))
        self.service.labeller.poke(node)
        log("served a join script to %s (%s); token TTL %s"
            % (node, self.peer, self.service.cfg["tokenTTL"]))
        self._reply(200, reply)

    def _phase(self, body):
        req = self._json_body(body, ("node", "nonce", "phase", "detail", "mac"), "phase")
        node_key = self._check_node(req)
        node, phase, detail = req["node"], req["phase"], req["detail"]
        if not mac_ok(phase_mac(node_key, req["nonce"], node, phase, detail), req["mac"]):
            raise Refusal(403, "bad mac for node %s" % node)
        if phase not in WORKER_PHASES:
            raise Refusal(400, "unknown phase %s" % _one_line(phase, 32))
        if len(detail) > MAX_DETAIL:
            raise Refusal(400, "detail longer than %d characters" % MAX_DETAIL)
        try:
            self.service.state.record_phase(node, phase, detail)
        except OSError as e:
            log("cannot record the phase of %s: %s" % (node, e))
            self._reply(500, {"error": "the master could not store the phase"})
            return
        if phase in ("joining", "joined"):
            self.service.labeller.poke(node)
        log("%s reports phase %s%s" % (node, phase, ": " + detail if detail else ""))
        self._reply(200, {"ok": True})

    def _status(self, body):
        req = self._json_body(body, ("nonce", "mac"), "status")
        if not self._fresh_nonce:
            raise Refusal(403, "unknown, expired or already used nonce")
        if not mac_ok(status_mac(self.service.admin_key, req["nonce"]), req["mac"]):
            raise Refusal(403, "bad mac for status (wrong cluster key?)")
        reply = json.dumps(status_document(self.service.cfg, self.service.state)).encode("utf-8")
        # The MAC header lets the desktop trust the table it shows.
        mac = status_reply_mac(self.service.admin_key, req["nonce"], reply)
        self._reply(200, None, headers={STATUS_MAC_HEADER: mac}, body=reply)


class JoinServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer with a bound on concurrent handlers, overall and per peer."""

    daemon_threads = True
    allow_reuse_address = True  # restart at once after a crash, despite TIME_WAIT
    request_queue_size = 64

    def __init__(self, service, address, port):
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.service = service
        self._slots = threading.BoundedSemaphore(MAX_HANDLERS)
        self._peer_lock = threading.Lock()
        self._per_peer = {}
        super().__init__((address, port), JoinHandler)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can hang on
        # a Pi with no resolver yet. We never need the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        peer = client_address[0]
        with self._peer_lock:
            busy = self._per_peer.get(peer, 0) >= MAX_HANDLERS_PER_PEER
            if not busy and self._slots.acquire(blocking=False):
                self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
            else:
                busy = True
        if busy:
            # Dropping the connection costs us nothing; a legitimate client retries.
            self.service.throttled_log("busy:" + peer, "refused a connection from %s: too many "
                                       "concurrent connections" % peer)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the handler thread
        except Exception:
            self._release(peer)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(client_address[0])

    def _release(self, peer):
        with self._peer_lock:
            count = self._per_peer.get(peer, 1) - 1
            if count > 0:
                self._per_peer[peer] = count
            else:
                self._per_peer.pop(peer, None)
            self._slots.release()


# --- the client side ---------------------------------------------------------------------------


class Transient(Exception):
    """The try failed in a way a later try may not (master down, busy, refusing)."""


class Unverified(Exception):
    """A reply that failed verification: discarded, never written or run."""


def post_json(host, port, path, obj, timeout):
    """POST a JSON object; return (HTTP status, reply object, headers). Raises Transient."""
    body = json.dumps(obj).encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body,
                     headers={"Content-Type": "application/json", "Connection": "close"})
        resp = conn.getresponse()
        data = resp.read(MAX_REPLY + 1)
        if len(data) > MAX_REPLY:
            raise Transient("reply to %s larger than %d bytes" % (path, MAX_REPLY))
        reply = parse_json_object(data)
        if reply is None:
            raise Transient("reply to %s is not a JSON object (HTTP %d)" % (path, resp.status))
        return resp.status, reply, resp
    except (OSError, http.client.HTTPException) as e:
        raise Transient("master %s:%d not reachable (%s)" % (host, port,
                                                             str(e) or e.__class__.__name__))
    finally:
        conn.close()


def _refused(path, status, reply):
    reason = reply.get("error") if isinstance(reply.get("error"), str) else "no reason given"
    return "master refused %s (HTTP %d: %s)" % (path, status, _one_line(reason, 200))


def get_nonce(cfg, timeout):
    master = cfg["master"]
    status, reply, _ = post_json(master["address"], master["port"], "/v1/nonce", {}, timeout)
    if status != 200:
        raise Transient(_refused("the nonce request", status, reply))
    nonce = reply.get("nonce")
    if not isinstance(nonce, str) or not HEX64_RE.match(nonce):
        raise Transient("master sent a malformed nonce")
    return nonce


def fetch_once(cfg, node_key):
    """One try: nonce, join request, verified reply. Returns the join script text."""
    master, node = cfg["master"], cfg["node"]
    nonce = get_nonce(cfg, CLIENT_TIMEOUT)
    request = {"node": node, "nonce": nonce, "mac": join_mac(node_key, nonce, node)}
    status, reply, _ = post_json(master["address"], master["port"], "/v1/join", request,
                                 CLIENT_TIMEOUT)
    if status != 200:
        hint = ""
        if status == 403 and "bad mac" in str(reply.get("error")):
            hint = "; this card's node key does not match the cluster key (rebuild with pi-seed)"
        raise Transient(_refused("the join request", status, reply) + hint)
    sealed, mac = reply.get("sealed"), reply.get("mac")
    if not isinstance(sealed, str) or not re.match(r"^([0-9a-f]{2})+$", sealed):
        raise Unverified("join reply is malformed")
    if not mac_ok(join_reply_mac(node_key, nonce, sealed), mac):
        raise Unverified("join reply MAC does not verify (not from our master, or altered)")
    try:
        script = unseal(node_key, nonce, sealed).decode("utf-8")
    except UnicodeDecodeError:
        raise Unverified("join reply does not decode")
    if not script.startswith("#!/bin/sh\n"):
        raise Unverified("join reply is not a shell script")
    return script


def backoff_delay(attempt, cap):
    """Capped exponential back-off with full jitter: spreads workers that boot together."""
    ceiling = min(cap, BACKOFF_BASE * (2 ** min(attempt, 30)))
    return random.uniform(0, ceiling)


def cmd_fetch(args):
    cfg = _config_or_none(args.config)
    if cfg is None:
        return EXIT_BAD_CONFIG
    try:
        node_key = load_key(cfg["keyFile"])
    except KeyFileError as e:
        report_key_problem(e)
        return EXIT_NO_KEY
    master = cfg["master"]
    started = time.monotonic()
    attempt = 0
    log("fetching a join script for %s from %s (%s:%d)" % (
        cfg["node"], master["name"], master["address"], master["port"]))
    while True:
        attempt += 1
        try:
            script = fetch_once(cfg, node_key)
        except (Transient, Unverified) as e:
            kind = "discarded an unverified reply: " if isinstance(e, Unverified) else ""
            problem = "try %d failed: %s%s" % (attempt, kind, e)
        else:
            try:
                write_atomically(args.out, script.encode("utf-8"), 0o700)
            except OSError as e:
                log("try %d: cannot write the join script to %s: %s" % (attempt, args.out, e))
                return EXIT_FAILED
            log("try %d: got a verified join script from %s, written to %s" % (
                attempt, master["name"], args.out))
            return EXIT_OK
        elapsed = time.monotonic() - started
        if args.max_tries is not None and attempt >= args.max_tries:
            log(problem + "; giving up after %d tries" % attempt)
            return EXIT_FAILED
        delay = backoff_delay(attempt - 1, cfg["backoffCapSeconds"])
        if args.max_seconds is not None:
            remaining = args.max_seconds - elapsed
            if remaining <= 0:
                log(problem + "; giving up after %.0f s" % elapsed)
                return EXIT_FAILED
            delay = min(delay, remaining)
        log(problem + "; next try in %.1f s" % delay)
        time.sleep(delay)


def cmd_report(args):
    """Report a phase. Best effort by design: whatever happens, exit 0."""
    try:
        _report(args)
    except Exception as e:  # never let a report stop the bootstrap that called it
        log("report %s: unexpected error: %r" % (args.phase, e))
    return EXIT_OK


def _report(args):
    cfg = _config_or_none(args.config)
    if cfg is None:
        return
    node, phase, detail = cfg["node"], args.phase, args.detail or ""
    detail = _one_line(detail, MAX_DETAIL)
    allowed = CONTROL_PLANE_PHASES if cfg["role"] == ROLE_CONTROL_PLANE else WORKER_PHASES
    if phase not in allowed:
        log("report: %s is not a %s phase (%s); not reported" % (
            phase, cfg["role"], ", ".join(allowed)))
        return
    message = "%s: phase %s%s" % (node, phase, ": " + detail if detail else "")
    log(message)
    console(message)

    if cfg["role"] == ROLE_CONTROL_PLANE:
        # The join service may not be running yet (it starts after kubeadm init): write the
        # state file it serves from directly.
        try:
            StateStore(cfg["stateDir"]).record_phase(node, phase, detail)
        except OSError as e:
            log("report: cannot store phase %s in %s: %s" % (phase, cfg["stateDir"], e))
        return

    try:
        node_key = load_key(cfg["keyFile"])
    except KeyFileError as e:
        report_key_problem(e)
        return
    master = cfg["master"]
    deadline = time.monotonic() + REPORT_DEADLINE
    for attempt in range(1, REPORT_TRIES + 1):
        try:
            nonce = get_nonce(cfg, REPORT_TIMEOUT)
            request = {"node": node, "nonce": nonce, "phase": phase, "detail": detail,
                       "mac": phase_mac(node_key, nonce, node, phase, detail)}
            status, reply, _ = post_json(master["address"], master["port"], "/v1/phase", request,
                                         REPORT_TIMEOUT)
            if status == 200:
                return
            problem = _refused("the phase report", status, reply)
            if 400 <= status < 500 and status not in (403, 408, 429):
                log("report %s: %s; not retrying" % (phase, problem))
                return  # a retry would be refused the same way
        except Transient as e:
            problem = str(e)
        if attempt == REPORT_TRIES or time.monotonic() + attempt > deadline:
            log("report %s: not delivered to the master (%s); carrying on" % (phase, problem))
            return
        time.sleep(attempt)


def cmd_serve(args):
    cfg = _config_or_none(args.config)
    if cfg is None:
        return EXIT_BAD_CONFIG
    if cfg["role"] != ROLE_CONTROL_PLANE:
        log("serve: this node's role is %s; only the control plane serves joins" % cfg["role"])
        return EXIT_BAD_CONFIG
    try:
        cluster_key = load_key(cfg["keyFile"])
    except KeyFileError as e:
        report_key_problem(e)
        return EXIT_NO_KEY
    service = JoinService(cfg, cluster_key)
    address, port = cfg["master"]["address"], cfg["master"]["port"]
    try:
        server = JoinServer(service, address, port)
    except OSError as e:
        # Often the address is not configured yet; systemd restarts us (Restart=always).
        log("serve: cannot listen on %s:%d: %s" % (address, port, e))
        return EXIT_FAILED

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    service.labeller.start()  # labels anything left due before a restart
    log("serving joins for cluster %s on %s:%d (%d workers)" % (
        cfg["cluster"], address, port, len(service.workers)))
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log("serve: stopped")
    return EXIT_OK


def format_table(nodes):
    columns = ("NODE", "ROLE", "PHASE", "SINCE", "ERROR")
    rows = [columns] + [tuple(_one_line(v if v is not None else "-") for v in (
        n["name"], n["role"], n["phase"], n["since"], n["error"])) for n in nodes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def cmd_status(args):
    cfg = _config_or_none(args.config)
    if cfg is None:
        return EXIT_BAD_CONFIG
    document = status_document(cfg, StateStore(cfg["stateDir"]))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(format_table(document["nodes"]))
    return EXIT_OK


def _config_or_none(path):
    """Load the config and point the log at its log file; log and return None on error."""
    global _log_file
    try:
        cfg = load_config(path)
    except ConfigError as e:
        log(str(e))
        return None
    _log_file = cfg["logFile"]
    return cfg


def build_parser():
    parser = argparse.ArgumentParser(
        prog="pi_seed_join.py",
        description="pi-seed join service (serve) and client (fetch, report, status).")
    parser.add_argument("--version", action="version", version="pi-seed-join protocol v1")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("serve", help="run the join service (control plane)")
    p.add_argument("--config", required=True, help="path of join.json")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("fetch", help="fetch and verify this worker's join script")
    p.add_argument("--config", required=True, help="path of join.json")
    p.add_argument("--out", required=True, help="where to write the verified script (mode 0700)")
    p.add_argument("--max-tries", type=int, default=None, help="give up after N tries (tests)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="give up after S seconds (tests)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("report", help="report a bootstrap phase (best effort, exits 0)")
    p.add_argument("--config", required=True, help="path of join.json")
    p.add_argument("phase", help="worker: %s; control plane: %s" % (
        ", ".join(WORKER_PHASES), ", ".join(CONTROL_PLANE_PHASES)))
    p.add_argument("detail", nargs="?", default="", help="the reason, for failed")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="print the phases stored on this control plane")
    p.add_argument("--config", required=True, help="path of join.json")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_status)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
