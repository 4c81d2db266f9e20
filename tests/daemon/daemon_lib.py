"""What the ftharnessd system tests share: a scratch directory, ftpa with development
PKIs, ftsim chips, a station configuration, the daemon and a control-socket client."""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time


HANDLER_INFO, HANDLER_NEXT_CHIP = 7, 8  # simlink ops (docs/ftsim.md)


def handler_call(path, op, payload=b""):
    """One simlink request on a chip row's handler socket (ftsim's or ftdi_testbed's);
    returns the reply payload, raises when refused."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(struct.pack("<IB", 1 + len(payload), op) + payload)

        def take(n):
            got = b""
            while len(got) < n:
                chunk = s.recv(n - len(got))
                if not chunk:
                    raise EOFError("the handler socket closed")
                got += chunk
            return got

        length, status = struct.unpack("<IB", take(5))
        body = take(length - 1)
        if status != 0:
            raise RuntimeError("handler request %d refused: %s" % (op, body.decode(errors="replace")))
        return body


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, what, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + str(detail)) if detail != "" else ""))
        sys.stdout.flush()
        return cond

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


class Station:
    """Programs, scratch directory and the processes started (stopped by close())."""

    def __init__(self, argv):
        (self.ftharnessd, self.ftharness, self.ftsim, self.ftpa, self.skus, self.work,
         self.plugins, self.test_plugins) = [os.path.abspath(a) for a in argv[:8]]
        # ftdi_testbed (tests/usb), when the daemon is to run beside emulated FTDI adapters.
        self.testbed = os.path.abspath(argv[8]) if len(argv) > 8 and argv[8] else None
        self.ftdi_chip = None
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.procs = []
        self.chips = {}
        self.daemon = None
        self.password = self.path("pw")
        with open(self.password, "w") as f:
            f.write("daemon-test-password\n")
        os.chmod(self.password, 0o600)

    def path(self, *names):
        return os.path.join(self.work, *names)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(120 if os.environ.get("FTH_DAEMON_WRAPPER") else 10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    # ---- the endorsement service --------------------------------------------------------
    def service_init(self, skus=("sival", "emulation_tpm")):
        for sku in skus:
            extra = (["--hash-order", "UDS,CDI_0,CDI_1,TPM EK"] if sku == "emulation_tpm"
                     else ["--no-ext"])
            subprocess.run([self.ftpa, "init", "--config-dir", self.path("pa"), "--sku", sku,
                            "--password-file", self.password, "--boot-message",
                            "Bare metal PASS!"] + extra, check=True, stdout=subprocess.DEVNULL)

    def service_start(self, port=0, extra=()):
        """ftpa on `port` (0: a free one); sets and returns self.port, the service's port.
        With FT_PA_TRANSPORT=grpc the service the daemon is given is tests/pa/grpc_pa.py
        (python3-grpcio, modules in FT_PA_PY_DIR) on that port, forwarding to ftpa."""
        grpc = os.environ.get("FT_PA_TRANSPORT") == "grpc"
        if grpc and subprocess.run(["/usr/bin/python3", "-c", "import grpc, google.protobuf"],
                                   stderr=subprocess.DEVNULL).returncode != 0:
            print("needs python3-grpcio and python3-protobuf for the gRPC transport; skipping")
            sys.exit(77)
        log = open(self.path("ftpa.log"), "a")
        ftpa_port = getattr(self, "ftpa_port", 0) if grpc else port
        self.pa = self.spawn([self.ftpa, "serve", "--config-dir", self.path("pa"), "--db",
                              self.path("registry.db"), "--listen", "127.0.0.1:%d" % ftpa_port]
                             + list(extra), stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.pa.stdout.readline()
        self.port = self.ftpa_port = int(line.split(" (")[0].rsplit(":", 1)[1])
        self.scheme = "http"
        if grpc:
            bridge = os.path.join(os.path.dirname(self.skus), "tests", "pa", "grpc_pa.py")
            self.grpc_pa = self.spawn(
                ["/usr/bin/python3", bridge, "--py-dir", os.environ["FT_PA_PY_DIR"], "--ftpa",
                 "http://127.0.0.1:%d" % self.ftpa_port, "--port", str(port),
                 "--log", self.path("grpc-calls.log")],
                stdout=subprocess.PIPE, stderr=open(self.path("grpc_pa.log"), "a"), text=True)
            self.port = int(self.grpc_pa.stdout.readline().rsplit(":", 1)[1])
            self.scheme = "grpc"
        return self.port

    def service_stop(self):
        for p in (self.pa, getattr(self, "grpc_pa", None)):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)

    def registry_count(self):
        out = subprocess.run([self.ftpa, "export", "--db", self.path("registry.db")],
                             capture_output=True, text=True, check=True).stdout
        return len([l for l in out.splitlines() if l.strip()])

    # ---- chips ----------------------------------------------------------------------------
    def chip(self, name, link, sku="sival", seed=1, extra=()):
        """A row of ftsim chips (--duts 0) for a site; returns the console text."""
        was = open(self.path("pa", sku, "was-seed.hex")).read().strip()
        # Each site's row of chips has a lot of its own: their device IDs never collide.
        argv = [self.ftsim, "--sku", os.path.join(self.skus, sku + ".json"), "--seed",
                str(seed), "--lot", str(100 + seed), "--duts", "0", "--was-seed", was] + list(extra)
        if link == "pty":
            argv += ["--pty"]
        else:
            sock = self.path("chip-%s.sock" % name)
            if os.path.exists(sock):
                os.unlink(sock)
            argv += ["--socket", sock]
            if link == "uart-sim":
                argv += ["--console", "uart"]
        log = open(self.path("ftsim-%s.log" % name), "a")
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=log, text=True)
        first = p.stdout.readline().split()
        self.chips[name] = p
        return "uart:%s" % first[2] if link == "pty" else "%s:%s" % (link, first[2])

    def next_chip(self, name, faults=""):
        """The handler's part on a socket chip: the next chip of the row goes in, with
        `faults` (ftsim --fault specs) of its own."""
        handler_call(self.path("chip-%s.sock" % name), HANDLER_NEXT_CHIP, faults.encode())

    def chip_info(self, name):
        """The model's view of the chip in the socket (ftsim INFO): step, certs_received..."""
        return json.loads(handler_call(self.path("chip-%s.sock" % name), HANDLER_INFO))

    # ---- the daemon -----------------------------------------------------------------------
    def write_config(self, sites, **over):
        records = self.path("records")
        os.makedirs(records, mode=0o700, exist_ok=True)
        os.makedirs(os.path.join(records, "spool"), mode=0o700, exist_ok=True)
        cfg = {
            "sites": sites,
            "service": {"url": "%s://127.0.0.1:%d" % (self.scheme, self.port),
                        "password_file": self.password},
            "sku_dir": self.path("skus"),
            "plugin_dir": self.path("plugins"),
            "runner": os.path.join(os.path.dirname(self.ftharness), "ftharness-plugin-runner"),
            "record_dir": records,
            "control": {"socket": self.path("ctl.sock")},
            "dut_deadline_s": 60,
            "plugin_deadline_ms": 2000,
        }
        cfg.update(over)
        self.config = self.path("ftharnessd.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=1)
        return cfg

    def sku_dir(self, variants=()):
        """SKU files the daemon serves: the shipped sival and emulation_tpm, plus
        (file name, base SKU, plugin) variants; plugins: noop and the test ones asked for."""
        os.makedirs(self.path("skus"), mode=0o755, exist_ok=True)
        os.makedirs(self.path("plugins"), mode=0o755, exist_ok=True)
        for sku in ("sival", "emulation_tpm"):
            shutil.copy(os.path.join(self.skus, sku + ".json"), self.path("skus", sku + ".json"))
        shutil.copy(os.path.join(self.plugins, "noop.so"), self.path("plugins", "noop.so"))
        for name, base, plugin in variants:
            text = open(os.path.join(self.skus, base + ".json")).read()
            with open(self.path("skus", name + ".json"), "w") as f:
                f.write(text.replace('"name": "noop"', '"name": "%s"' % plugin))
            shutil.copy(os.path.join(self.test_plugins, plugin + ".so"),
                        self.path("plugins", plugin + ".so"))

    def ftdi(self, name, sku="sival", seed=1):
        """A chip row behind an emulated FT2232H "FTA1" for site `name`: the daemon then runs
        under ftdi_testbed (umockdev), whose handler socket takes NEXT_CHIP like ftsim's."""
        was = open(self.path("pa", sku, "was-seed.hex")).read().strip()
        self.ftdi_chip = [self.testbed, "--adapter", "FTA1", "--sku",
                          os.path.join(self.skus, sku + ".json"), "--seed", str(seed), "--lot",
                          str(100 + seed), "--duts", "0", "--was-seed", was, "--handler-socket",
                          self.path("chip-%s.sock" % name), "--"]
        return "ftdi:FTA1"

    def start_daemon(self, wait_ready=True, env=None):
        self.daemon_log = open(self.path("ftharnessd.log"), "a")
        wrapper = os.environ.get("FTH_DAEMON_WRAPPER", "").split()
        self.daemon = self.spawn((self.ftdi_chip or []) + wrapper +
                                 [self.ftharnessd, "--config", self.config],
                                 stderr=self.daemon_log, env=env)
        if wait_ready:
            self.wait_sites(lambda s: s["state"] == "idle")
        return self.daemon

    def supervisor_pid(self):
        """The daemon's supervisor: the process started, or its child under ftdi_testbed."""
        if self.ftdi_chip is None:
            return self.daemon.pid
        for pid in os.listdir("/proc"):
            try:
                stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
                cmd = open("/proc/%s/cmdline" % pid, "rb").read()
            except (OSError, ValueError):
                continue
            if int(stat[1]) == self.daemon.pid and self.ftharnessd.encode() in cmd:
                return int(pid)
        return None

    def wait_sites(self, pred, timeout=30):
        """Asks `status` until every site satisfies pred (the daemon's own view)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                st = self.request({"cmd": "status"})[-1]
                if st.get("event") == "reply" and all(pred(s) for s in st["sites"]):
                    return st
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("sites not ready in %ds: %s" % (timeout, open(self.path("ftharnessd.log")).read()[-2000:]))

    def wait_spool_drained(self, timeout):
        """Asks `status` until the spool is empty (every PASS reached the service) or
        `timeout` seconds passed; returns the spool's last state ({} if none came)."""
        end = time.monotonic() + timeout
        spool = {}
        while True:
            try:
                spool = self.request({"cmd": "status"})[-1].get("spool", spool)
            except OSError:
                pass  # the daemon is restarting
            if spool.get("depth", 1) == 0 or time.monotonic() >= end:
                return spool
            time.sleep(0.05)

    def worker_pid(self, site):
        supervisor = self.supervisor_pid()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == supervisor and b"--site" in cmd and \
                    cmd[cmd.index(b"--site") + 1] == site.encode():
                return int(pid)
        return None

    def uploader_pid(self):
        supervisor = self.supervisor_pid()
        for pid in os.listdir("/proc"):
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
            except (OSError, ValueError):
                continue
            if int(stat[1]) == supervisor and b"--uploader" in cmd:
                return int(pid)
        return None

    # ---- the control socket ---------------------------------------------------------------
    def connect(self):
        return Control(self.path("ctl.sock"))

    def request(self, obj, until=("reply", "error", "result")):
        with self.connect() as c:
            return c.call(obj, until)


class Control:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(path)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.sock.close()

    def send(self, obj):
        line = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\n")

    def event(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def events(self, until=("reply", "error", "result")):
        out = []
        while True:
            ev = self.event()
            out.append(ev)
            if ev.get("event") in until:
                return out

    def call(self, obj, until=("reply", "error", "result")):
        self.send(obj)
        return self.events(until)
