#!/usr/bin/python3
"""System test of ftpa serve under connection exhaustion: per-peer and global connection
limits answered with 503, the idle timeout, the request timeout.

usage: test_ftpa_limits.py FTPA SCRATCH_DIR

The finding it guards: about 1011 slow connections (the select() limit of libmicrohttpd)
made every other client fail. Here one address, 127.0.0.2, opens FLOOD connections that
each send half a request header and stall; then
  (a) a client from 127.0.0.1 still gets its answer promptly,
  (b) one more connection from 127.0.0.2 gets 503 with a google.rpc.Status body
      {"code":14,...} naming the per-peer limit, and the server closes it,
  (c) the server closes every stalled connection once the idle timeout has passed,
  (d) a request that trickles in (headers, or a body) is closed at the request timeout,
  (e) over the global limit a client from a fresh address gets 503 naming that limit,
  (f) a kept-alive connection carries a second request.

Uses loopback only (the whole 127.0.0.0/8 is local on Linux, so a client can bind() to
127.0.0.2 before connect()). Never sleeps to synchronize: it reads sockets until EOF with
a deadline, and repeats a probe until the server's state shows, with a deadline.

Each check prints one line ("ok - ..." or "FAIL - ..."); lines starting with "#" are
diagnostics. The last line is "N passed, M failed"; the exit status is non-zero when
anything failed, 77 when this interpreter or host lacks what the test needs.
"""
import sys

if sys.version_info < (3, 7):
    print("# skipped: needs Python >= 3.7, this is %s" % sys.version.split()[0])
    sys.exit(77)
try:
    import json
    import os
    import resource
    import selectors
    import shutil
    import socket
    import subprocess
    import time
except ImportError as exc:  # a stripped-down interpreter
    print("# skipped: %s" % exc)
    sys.exit(77)

PEER_LIMIT = 32  # --max-connections-per-peer (the default, given explicitly)
IDLE_S = 2  # --idle-timeout-s
REQUEST_S = 4  # --request-timeout-s
FLOOD = 1100  # stalled connections from 127.0.0.2: more than select() can hold
GLOBAL_LIMIT = 8  # --max-connections of the second server
SLACK_S = 3.0  # how late a timeout may fire on a loaded machine
PROMPT_S = 3.0  # "promptly"
PARTIAL = b"GET /ftpa/v1/devices/0x00 HTTP/1.1\r\nHost: ftpa\r\n"  # no blank line: stalls


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % name)
        else:
            self.failed += 1
            print("FAIL - %s%s" % (name, ": " + " ".join(str(detail).split()) if detail else ""))
        sys.stdout.flush()
        return bool(cond)

    @staticmethod
    def note(text):
        print("# " + text)
        sys.stdout.flush()


R = Results()

# ---- sockets --------------------------------------------------------------------------


def connect_from(source, port, timeout=PROMPT_S):
    """A TCP connection to 127.0.0.1:port from the loopback address `source`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def read_to_eof(s, deadline):
    """Everything the server sends until it closes. Returns (bytes, "eof" | "reset" |
    "timeout")."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, "timeout"
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, "timeout"
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk


def parse_response(raw):
    """(status, headers dict lower-case, body) of one HTTP/1.1 response, or None."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not sep or not lines[0].startswith("HTTP/1."):
        return None
    parts = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, body


def request(source, port, path="/ftpa/v1/devices/0x00"):
    """One GET with "Connection: close" from `source`: (status or None, headers, body, how
    the connection ended, seconds taken)."""
    started = time.monotonic()
    try:
        s = connect_from(source, port)
    except OSError as exc:
        return None, {}, b"", "connect: %s" % exc, time.monotonic() - started
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: ftpa\r\nConnection: close\r\n\r\n" % path).encode())
        raw, how = read_to_eof(s, started + PROMPT_S)
    except OSError as exc:
        raw, how = b"", "send: %s" % exc
    finally:
        s.close()
    parsed = parse_response(raw)
    if parsed is None:
        return None, {}, raw, how, time.monotonic() - started
    return parsed[0], parsed[1], parsed[2], how, time.monotonic() - started


PROBES_MAX = 20


def probe_until_503(source, port, deadline):
    """Requests from `source` until one is answered 503, at most PROBES_MAX or until the
    deadline. The server counts a connection when one of its threads takes it from the
    accept queue, so a probe may, rarely, overtake connections opened before it."""
    attempts = 0
    while True:
        attempts += 1
        answer = request(source, port)
        if answer[0] == 503 or attempts == PROBES_MAX or time.monotonic() >= deadline:
            return answer, attempts


def open_stalled(source, port, count):
    """`count` connections from `source` that send half a request header and stall. A
    connection the server refuses at once still counts: it must end like the others."""
    socks = []
    refused = 0
    for _ in range(count):
        try:
            s = connect_from(source, port)
            s.sendall(PARTIAL)
        except OSError:
            refused += 1
            continue
        socks.append(s)
    return socks, refused


def wait_all_closed(socks, deadline):
    """Reads every socket until EOF or reset; returns {socket: time.monotonic() when it
    closed} and the list of sockets still open at the deadline."""
    sel = selectors.DefaultSelector()  # epoll: more than FD_SETSIZE descriptors
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = {}
    while len(closed) < len(socks):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                closed[s] = time.monotonic()
                sel.unregister(s)
    sel.close()
    return closed, [s for s in socks if s not in closed]


# ---- the server -----------------------------------------------------------------------


# This process raises its descriptor limit for the flood; ftpa runs with the one it had.
FD_LIMIT = resource.getrlimit(resource.RLIMIT_NOFILE)


def restore_fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, FD_LIMIT)


class Server:
    def __init__(self, ftpa, args, log):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([ftpa, "serve"] + args, stdout=subprocess.PIPE,
                                     stderr=self.log, preexec_fn=restore_fd_limit)
        line = self.proc.stdout.readline().decode(errors="replace")
        self.port = None
        if "listening on 127.0.0.1:" in line:
            self.port = int(line.split("127.0.0.1:")[1].split()[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


def close_all(socks):
    for s in socks:
        s.close()


# ---- sections -------------------------------------------------------------------------


def flood_section(ftpa, base):
    server = Server(ftpa, base + ["--max-connections-per-peer", str(PEER_LIMIT),
                                  "--idle-timeout-s", str(IDLE_S),
                                  "--request-timeout-s", str(REQUEST_S)], "serve.log")
    if not R.check("ftpa serve starts with the limit options", server.port is not None):
        server.stop()
        return
    port = server.port
    stalled, refused = [], 0
    try:
        stalled, refused = open_stalled("127.0.0.2", port, PEER_LIMIT)
        first_sent = time.monotonic()
        answer, attempts = probe_until_503("127.0.0.2", port, time.monotonic() + 10)
        status, headers, body, how = answer[:4]
        R.note("%d stalled connections from 127.0.0.2, then %d probe(s)" %
               (PEER_LIMIT, attempts))
        R.check("(b) connection %d from 127.0.0.2 gets HTTP 503" % (PEER_LIMIT + 1),
                status == 503, "HTTP %s, %s: %r" % (status, how, body[:200]))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        want = "too many connections from 127.0.0.2 (limit %d)" % PEER_LIMIT
        R.check("    ... with a google.rpc.Status body, code 14, naming the limit",
                doc == {"code": 14, "message": want}, repr(body[:200]))
        R.check("    ... as JSON, with Retry-After", headers.get("content-type") ==
                "application/json" and headers.get("retry-after") == "1", repr(headers))
        R.check("    ... and the server closes that connection", how == "eof", how)

        more, more_refused = open_stalled("127.0.0.2", port, FLOOD - PEER_LIMIT)
        stalled += more
        refused += more_refused
        last_byte = time.monotonic()
        R.note("%d stalled connections from 127.0.0.2 (%d refused at connect)" %
               (FLOOD, refused))
        status, _, body, how, took = request("127.0.0.1", port)
        R.check("(a) a client from 127.0.0.1 is answered within %.0f s" % PROMPT_S,
                status == 403 and took < PROMPT_S,
                "HTTP %s after %.1f s, %s: %r" % (status, took, how, body[:120]))

        closed, still_open = wait_all_closed(stalled, last_byte + IDLE_S + REQUEST_S + SLACK_S)
        first = [closed.get(s) for s in stalled[:PEER_LIMIT]]
        early = [t for t in first if t is not None and t - first_sent < IDLE_S / 2]
        R.check("(c) the server closes all %d stalled connections, none outlives the "
                "timeouts" % len(stalled), not still_open,
                "%d still open %.0f s after their last byte" %
                (len(still_open), IDLE_S + REQUEST_S + SLACK_S))
        R.check("    ... the %d within the limit no sooner than the idle timeout" % PEER_LIMIT,
                not early, "%d closed within %.1f s" % (len(early), IDLE_S / 2))
        if closed:
            R.note("last stalled connection closed %.1f s after its last byte" %
                   (max(closed.values()) - last_byte))
        trickle_checks(port)
        keepalive_check(port)
    finally:
        close_all(stalled)
        server.stop()


def trickle_checks(port):
    """Requests that send a byte every IDLE_S/4 s: never idle, never complete."""
    header = connect_from("127.0.0.3", port)
    body = connect_from("127.0.0.3", port)
    started = time.monotonic()
    header.sendall(b"GET /ftpa/v1/devices/0x00 HTTP/1.1\r\nHost: ftpa\r\nX-Slow: ")
    body.sendall(b"POST /pa.ProvisioningApplianceService/InitSession HTTP/1.1\r\nHost: ftpa\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    ends = {header: None, body: None}
    deadline = started + REQUEST_S + SLACK_S
    sel = selectors.DefaultSelector()
    for s in ends:
        sel.register(s, selectors.EVENT_READ)
    while None in ends.values() and time.monotonic() < deadline:
        # The wait for the server's close is also the trickle's cadence.
        for key, _ in sel.select(min(IDLE_S / 4, max(0, deadline - time.monotonic()))):
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                ends[key.fileobj] = time.monotonic() - started
                sel.unregister(key.fileobj)
        for s, end in ends.items():
            if end is None:
                try:
                    s.send(b"a")
                except OSError:
                    pass
    sel.close()
    for name, s in (("headers trickle", header), ("body trickles", body)):
        end = ends[s]
        if end is not None:
            R.note("the request whose %s in was closed after %.1f s" % (name, end))
        R.check("(d) a request whose %s in is closed at the %d s request timeout" %
                (name, REQUEST_S), end is not None and REQUEST_S - 1 <= end,
                "open after %.1f s" % (REQUEST_S + SLACK_S) if end is None else
                "closed after %.1f s" % end)
        s.close()


def read_one_response(s, deadline):
    """The status of one response with a Content-Length body, leaving the connection open;
    None if it does not arrive whole by the deadline."""
    raw = b""
    while True:
        parsed = parse_response(raw)
        if parsed and len(parsed[2]) >= int(parsed[1].get("content-length", "0")):
            return parsed[0]
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        chunk = s.recv(65536)
        if not chunk:
            return None
        raw += chunk


def keepalive_check(port):
    """Two requests on one connection: the request deadline restarts after a response."""
    s = connect_from("127.0.0.1", port)
    statuses = []
    try:
        for _ in range(2):
            s.sendall(b"GET /ftpa/v1/devices/0x00 HTTP/1.1\r\nHost: ftpa\r\n\r\n")
            statuses.append(read_one_response(s, time.monotonic() + PROMPT_S))
    except OSError as exc:
        statuses.append(str(exc))
    finally:
        s.close()
    R.check("(f) a kept-alive connection is answered twice", statuses == [403, 403],
            repr(statuses))


def global_section(ftpa, base):
    server = Server(ftpa, base + ["--max-connections", str(GLOBAL_LIMIT),
                                  "--idle-timeout-s", str(IDLE_S)], "serve-global.log")
    if not R.check("ftpa serve starts with --max-connections %d" % GLOBAL_LIMIT,
                   server.port is not None):
        server.stop()
        return
    stalled = []
    try:
        half = GLOBAL_LIMIT // 2
        stalled = open_stalled("127.0.0.4", server.port, half)[0]
        stalled += open_stalled("127.0.0.5", server.port, GLOBAL_LIMIT - half)[0]
        answer, attempts = probe_until_503("127.0.0.6", server.port, time.monotonic() + 10)
        status, _, body = answer[:3]
        want = {"code": 14, "message": "too many connections to this server (limit %d)" %
                GLOBAL_LIMIT}
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        R.check("(e) over --max-connections a fresh address gets 503 naming the limit",
                status == 503 and doc == want, "HTTP %s after %d probe(s): %r" %
                (status, attempts, body[:200]))
    finally:
        close_all(stalled)
        server.stop()


def option_checks(ftpa, base):
    """Bad values are refused before the server listens, each error naming the option."""
    for args, code, text in ((["--max-connections", "0"], 2, "--max-connections"),
                             (["--idle-timeout-s", "ten"], 2, "--idle-timeout-s"),
                             (["--max-connections", "5000"], 1, "max connections 5000")):
        try:  # run() kills the server when it starts instead of refusing
            run = subprocess.run([ftpa, "serve"] + base + args, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, timeout=10)
            ok, detail = run.returncode == code and text.encode() in run.stderr, \
                "exit %d: %s" % (run.returncode, run.stderr.decode(errors="replace"))
        except subprocess.TimeoutExpired:
            ok, detail = False, "it started serving"
        R.check("ftpa serve %s is refused naming it" % " ".join(args), ok, detail)


def raise_fd_limit():
    """Room for FLOOD client sockets in this process; a smaller flood if the hard limit is
    low (the checks hold for any flood; only the exhaustion needs over 1024)."""
    global FLOOD
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FLOOD + 64
    if hard != resource.RLIM_INFINITY and hard < want:
        FLOOD = max(2 * PEER_LIMIT + 1, hard - 64)
        want = FLOOD + 64
        R.note("RLIMIT_NOFILE hard limit %d: flooding with %d connections" % (hard, FLOOD))
    if soft == resource.RLIM_INFINITY or soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main():
    if len(sys.argv) != 3:
        print("usage: test_ftpa_limits.py FTPA SCRATCH_DIR", file=sys.stderr)
        return 2
    ftpa = os.path.abspath(sys.argv[1])
    scratch = os.path.abspath(sys.argv[2])
    if not os.access(ftpa, os.X_OK):
        print("FAIL - %s is not an executable" % ftpa)
        print("0 passed, 1 failed")
        return 1
    try:
        probe = socket.socket()
        probe.bind(("127.0.0.2", 0))
        probe.close()
    except OSError as exc:
        print("# skipped: cannot bind to 127.0.0.2 (%s); this host's loopback is not /8" % exc)
        return 77
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chdir(scratch)
    started = time.monotonic()
    with open("pw", "w") as f:
        f.write("test_password\n")
    init = subprocess.run([ftpa, "init", "--config-dir", "cfg", "--sku", "sival", "--no-ext",
                           "--password-file", "pw"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=120)
    if not R.check("ftpa init", init.returncode == 0, init.stderr.decode(errors="replace")):
        print("%d passed, %d failed" % (R.passed, R.failed))
        return 1
    base = ["--config-dir", "cfg", "--db", "reg.db"]
    raise_fd_limit()
    for section in (option_checks, flood_section, global_section):
        try:
            section(ftpa, base)
        except Exception as exc:  # one failure; the other sections still run
            R.check("%s ran to its end" % section.__name__, False,
                    "%s: %s" % (type(exc).__name__, exc))
    R.note("runtime %.1f s, scratch %s" % (time.monotonic() - started, scratch))
    print("%d passed, %d failed" % (R.passed, R.failed))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
