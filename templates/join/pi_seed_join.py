#!/usr/bin/env python3
"""pi-seed join client and command line.

Installed on every node at /usr/local/lib/pi-seed/pi_seed_join.py, with pi_seed_join_core.py
beside it and, on the control plane only, pi_seed_join_server.py. docs/join-protocol.md in the
pi-seed repository describes the protocol.

  fetch   (worker) polls the master until it gets a join script whose MAC verifies, then
          writes it to --out (mode 0700). Nothing unverified is ever written.
  report  (any node) reports a bootstrap phase. Best effort: always exits 0.
  serve   (control plane) the join service, in pi_seed_join_server.py.
  status  (control plane) prints the phases stored on this machine (a debugging aid).

Exit codes: 0 success; 1 fetch gave up (only with --max-tries/--max-seconds) or serve could not
listen; 2 usage error, or `status` on a node without the server module; 3 key file missing,
unreadable or malformed; 4 config file missing or invalid, or `serve` on a node without the
server module (its unit does not restart on 3 or 4).
"""

import argparse
import http.client
import json
import random
import re
import sys
import time

from pi_seed_join_core import (
    EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_KEY, EXIT_BAD_CONFIG, ROLE_CONTROL_PLANE,
    WORKER_PHASES, CONTROL_PLANE_PHASES, MAX_DETAIL, HEX64_RE, one_line, log, console,
    KeyFileError, load_key, report_key_problem, join_mac, join_reply_mac, phase_mac, mac_ok,
    unseal, write_atomically, parse_json_object, config_or_none,
)

# --- bounds ---------------------------------------------------------------------------------

MAX_REPLY = 64 * 1024  # reply bytes a client accepts
CLIENT_TIMEOUT = 10.0  # fetch: per socket operation
REPORT_TIMEOUT, REPORT_TRIES, REPORT_DEADLINE = 3.0, 3, 10.0
BACKOFF_BASE = 1.0


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
    return "master refused %s (HTTP %d: %s)" % (path, status, one_line(reason, 200))


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
    cfg = config_or_none(args.config)
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
    cfg = config_or_none(args.config)
    if cfg is None:
        return
    node, phase, detail = cfg["node"], args.phase, args.detail or ""
    detail = one_line(detail, MAX_DETAIL)
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
        server = _server_module()
        if server is None:
            log("report: %s; phase %s not stored" % (NO_SERVER, phase))
            return
        try:
            server.StateStore(cfg["stateDir"]).record_phase(node, phase, detail)
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


# --- the control plane's commands, in pi_seed_join_server.py ----------------------------------

NO_SERVER = ("pi_seed_join_server.py is not installed beside pi_seed_join.py (pi-seed installs "
             "the join service on the control plane only)")


def _server_module():
    """The join service's module, or None on a node without it (every worker)."""
    try:
        import pi_seed_join_server
    except ImportError as e:
        if e.name != "pi_seed_join_server":
            raise  # the module is there but broken: show the real error
        return None
    return pi_seed_join_server


def cmd_serve(args):
    server = _server_module()
    if server is None:
        log("serve: " + NO_SERVER)
        return EXIT_BAD_CONFIG  # a restart cannot fix it: the unit does not restart on 4
    return server.cmd_serve(args)


def cmd_status(args):
    server = _server_module()
    if server is None:
        log("status: " + NO_SERVER)
        return EXIT_USAGE
    return server.cmd_status(args)


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
