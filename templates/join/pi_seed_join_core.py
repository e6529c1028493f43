#!/usr/bin/env python3
"""pi-seed join protocol: what the client and the join service share.

Python 3 standard library only (Ubuntu 20.04's Python 3.8 up to 3.13). Installed on every node
at /usr/local/lib/pi-seed/, beside pi_seed_join.py (the command line and the client) and, on
the control plane only, pi_seed_join_server.py (the join service). docs/join-protocol.md in
the pi-seed repository describes the protocol.

Here: the constants both ends agree on, logging, the config (join.json) and key files, and the
key derivation, MACs and sealing (mirrored in src/join/protocol.ts).

No wall clock is used for any decision: a Raspberry Pi has no RTC and its clock is wrong until
NTP syncs. Nonce lifetimes and back-off use time.monotonic().
"""

import contextlib
import hashlib
import hmac
import json
import os
import re
import sys
import tempfile
import threading

# --- constants ----------------------------------------------------------------------------

CONFIG_API_VERSION = "pi-seed/join/v1"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_NO_KEY = 3
EXIT_BAD_CONFIG = 4

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"
WORKER_PHASES = ("preparing", "waiting-for-clock", "waiting-for-master", "joining", "joined", "failed")
CONTROL_PLANE_PHASES = ("preparing", "waiting-for-clock", "initialising", "ready", "failed")

MAX_DETAIL = 512  # characters in a phase report's detail

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
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


def one_line(text, limit=300):
    """Make untrusted or multi-line text safe for a one-line log entry."""
    text = "".join(c if " " <= c < "\x7f" or c > "\x9f" else "?" for c in str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def log(message):
    """One line per event, to stderr (the journal under systemd) and the node's log file.

    Callers never pass a key, MAC, nonce, token or join script: only names, addresses, phases
    and reasons.
    """
    line = "pi-seed-join: " + one_line(message, 1000) + "\n"
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
        os.write(fd, ("pi-seed: " + one_line(message, 1000) + "\r\n").encode("utf-8", "replace"))
    except OSError:
        pass
    finally:
        os.close(fd)


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
    # Only the control plane needs the list of workers (to know whose keys to derive); a
    # worker's join.json leaves it out, so a worker's card does not grow with the cluster.
    if cfg["role"] == ROLE_WORKER:
        cfg.setdefault("workers", [])
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


def config_or_none(path):
    """Load the config and point the log at its log file; log and return None on error."""
    global _log_file
    try:
        cfg = load_config(path)
    except ConfigError as e:
        log(str(e))
        return None
    _log_file = cfg["logFile"]
    return cfg
