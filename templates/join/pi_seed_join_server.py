#!/usr/bin/env python3
"""pi-seed join service: runs on the control plane only (`pi_seed_join.py serve`).

Hands out nonces, mints a bootstrap token for an authenticated worker and answers with a
sealed, MAC'd join script, stores phase reports, answers the desktop's `pi-seed status`, and
labels workers once they register. Installed only on the control plane, so a worker's card
does not carry it; pi_seed_join.py imports it for `serve` and `status`.

Exit codes of `serve`: 0 stopped; 1 could not listen; 3 key file missing, unreadable or
malformed; 4 config file missing or invalid. 3 and 4 are problems a restart cannot fix, so its
systemd unit sets RestartPreventExitStatus=3 4 and does not crash-loop.
"""

import collections
import contextlib
import datetime
import fcntl
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import subprocess
import threading
import time

from pi_seed_join_core import (
    EXIT_OK, EXIT_FAILED, EXIT_NO_KEY, EXIT_BAD_CONFIG, ROLE_CONTROL_PLANE, ROLE_WORKER,
    WORKER_PHASES, MAX_DETAIL, STATUS_MAC_HEADER, one_line, log, KeyFileError, load_key,
    report_key_problem, derive_node_key, derive_admin_key, join_mac, join_reply_mac, phase_mac,
    status_mac, status_reply_mac, mac_ok, seal, write_atomically, parse_json_object, has_fields,
    config_or_none,
)

# --- bounds ---------------------------------------------------------------------------------

STATE_API_VERSION = "pi-seed/state/v1"

# They keep a LAN attacker (or a confused node) from exhausting the master's memory, threads or
# CPU, and are generous for legitimate traffic (a worker sends about one request per second at
# most; `pi-seed status --watch` two every couple of seconds).
MAX_BODY = 4096  # request bytes; checked against Content-Length before reading
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

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")


# --- small helpers ------------------------------------------------------------------------------


def utc_now():
    """The master's wall-clock time, for display only (it may be wrong before NTP syncs)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sh_quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


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
            what, done.returncode, ": " + one_line(first[0], 200) if first else ""))
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
            self.command, one_line(self.path, 64), self.peer, refusal.reason, context)
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
        """Check the node is a worker of this cluster and that its nonce (consumed) was fresh."""
        if obj["node"] not in self.service.node_keys:
            raise Refusal(403, "unknown node %s" % one_line(obj["node"], 64))
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
            raise Refusal(400, "unknown phase %s" % one_line(phase, 32))
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


# --- commands ---------------------------------------------------------------------------------


def cmd_serve(args):
    cfg = config_or_none(args.config)
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
    rows = [columns] + [tuple(one_line(v if v is not None else "-") for v in (
        n["name"], n["role"], n["phase"], n["since"], n["error"])) for n in nodes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def cmd_status(args):
    cfg = config_or_none(args.config)
    if cfg is None:
        return EXIT_BAD_CONFIG
    document = status_document(cfg, StateStore(cfg["stateDir"]))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(format_table(document["nodes"]))
    return EXIT_OK
