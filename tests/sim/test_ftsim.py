#!/usr/bin/python3
"""System test of the real ftsim binary: command line, pty UART console, Unix-socket SPI
console and GPIO, ROM bootstrap, fault switches.

usage: test_ftsim.py FTSIM SCRATCH_DIR

Starts ftsim processes itself and kills them even on failure. Uses only loopback Unix
sockets and ptys in a temporary directory under SCRATCH_DIR. Never sleeps: it waits on
GPIO_WAIT, on the SPI status register, or in select() with a deadline.

Each check prints one line ("ok - ..." or "FAIL - ..."); lines starting with "#" are
diagnostics. The last line is "N passed, M failed"; the exit status is non-zero when
anything failed, 77 when this interpreter lacks what the test needs.

Protocol facts: src/wire/simlink.h; SPI console: reference transport-spi-uart-ftdi.md
section 1; perso flow and message sizes: reference opentitan-ft-flow.md sections 1, 5, 6.
"""
import sys

if sys.version_info < (3, 7):
    print("# skipped: needs Python >= 3.7, this is %s" % sys.version.split()[0])
    sys.exit(77)
try:
    import hashlib
    import json
    import os
    import re
    import select
    import shutil
    import signal
    import socket
    import struct
    import subprocess
    import tempfile
    import termios
    import time
    import zlib
except ImportError as exc:  # a stripped-down interpreter
    print("# skipped: %s" % exc)
    sys.exit(77)
if not hasattr(socket, "AF_UNIX"):
    print("# skipped: no Unix sockets in this Python")
    sys.exit(77)

# ---- protocol constants (src/wire/simlink.h) ------------------------------------------

OP_SPI_XFER, OP_GPIO_READ, OP_GPIO_WRITE, OP_GPIO_WAIT = 1, 2, 3, 4
OP_UART_READ, OP_UART_WRITE, OP_INFO, OP_NEXT_CHIP = 5, 6, 7, 8
ST_OK, ST_BAD_REQUEST, ST_TIMEOUT = 0, 1, 2
PAYLOAD_MAX = 65536

PIN_TEST_ERROR = 1 << 0
PIN_TEST_DONE = 1 << 1
PIN_TEST_START = 1 << 2
PIN_TX_READY = 1 << 3
PIN_RX_READY = 1 << 4
PIN_RESET_N = 1 << 8
PIN_STRAPS = (1 << 9) | (1 << 10) | (1 << 11)

FRAME_MAGIC = 0xA5A5BEEF
HOST_MAX_FRAME = 2036  # what the upstream host accepts
DEVICE_MAX_FRAME = 2020  # what the device emits

PERSO_BLOB_JSON_SIZE = 20535
BODY_SIZE = 5120

RMA_PROMPT = b"Waiting For RMA Unlock Token Hash ...\n"
CERTGEN_PROMPT = b"Waiting for certificate inputs ...\n"
EXPORT_PROMPT = b"Exporting TBS certificates ...\n"
IMPORT_PROMPT = b"Importing endorsed certificates ...\n"

# Key IDs sent in ManufCertgenInputs; the host CA key IDs end up as the AKI of the TBS
# certs. Three-digit DICE ids and two-digit ext ids keep the JSON within 215 bytes.
DICE_KEY_ID = bytes(range(0xD0, 0xE4))
EXT_KEY_ID = bytes(range(0x10, 0x24))
RMA_HASH = (0x1122334455667788, 0x99AABBCCDDEEFF00)

STEP_TIMEOUT = 15.0  # seconds any single device step may take (timing zero: milliseconds)

# Options and fault switches ftsim implements (src/sim/ftsim.c, src/sim/sim_config.c),
# with a value each that parses. --help must list all of them.
OPTION_SAMPLES = {
    "--socket": None,  # starts a server: not run in the parse-only check
    "--pty": None,
    "--help": None,
    "--version": None,
    "--console": ["uart"],
    "--sku": ["emulation_tpm"],
    "--firmware": ["master"],
    "--dice-ca-subject": ["/C=US/O=Test/CN=DICE"],
    "--ext-ca-subject": ["/C=US/O=Test/CN=EXT"],
    "--was-seed": ["11" * 32],
    "--was-diversifier": ["div"],
    "--perso-hash": ["ab" * 32],
    "--seed": ["4294967295"],
    "--duts": ["1000000"],
    "--year": ["9"],
    "--week": ["51"],
    "--lot": ["999"],
    "--wafer": ["99"],
    "--x": ["999"],
    "--y": ["999"],
    "--blank": [],
    "--two-stage": [],
    "--timing": ["upstream"],
    "--step-delay": ["import=7"],
    "--fault": ["bad-crc=hash"],
    "--verbose": [],
    "--otp-state": ["otp-state.txt"],
    "--upstream-der": [],
}
STEP_FAULTS = ["stall", "junk-frames", "wrong-frame-number", "reset", "disconnect",
               "truncated-response", "bad-crc", "check-fail"]
FLAG_FAULTS = ["corrupt-tlv", "oversize-object", "bad-was-hmac", "bad-hash", "test-error",
               "reject-import", "bad-boot"]
ALL_FAULTS = STEP_FAULTS + FLAG_FAULTS + ["slow"]
STEPS = ["rma", "certgen", "export", "import", "hash", "done"]

# ---- results ----------------------------------------------------------------------------


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    @staticmethod
    def _one_line(text):
        return " ".join(str(text).split())

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % self._one_line(name))
        else:
            self.failed += 1
            msg = "FAIL - %s" % self._one_line(name)
            if detail:
                msg += ": " + self._one_line(detail)
            print(msg)
        sys.stdout.flush()
        return bool(cond)

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line)
        sys.stdout.flush()


R = Results()


class TestError(Exception):
    """A step of a flow went wrong; ends the section with one failed check."""


class LinkClosed(Exception):
    """ftsim closed the socket (recv returned 0 or the connection was reset)."""


# ---- processes ---------------------------------------------------------------------------

FTSIM = None
WORK = None
PROCS = []

try:
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True)
except Exception:  # no ctypes: children are still killed by the finally blocks
    _LIBC = None


def _child_setup():
    # PR_SET_PDEATHSIG: if this test is killed outright (CTest timeout), ftsim dies too.
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)


def _on_signal(signum, frame):
    raise SystemExit("killed by signal %d" % signum)


def run_cli(args, timeout=10.0):
    """Runs ftsim to completion (parse errors, --help); returns (rc, stdout, stderr)."""
    try:
        p = subprocess.run([FTSIM] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=WORK,
                           preexec_fn=_child_setup)
    except subprocess.TimeoutExpired:
        return None, "", "still running after %.0f s (killed)" % timeout
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Ftsim:
    """One running ftsim; stdout is parsed up to its ready line, stderr goes to a file."""

    def __init__(self, name, args):
        self.name = name
        self.log_path = os.path.join(WORK, name + ".stderr")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen([FTSIM] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=self.log, cwd=WORK,
                                  preexec_fn=_child_setup)
        PROCS.append(self)
        self.lines = self._read_startup()

    def _read_startup(self):
        fd = self.p.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + STEP_TIMEOUT
        while b"ftsim: ready" not in buf or not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestError("%s: no ready line within %.0f s (stdout %r)"
                                % (self.name, STEP_TIMEOUT, buf))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                rc = self.p.wait()
                raise TestError("%s exited with %s before it was ready: %s"
                                % (self.name, rc, self.stderr_tail()))
            buf += chunk
        return buf.decode(errors="replace").splitlines()

    def line_value(self, prefix):
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        return None

    def stderr_tail(self, n=5):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])

    def terminate(self, timeout=STEP_TIMEOUT):
        """SIGTERM, then waits; returns the exit status (None if it had to be killed)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def close(self):
        self.kill()
        if self.p.stdout:
            self.p.stdout.close()
        self.log.close()


def kill_all():
    while PROCS:
        PROCS.pop().close()


# ---- socket link -----------------------------------------------------------------------


class Link:
    """A client of ftsim's socket protocol: [u32 LE len][u8 op/status][payload]."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(STEP_TIMEOUT)
        self.s.connect(path)

    def close(self):
        self.s.close()

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.s.recv(n - len(out))
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise LinkClosed(str(exc))
            if not chunk:
                raise LinkClosed("recv returned 0 after %d of %d bytes" % (len(out), n))
            out += chunk
        return out

    def send_raw(self, data):
        try:
            self.s.sendall(data)
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise LinkClosed(str(exc))

    def read_reply(self, wait=STEP_TIMEOUT):
        self.s.settimeout(wait)
        length, status = struct.unpack("<IB", self.recv_exact(5))
        if length == 0 or length - 1 > PAYLOAD_MAX:
            raise TestError("reply header with length %d" % length)
        return status, self.recv_exact(length - 1)

    def request(self, op, payload=b"", wait=STEP_TIMEOUT):
        self.send_raw(struct.pack("<IB", len(payload) + 1, op) + payload)
        return self.read_reply(wait)

    def ok(self, op, payload=b"", wait=STEP_TIMEOUT):
        status, data = self.request(op, payload, wait)
        if status != ST_OK:
            raise TestError("op %d: status %d (%r)" % (op, status, data[:200]))
        return data

    def gpio_read(self):
        return struct.unpack("<I", self.ok(OP_GPIO_READ))[0]

    def gpio_write(self, mask, value):
        return struct.unpack("<I", self.ok(OP_GPIO_WRITE, struct.pack("<II", mask, value)))[0]

    def gpio_wait(self, mask, value, timeout_ms):
        status, data = self.request(OP_GPIO_WAIT, struct.pack("<III", mask, value, timeout_ms),
                                    wait=timeout_ms / 1000.0 + STEP_TIMEOUT)
        if status not in (ST_OK, ST_TIMEOUT) or len(data) != 4:
            raise TestError("GPIO_WAIT: status %d, %d bytes" % (status, len(data)))
        return status, struct.unpack("<I", data)[0]

    def xfer(self, mosi):
        miso = self.ok(OP_SPI_XFER, bytes(mosi))
        if len(miso) != len(mosi):
            raise TestError("SPI_XFER of %d bytes returned %d" % (len(mosi), len(miso)))
        return miso

    def info(self):
        return json.loads(self.ok(OP_INFO).decode())

    def pin_reset(self, inputs=0):
        """RESET_N low then high, the other inputs at `inputs` throughout."""
        self.gpio_write(PIN_RESET_N | PIN_STRAPS, inputs & PIN_STRAPS)
        return self.gpio_write(PIN_RESET_N | PIN_STRAPS, (inputs & PIN_STRAPS) | PIN_RESET_N)

    def wait_not_busy(self, what):
        """Polls READ_STATUS 0x05 until WIP (bit 0) is clear."""
        deadline = time.monotonic() + STEP_TIMEOUT
        polls = 0
        while True:
            status = self.xfer([0x05, 0x00])[1]
            polls += 1
            if not status & 0x01:
                return status
            if time.monotonic() > deadline:
                raise TestError("%s: BUSY still set after %d status polls" % (what, polls))


class SpiConsole:
    """The OTTF SPI console in TX-ready mode: GPIO_WAIT on TX-ready, then a 12-byte header
    READ at 0 and a payload READ at 12, two CS frames. Writes: WREN, PAGE_PROGRAM (0x000,
    last chunk 0x100), poll status but after the last chunk."""

    def __init__(self, link, wait_ms=int(STEP_TIMEOUT * 1000)):
        self.link = link
        self.wait_ms = wait_ms
        self.frame_no = 0
        self.buf = b""
        self.frames = []  # (number, payload) since the last reset_frames
        self.junk = 0
        self.bad_padding = 0

    def reset_frames(self):
        self.frame_no = 0
        self.frames = []

    def read_frame(self, wait_ms=None):
        wait_ms = self.wait_ms if wait_ms is None else wait_ms
        status, pins = self.link.gpio_wait(PIN_TX_READY, PIN_TX_READY, wait_ms)
        if status == ST_TIMEOUT:
            raise TestError("no TX-ready within %d ms (pins 0x%x, console so far %r)"
                            % (wait_ms, pins, self.buf[-120:]))
        hdr = self.link.xfer(bytes([0x03, 0, 0, 0]) + bytes(12))[4:]
        magic, number, length = struct.unpack("<III", hdr)
        if magic != FRAME_MAGIC:
            self.junk += 1  # junk: ignored, as upstream does
            return
        if number != self.frame_no:
            raise TestError("frame number %d, expected %d" % (number, self.frame_no))
        if length > HOST_MAX_FRAME:
            raise TestError("frame %d: length %d > %d" % (number, length, HOST_MAX_FRAME))
        padded = (length + 3) & ~3
        data = self.link.xfer(bytes([0x03, 0, 0, 12]) + bytes(padded))[4:]
        if any(b != 0xFF for b in data[length:]):
            self.bad_padding += 1
        self.buf += data[:length]
        self.frames.append((number, data[:length]))
        self.frame_no += 1

    def wait_for(self, text):
        """Reads frames until `text` shows up; returns what came before it."""
        while text not in self.buf:
            self.read_frame()
        i = self.buf.index(text)
        before = self.buf[:i]
        self.buf = self.buf[i + len(text):]
        return before

    def read_line(self):
        return self.wait_for(b"\n") + b"\n"

    def write(self, data):
        data = bytes(data)
        for off in range(0, len(data), 256):
            chunk = data[off:off + 256]
            addr = 0x100 if off + 256 >= len(data) else 0x000
            self.link.xfer([0x06])
            self.link.xfer(bytes([0x02, addr >> 16 & 0xFF, addr >> 8 & 0xFF, addr & 0xFF]) + chunk)
            # No status read after the last chunk: the firmware may answer at once, and it
            # counts every CSB edge after raising TX-ready as the host reading its frame.
            if addr == 0x000:
                self.link.wait_not_busy("console write")


class PtyConsole:
    """The UART console on ftsim's pty, read with select() and a deadline."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        attrs = termios.tcgetattr(self.fd)
        # Raw, set with TCSANOW: TCSAFLUSH would discard output already pending.
        attrs[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                      | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
        attrs[1] &= ~termios.OPOST
        attrs[2] &= ~(termios.CSIZE | termios.PARENB)
        attrs[2] |= termios.CS8
        attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                      | termios.IEXTEN)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.buf = b""

    def close(self):
        os.close(self.fd)

    def wait_for(self, text, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestError("pty: no %r within %.0f s (have %r)" % (text, timeout,
                                                                       self.buf[-120:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise TestError("pty: end of file")
                self.buf += chunk
        i = self.buf.index(text)
        before = self.buf[:i]
        self.buf = self.buf[i + len(text):]
        return before

    def read_line(self):
        return self.wait_for(b"\n") + b"\n"

    def write(self, data):
        data = bytes(data)
        while data:
            n = os.write(self.fd, data)
            data = data[n:]


# ---- perso messages and blobs ----------------------------------------------------------


def pad_json(text, size):
    """send_with_padding: spaces before the final '}' up to `size` bytes."""
    if len(text) > size or not text.endswith("}"):
        raise TestError("cannot pad %d bytes to %d" % (len(text), size))
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def rma_messages():
    body = pad_json('{"hash":[%d,%d]}' % RMA_HASH, 52)
    crc = pad_json('{"crc":%d}' % zlib.crc32(body), 18)
    return body, crc


def certgen_inputs(version):
    text = '{"dice_auth_key_key_id":[%s],"ext_auth_key_key_id":[%s],"blob_version":%d}' % (
        ",".join(map(str, DICE_KEY_ID)), ",".join(map(str, EXT_KEY_ID)), version)
    return pad_json(text, 215)


def parse_resp_ok(line):
    """Returns (json text, crc text) of `RESP_OK:<json> CRC:<n>\\n`."""
    m = re.fullmatch(rb"RESP_OK:(.*) CRC:([0-9]+)\n", line, re.S)
    if m is None:
        raise TestError("not a RESP_OK line: %r...%r" % (line[:40], line[-40:]))
    return m.group(1), m.group(2).decode()


def der_ok(cert):
    """A DER SEQUENCE whose length covers exactly `cert`."""
    if len(cert) < 2 or cert[0] != 0x30:
        return False
    if cert[1] < 0x80:
        return 2 + cert[1] == len(cert)
    n = cert[1] & 0x7F
    if n == 0 or n > 3 or len(cert) < 2 + n:
        return False
    return 2 + n + int.from_bytes(cert[2:2 + n], "big") == len(cert)


def walk_tlv(body, version, v0_types=()):
    """Decodes a perso TLV body (opentitan-ft-flow.md section 4); raises on any defect.
    In a V1 body, an object of a type in v0_types may carry a V0 header (what the
    earlgrey-1.0.0 and master firmware write for the extension's TBS certs): it is taken as
    V0 when its V1 reading runs past the body."""
    objs = []
    pos = 0
    hl = 2 if version == 0 else 4
    if version == 1:
        if body[:4] != b"\xf0\x04\x00\x01":
            raise TestError("V1 body starts with %s, not F0 04 00 01" % body[:4].hex())
        objs.append({"type": 15, "offset": 0, "size": 4})
        pos = 4
    while pos < len(body):
        if pos + hl > len(body):
            raise TestError("object header at %d runs past next_free" % pos)
        hdr = int.from_bytes(body[pos:pos + hl], "big")
        typ, size = (hdr >> 12, hdr & 0xFFF) if version == 0 else (hdr >> 24, hdr & 0xFFFFFF)
        ohl = hl
        if version == 1 and (size < hl or pos + size > len(body)):
            h0 = int.from_bytes(body[pos:pos + 2], "big")
            if h0 >> 12 in v0_types:
                typ, size, ohl = h0 >> 12, h0 & 0xFFF, 2
        if size < ohl or pos + size > len(body):
            raise TestError("object at %d: size %d, %d bytes left" % (pos, size, len(body) - pos))
        obj = {"type": typ, "offset": pos, "size": size, "payload": body[pos + ohl:pos + size],
               "header": body[pos:pos + ohl]}
        if typ in (0, 1, 3):
            p = obj["payload"]
            crth = int.from_bytes(p[:ohl], "big")
            name_len, wrapped = ((crth >> 12, crth & 0xFFF) if ohl == 2
                                 else (crth >> 24, crth & 0xFFFFFF))
            if wrapped != len(p) or ohl + name_len > len(p):
                raise TestError("cert object at %d: wrapped %d, payload %d, name %d"
                                % (pos, wrapped, len(p), name_len))
            obj["name"] = p[ohl:ohl + name_len].decode("ascii")
            obj["cert"] = p[ohl + name_len:]
            if typ != 3 and not der_ok(obj["cert"]):
                raise TestError("%s: not one DER SEQUENCE" % obj["name"])
        objs.append(obj)
        pos += size
    return objs


def decode_export(line, version, v0_types=()):
    """Parses the exported RESP_OK line; returns (json length, crc, blob dict, objects)."""
    text, crc = parse_resp_ok(line)
    blob = json.loads(text.decode())
    body = bytes(blob["body"])
    if len(body) != BODY_SIZE:
        raise TestError("body has %d bytes" % len(body))
    if not 0 < blob["next_free"] <= BODY_SIZE:
        raise TestError("next_free %d" % blob["next_free"])
    objs = walk_tlv(body[:blob["next_free"]], version, v0_types)
    blob["body"] = body
    return len(text), crc, blob, objs


def shape(objs):
    return [(o["type"], o.get("name")) for o in objs]


def find_cert(objs, name):
    for o in objs:
        if o.get("name") == name:
            return o
    return None


# ---- sections ----------------------------------------------------------------------------


def section_cli():
    rc, out, err = run_cli(["--help"])
    R.check("--help exits 0", rc == 0, "rc %s, stderr %r" % (rc, err[:200]))
    R.check("--help prints usage on stdout", out.startswith("usage: ftsim"), repr(out[:80]))

    def mentions(word):
        return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), out) is not None

    missing = [o for o in OPTION_SAMPLES if not mentions(o)]
    R.check("--help mentions all %d options" % len(OPTION_SAMPLES), not missing,
            "missing %s" % missing)
    missing = [f for f in ALL_FAULTS if not mentions(f)]
    R.check("--help mentions all %d fault switches" % len(ALL_FAULTS), not missing,
            "missing %s" % missing)
    missing = [s for s in STEPS if not mentions(s)]
    R.check("--help names the steps %s" % " ".join(STEPS), not missing, "missing %s" % missing)

    # Everything --help lists must parse. Without --socket/--pty a good command line ends
    # in "give --socket PATH, --pty, or both" (exit 2) and starts nothing.
    NO_TRANSPORT = "give --socket PATH, --pty, or both"
    listed = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out)))
    unknown = [o for o in listed if o not in OPTION_SAMPLES]
    R.check("every option --help lists is known to this test", not unknown,
            "new options %s: add them to OPTION_SAMPLES" % unknown)
    rejected = []
    for opt in listed:
        sample = OPTION_SAMPLES.get(opt)
        if sample is None:
            continue
        rc, _, err = run_cli([opt] + sample)
        if rc != 2 or NO_TRANSPORT not in err:
            rejected.append("%s %s -> rc %s %r" % (opt, " ".join(sample), rc, err.strip()[:80]))
    R.check("every listed option parses (%d run)" % sum(OPTION_SAMPLES[o] is not None
                                                         for o in listed),
            not rejected, "; ".join(rejected))

    faults_text = out.split("Faults", 1)[-1].split("Other:", 1)[0]
    listed_faults = re.findall(r"^\s+([a-z][a-z-]*)(?:=([A-Z]+))?\s", faults_text, re.M)
    R.check("--help lists %d fault switches" % len(ALL_FAULTS),
            sorted(f for f, _ in listed_faults) == sorted(ALL_FAULTS),
            "listed %s" % [f for f, _ in listed_faults])
    rejected = []
    for name, arg in listed_faults:
        spec = name if not arg else name + ("=2" if arg == "FACTOR" else "=export")
        rc, _, err = run_cli(["--fault", spec])
        if rc != 2 or NO_TRANSPORT not in err:
            rejected.append("%s -> rc %s %r" % (spec, rc, err.strip()[:80]))
    R.check("every listed fault switch parses", not rejected, "; ".join(rejected))
    rejected = []
    for step in STEPS:
        rc, _, err = run_cli(["--step-delay", step + "=5", "--fault", "stall=" + step])
        if rc != 2 or NO_TRANSPORT not in err:
            rejected.append("%s -> rc %s %r" % (step, rc, err.strip()[:80]))
    R.check("every listed step parses in --step-delay and stall=", not rejected,
            "; ".join(rejected))

    # Bad command lines: exit 2, and the message names the problem. A socket path is given
    # so that a wrongly accepted command line would start a server (and time out here).
    sock = ["--socket", os.path.join(WORK, "never.sock")]
    bad = [
        ("unknown option", ["--bogus"], "bogus"),
        ("unknown fault", ["--fault", "gremlins"], 'unknown fault "gremlins"'),
        ("fault step unknown", ["--fault", "stall=lunch"], 'unknown step "lunch"'),
        ("step fault without a step", ["--fault", "reset"], "needs a step"),
        ("flag fault with a step", ["--fault", "bad-hash=export"], "takes no step"),
        ("slow factor 1", ["--fault", "slow=1"], "2..10000"),
        ("--seed letters", ["--seed", "abc"], '--seed: "abc"'),
        ("--seed negative", ["--seed", "-1"], '--seed: "-1"'),
        ("--seed 2^32", ["--seed", "4294967296"], '--seed: "4294967296"'),
        ("--seed empty", ["--seed", ""], "--seed"),
        ("--seed trailing junk", ["--seed", "12x"], '--seed: "12x"'),
        ("--duts letters", ["--duts", "many"], '--duts: "many"'),
        ("--duts negative", ["--duts", "-1"], '--duts: "-1"'),
        ("--duts too large", ["--duts", "1000001"], '--duts: "1000001"'),
        ("unknown sku", ["--sku", "earlgrey_z"], 'unknown SKU "earlgrey_z"'),
        ("unknown timing", ["--timing", "fast"], 'unknown timing profile "fast"'),
        ("bad --step-delay", ["--step-delay", "rma"], "STEP=MS"),
        ("bad --console", ["--console", "jtag"], '"jtag" is not spi or uart'),
        ("short --was-seed", ["--was-seed", "abcd"], "--was-seed"),
        ("--week out of range", ["--week", "52"], '--week: "52"'),
        ("stray argument", ["extra"], 'unexpected argument "extra"'),
    ]
    for what, args, needle in bad:
        rc, out2, err = run_cli(sock + args)
        R.check("%s exits 2 naming the problem" % what,
                rc == 2 and needle in err and "usage" not in out2,
                "rc %s, stderr %r" % (rc, err.strip()[:160]))
    rc, _, err = run_cli(["--pty", "--console", "spi"])
    R.check("--console spi without --socket exits 2", rc == 2 and "needs --socket" in err,
            "rc %s, stderr %r" % (rc, err.strip()[:160]))
    rc, _, err = run_cli([])
    R.check("no transport exits 2", rc == 2 and NO_TRANSPORT in err,
            "rc %s, stderr %r" % (rc, err.strip()[:160]))
    R.check("nothing left a socket file behind", not os.path.exists(sock[1]))


def section_pty():
    sim = Ftsim("pty", ["--pty", "--timing", "zero", "--sku", "sival"])
    path = sim.line_value("ftsim: pty ")
    R.check("pty: ftsim prints the pty path and a ready line naming the sku and console",
            path is not None and os.path.exists(path)
            and any("sku sival, uart console" in line for line in sim.lines), repr(sim.lines))
    con = PtyConsole(path)
    try:
        con.wait_for(RMA_PROMPT)
        R.check("pty: RMA token hash prompt", True)
        body, crc = rma_messages()
        R.check("pty: LcTokenHash padded to 52, CRC object to 18",
                len(body) == 52 and len(crc) == 18)
        con.write(body)
        con.write(crc)
        con.wait_for(CERTGEN_PROMPT)
        R.check("pty: after the RMA step and its reset, the certgen prompt", True)
        inputs = certgen_inputs(0)
        R.check("pty: ManufCertgenInputs padded to 215", len(inputs) == 215)
        con.write(inputs)
        before = con.wait_for(EXPORT_PROMPT)
        R.check("pty: earlgrey-1.0.0 (default) prints \"Blob version: 0\" for V0",
                before == b"Blob version: 0\n", repr(before))
        line = con.read_line()
        n, crc_text, blob, objs = decode_export(line, 0)
        R.check("pty: RESP_OK json is exactly %d bytes" % PERSO_BLOB_JSON_SIZE,
                n == PERSO_BLOB_JSON_SIZE, "%d bytes" % n)
        R.check("pty: RESP_OK line ends with CRC:0", crc_text == "0", crc_text)
        R.check("pty: num_objs 6", blob["num_objs"] == 6, str(blob["num_objs"]))
        R.check("pty: TLV headers walk exactly to next_free and num_objs objects",
                len(objs) == blob["num_objs"], "%d objects" % len(objs))
        R.check("pty: body after next_free is zero",
                not any(blob["body"][blob["next_free"]:]))
        want = [(0, "UDS"), (1, "CDI_0"), (1, "CDI_1"), (4, None), (5, None), (7, None)]
        R.check("pty: objects UDS TBS, CDI_0, CDI_1, WAS HMAC, DeviceId, PersoSha256Hash",
                shape(objs) == want, str(shape(objs)))
        R.check("pty: data objects are 32 bytes",
                all(len(o["payload"]) == 32 for o in objs if o["type"] in (4, 5, 7)))
        uds = find_cert(objs, "UDS")
        R.check("pty: UDS TBS carries the DICE key id as its AKI",
                uds is not None and b"\x80\x14" + DICE_KEY_ID in uds["cert"])
        con.wait_for(IMPORT_PROMPT)
        R.check("pty: import prompt follows the export", True)
    finally:
        con.close()
    rc = sim.terminate()
    R.check("pty: SIGTERM ends ftsim with exit 0", rc == 0, "rc %s; %s" % (rc, sim.stderr_tail()))


def run_export(con, version):
    """After the RMA prompt: RMA hash, the firmware's reset, certgen inputs, export.
    Returns the decoded export."""
    body, crc = rma_messages()
    con.write(body)
    con.write(crc)
    con.reset_frames()  # the firmware resets itself after the RMA step
    con.wait_for(CERTGEN_PROMPT)
    con.write(certgen_inputs(version))
    con.wait_for(EXPORT_PROMPT)
    return decode_export(con.read_line(), version)


def section_socket():
    sock = os.path.join(WORK, "tpm.sock")
    sim = Ftsim("socket", ["--socket", sock, "--timing", "zero", "--sku", "emulation_tpm_v1"])
    R.check("socket: ready line names the socket, sku and spi console",
            sim.line_value("ftsim: socket ") == sock
            and any("sku emulation_tpm_v1, spi console" in line for line in sim.lines),
            repr(sim.lines))
    link = Link(sock)
    pins = link.gpio_read()
    R.check("socket: GPIO_READ shows RESET_N high", pins & PIN_RESET_N, "pins 0x%x" % pins)
    info = link.info()
    R.check("socket: INFO is JSON naming the sku", info.get("sku") == "emulation_tpm_v1",
            repr(info))

    status, msg = link.request(99)
    R.check("socket: unknown op 99 gets BAD_REQUEST with a message",
            status == ST_BAD_REQUEST and b"99" in msg, "status %d %r" % (status, msg))
    status, msg = link.request(OP_GPIO_WAIT, b"\x00" * 5)
    R.check("socket: GPIO_WAIT with a 5-byte payload gets BAD_REQUEST naming it",
            status == ST_BAD_REQUEST and b"GPIO_WAIT" in msg, "status %d %r" % (status, msg))
    status, msg = link.request(OP_SPI_XFER, b"")
    R.check("socket: SPI_XFER without bytes gets BAD_REQUEST",
            status == ST_BAD_REQUEST and b"SPI_XFER" in msg, "status %d %r" % (status, msg))
    R.check("socket: the connection stays usable after bad requests",
            link.gpio_read() & PIN_RESET_N)

    con = SpiConsole(link)
    con.wait_for(RMA_PROMPT)
    R.check("socket: the RMA prompt is frame 0, alone",
            con.frames[:1] == [(0, RMA_PROMPT)], repr(con.frames[:2]))
    body, crc = rma_messages()
    con.write(body)
    con.write(crc)
    con.reset_frames()
    con.wait_for(CERTGEN_PROMPT)
    R.check("socket: after the firmware's reset, frame numbers restart at 0",
            con.frames[:1] == [(0, CERTGEN_PROMPT)], repr(con.frames[:2]))
    con.write(certgen_inputs(1))
    before = con.wait_for(EXPORT_PROMPT)
    R.check("socket: \"Blob version: 1\\n\" before the export", before == b"Blob version: 1\n",
            repr(before))
    first_resp_frame = len(con.frames)
    n, crc_text, blob, objs = decode_export(con.read_line(), 1, v0_types=(0,))
    resp_frames = con.frames[first_resp_frame:]
    R.check("socket: RESP_OK json is exactly %d bytes, CRC:0" % PERSO_BLOB_JSON_SIZE,
            n == PERSO_BLOB_JSON_SIZE and crc_text == "0", "%d bytes, CRC %s" % (n, crc_text))
    R.check("socket: the blob takes about 11 frames of at most %d bytes" % DEVICE_MAX_FRAME,
            10 <= len(resp_frames) <= 12
            and all(len(p) <= DEVICE_MAX_FRAME for _, p in con.frames),
            "%d frames, longest %d" % (len(resp_frames), max(len(p) for _, p in con.frames)))
    R.check("socket: frame payloads are padded with 0xFF, no junk frames",
            con.bad_padding == 0 and con.junk == 0,
            "%d badly padded, %d junk" % (con.bad_padding, con.junk))
    R.check("socket: V1 blob starts with F0 04 00 01", blob["body"][:4] == b"\xf0\x04\x00\x01",
            blob["body"][:4].hex())
    want = [(15, None), (0, "UDS"), (1, "CDI_0"), (1, "CDI_1"), (0, "TPM EK"),
            (4, None), (5, None), (7, None)]
    R.check("socket: objects version, UDS, CDI_0, CDI_1, TPM EK TBS, HMAC, DeviceId, hash",
            shape(objs) == want, str(shape(objs)))
    R.check("socket: num_objs counts the version object (8)",
            blob["num_objs"] == 8 == len(objs), "num_objs %d" % blob["num_objs"])
    R.check("socket: body after next_free is zero", not any(blob["body"][blob["next_free"]:]))
    tpm = find_cert(objs, "TPM EK")
    R.check("socket: TPM EK is a TBS carrying the ext key id as its AKI",
            tpm is not None and tpm["type"] == 0 and b"\x80\x14" + EXT_KEY_ID in tpm["cert"])
    R.check("socket: earlgrey-1.0.0 writes the TPM EK TBS with a V0 header in the V1 blob",
            tpm is not None and len(tpm["header"]) == 2 and tpm["header"][0] >> 4 == 0,
            tpm and tpm["header"].hex())
    uds = find_cert(objs, "UDS")
    R.check("socket: UDS TBS carries the DICE key id as its AKI",
            uds is not None and b"\x80\x14" + DICE_KEY_ID in uds["cert"])

    con.wait_for(IMPORT_PROMPT)
    status, pins = link.gpio_wait(PIN_RX_READY, PIN_RX_READY, 5000)
    R.check("socket: RX-ready is up while the firmware waits for the host blob",
            status == ST_OK, "status %d pins 0x%x" % (status, pins))
    info = link.info()
    R.check("socket: INFO reports step import, chip 0, not done",
            info.get("step") == "import" and info.get("chip") == 0
            and info.get("perso_done") is False, repr(info))

    # The length field is checked before anything is read: 1 + 65536 is the largest.
    status, _ = link.request(OP_UART_WRITE, b"\x20" * PAYLOAD_MAX)
    R.check("socket: a 65536-byte payload (length 65537) is accepted", status == ST_OK,
            "status %d" % status)
    link.send_raw(struct.pack("<IB", PAYLOAD_MAX + 2, OP_UART_WRITE))
    try:
        link.read_reply(wait=STEP_TIMEOUT)
        closed = False
    except LinkClosed:
        closed = True
    R.check("socket: length 65538 makes ftsim drop the client (recv returns 0)", closed)
    link.close()
    link = Link(sock)
    info = link.info()
    R.check("socket: a new connection works and the chip kept its state",
            info.get("step") == "import", repr(info))
    link.send_raw(struct.pack("<IB", 0, OP_GPIO_READ))
    try:
        link.read_reply(wait=STEP_TIMEOUT)
        closed = False
    except LinkClosed:
        closed = True
    R.check("socket: length 0 makes ftsim drop the client", closed)
    link.close()
    link = Link(sock)
    R.check("socket: and again a new connection works", link.gpio_read() & PIN_RESET_N)

    rc = sim.terminate()  # with a client still connected
    link.close()
    R.check("socket: SIGTERM ends ftsim with exit 0", rc == 0,
            "rc %s; %s" % (rc, sim.stderr_tail()))
    R.check("socket: the socket file is removed on exit", not os.path.exists(sock))


def program_image(link, image):
    """ROM bootstrap programming: one WREN + PAGE_PROGRAM + status poll per 256 bytes."""
    for off in range(0, len(image), 256):
        link.xfer([0x06])
        link.xfer(bytes([0x02, off >> 16 & 0xFF, off >> 8 & 0xFF, off & 0xFF])
                  + image[off:off + 256])
        link.wait_not_busy("page program at 0x%x" % off)


def section_bootstrap():
    sock = os.path.join(WORK, "blank.sock")
    sim = Ftsim("bootstrap", ["--socket", sock, "--timing", "zero", "--blank"])
    link = Link(sock)
    status, _ = link.gpio_wait(PIN_TX_READY, PIN_TX_READY, 200)
    R.check("bootstrap: a blank chip stays silent (no TX-ready in 200 ms)", status == ST_TIMEOUT)
    pins = link.gpio_write(PIN_RESET_N | PIN_STRAPS, PIN_RESET_N | PIN_STRAPS)
    R.check("bootstrap: GPIO_WRITE holds the straps high",
            pins & (PIN_RESET_N | PIN_STRAPS) == PIN_RESET_N | PIN_STRAPS, "pins 0x%x" % pins)
    pins = link.gpio_write(PIN_RESET_N, 0)
    R.check("bootstrap: RESET_N low takes the chip's outputs down",
            pins & (PIN_RESET_N | 0x1F) == 0, "pins 0x%x" % pins)
    pins = link.gpio_write(PIN_RESET_N, PIN_RESET_N)
    R.check("bootstrap: RESET_N high again", pins & PIN_RESET_N, "pins 0x%x" % pins)

    miso = link.xfer([0x9F] + [0] * 15)
    R.check("bootstrap: JEDEC ID is 12 x 0x7f then 0xef (device id 29 14)",
            miso[1:13] == b"\x7f" * 12 and miso[13:16] == b"\xef\x29\x14", miso.hex())
    miso = link.xfer([0x5A, 0, 0, 0, 0] + [0] * 8)
    R.check("bootstrap: SFDP at 0 (one dummy byte) starts with \"SFDP\"", miso[5:9] == b"SFDP",
            miso.hex())

    link.xfer([0x06])
    R.check("bootstrap: WREN sets WEL", link.xfer([0x05, 0])[1] & 0x02)
    link.xfer([0xC7])
    link.wait_not_busy("chip erase")
    R.check("bootstrap: chip erase completes (BUSY clears)", True)

    image = bytes((i * 7 + 1) & 0xFF for i in range(1000))
    program_image(link, image)
    R.check("bootstrap: %d page programs complete" % ((len(image) + 255) // 256), True)
    link.xfer([0x99])
    # The ROM never clears BUSY for RESET: it clears when the chip has actually reset.
    link.wait_not_busy("reset 0x99")
    R.check("bootstrap: reset 0x99 resets the chip (BUSY clears)", True)

    link.gpio_write(PIN_STRAPS, 0)
    link.pin_reset(0)
    con = SpiConsole(link)
    con.wait_for(RMA_PROMPT)
    R.check("bootstrap: straps low + pin reset boots the perso firmware (RMA prompt frame 0)",
            con.frames[:1] == [(0, RMA_PROMPT)], repr(con.frames[:1]))
    _, _, _, objs = run_export(con, 0)
    hashes = [o["payload"] for o in objs if o["type"] == 7]
    R.check("bootstrap: PersoSha256Hash is the SHA-256 of the bootstrapped image",
            hashes == [hashlib.sha256(image).digest()],
            "%s vs %s" % ([h.hex() for h in hashes], hashlib.sha256(image).hexdigest()))
    link.close()
    rc = sim.terminate()
    R.check("bootstrap: SIGTERM ends ftsim with exit 0", rc == 0, "rc %s" % rc)


def section_bootstrap_pin_reset():
    """Flash keeps what the page programs wrote: a pin reset with the straps low boots the
    image even when the host never sent the ROM's 0x99 reset (on silicon the ROM boots
    whatever slot A holds). This is also what a host that pulls RESET_N right after 0x99
    relies on, before the ROM got to act on the command."""
    sock = os.path.join(WORK, "blank2.sock")
    sim = Ftsim("bootstrap2", ["--socket", sock, "--timing", "zero", "--blank"])
    link = Link(sock)
    link.gpio_write(PIN_STRAPS, PIN_STRAPS)
    link.pin_reset(PIN_STRAPS)
    link.xfer([0x06])
    link.xfer([0xC7])
    link.wait_not_busy("chip erase")
    image = bytes((i * 13 + 5) & 0xFF for i in range(600))
    program_image(link, image)
    link.pin_reset(0)  # straps low, no 0x99
    status, pins = link.gpio_wait(PIN_TX_READY, PIN_TX_READY, 2000)
    R.check("bootstrap without 0x99: straps low + pin reset boots the programmed image",
            status == ST_OK, "no TX-ready within 2 s (pins 0x%x): the chip boots as blank"
            % pins)
    if status == ST_OK:
        con = SpiConsole(link)
        con.wait_for(RMA_PROMPT)
        R.check("bootstrap without 0x99: the RMA prompt is frame 0",
                con.frames[:1] == [(0, RMA_PROMPT)], repr(con.frames[:1]))
    link.close()
    rc = sim.terminate()
    R.check("bootstrap without 0x99: SIGTERM ends ftsim with exit 0", rc == 0, "rc %s" % rc)


def section_faults():
    # stall=rma: the firmware stops before its first prompt.
    sock = os.path.join(WORK, "stall.sock")
    sim = Ftsim("stall", ["--socket", sock, "--timing", "zero", "--fault", "stall=rma"])
    link = Link(sock)
    link.pin_reset(0)
    t0 = time.monotonic()
    status, pins = link.gpio_wait(PIN_TX_READY, PIN_TX_READY, 300)
    took = time.monotonic() - t0
    R.check("stall=rma: GPIO_WAIT for TX-ready returns TIMEOUT after 300 ms",
            status == ST_TIMEOUT and not pins & PIN_TX_READY and took >= 0.29,
            "status %d pins 0x%x after %.3f s" % (status, pins, took))
    info = link.info()
    R.check("stall=rma: INFO shows the chip stuck at step rma", info.get("step") == "rma",
            repr(info))
    link.close()
    rc = sim.terminate()
    R.check("stall=rma: SIGTERM ends ftsim with exit 0 and removes the socket",
            rc == 0 and not os.path.exists(sock), "rc %s" % rc)

    # disconnect=export: the server closes the link halfway through the blob.
    sock = os.path.join(WORK, "disc.sock")
    sim = Ftsim("disconnect", ["--socket", sock, "--timing", "zero", "--fault",
                               "disconnect=export"])
    link = Link(sock)
    con = SpiConsole(link, wait_ms=3000)
    con.wait_for(RMA_PROMPT)
    body, crc = rma_messages()
    con.write(body)
    con.write(crc)
    con.reset_frames()
    con.wait_for(CERTGEN_PROMPT)
    con.write(certgen_inputs(0))
    con.wait_for(EXPORT_PROMPT)
    closed = None
    timeouts = 0
    last_frame = time.monotonic()
    try:
        while True:
            try:
                con.read_frame()
                last_frame = time.monotonic()
            except TestError:
                timeouts += 1  # GPIO_WAIT timed out: the link must be gone on the next op
                if timeouts > 1:
                    break
    except LinkClosed as exc:
        closed = str(exc)
    lag = time.monotonic() - last_frame
    got = con.buf
    R.check("disconnect=export: the server closes the connection (recv returns 0)",
            closed is not None, "still open after %d frames" % len(con.frames))
    R.check("disconnect=export: it closes in the middle of the RESP_OK line",
            got.startswith(b"RESP_OK:") and b"\n" not in got
            and 8000 < len(got) < PERSO_BLOB_JSON_SIZE,
            "%d bytes, %r...%r" % (len(got), got[:12], got[-12:]))
    R.check("disconnect=export: the close follows the last frame at once, not after the "
            "host's GPIO_WAIT timeout", timeouts == 0 and lag < 1.0,
            "%d GPIO_WAIT timeout(s); closed %.2f s after the last frame" % (timeouts, lag))
    link.close()
    link = Link(sock)
    info = link.info()
    R.check("disconnect=export: ftsim accepts a new client afterwards",
            info.get("step") == "export", repr(info))
    link.close()
    rc = sim.terminate()
    R.check("disconnect=export: SIGTERM ends ftsim with exit 0 and removes the socket",
            rc == 0 and not os.path.exists(sock), "rc %s" % rc)


def section_duts():
    # --duts 0 (forever) and the largest value start and stop cleanly.
    for value in ("0", "1000000"):
        sock = os.path.join(WORK, "duts%s.sock" % value)
        sim = Ftsim("duts" + value, ["--socket", sock, "--timing", "zero", "--duts", value])
        link = Link(sock)
        ok = link.info().get("chip") == 0
        link.close()
        rc = sim.terminate()
        R.check("--duts %s: serves, then exits 0 on SIGTERM" % value, ok and rc == 0,
                "rc %s" % rc)
    for value, needle in (("2.5", '"2.5"'), ("0x10", '"0x10"'),
                          ("99999999999999999999", '"99999999999999999999"')):
        rc, _, err = run_cli(["--socket", os.path.join(WORK, "never.sock"), "--duts", value])
        R.check("--duts %r exits 2 naming --duts" % value,
                rc == 2 and "--duts" in err and needle in err,
                "rc %s, stderr %r" % (rc, err.strip()[:160]))


def section_firmware():
    """--firmware: the ready line names the profile, a bad name lists the known ones, the
    ROM's JEDEC ID carries the profile's NVM density, and make_bundle.py lays out a bundle
    at the profile's slots."""
    rc, _, err = run_cli(["--pty", "--firmware", "a2-rc18"])
    R.check("firmware: an unknown --firmware fails naming the known profiles",
            rc not in (0, None) and "a2-rc17, earlgrey-1.0.0, master" in err, repr(err))
    for name, jedec in (("a2-rc17", b"\x29\x14"), ("earlgrey-1.0.0", b"\x29\x14"),
                        ("master", b"\x29\x15")):
        sock = os.path.join(WORK, "fw-%s.sock" % name[0])
        sim = Ftsim("firmware " + name, ["--socket", sock, "--timing", "zero", "--blank",
                                         "--firmware", name])
        R.check("firmware %s: the ready line names it" % name,
                any(("firmware %s)" % name) in line for line in sim.lines), repr(sim.lines))
        link = Link(sock)
        link.pin_reset(PIN_STRAPS)
        miso = link.xfer([0x9F] + [0] * 15)
        R.check("firmware %s: JEDEC device id %s" % (name, jedec.hex()), miso[14:16] == jedec,
                miso.hex())
        link.close()
        sim.terminate()
    here = os.path.dirname(os.path.abspath(__file__))
    perso = os.path.join(WORK, "perso.bin")
    with open(perso, "wb") as f:
        f.write(bytes((i * 7 + 1) & 0xFF for i in range(5000)))
    for name, slot_b, owner_b in (("earlgrey-1.0.0", 0x80000, 0x90000),
                                  ("master", 0x100000, 0x110000)):
        out = os.path.join(WORK, "bundle-%s.bin" % name)
        p = subprocess.run([sys.executable, os.path.join(here, "make_bundle.py"), "--firmware",
                            name, "--perso", perso, "-o", out], stderr=subprocess.PIPE)
        img = open(out, "rb").read() if p.returncode == 0 else b""
        R.check("make_bundle %s: perso at 0, OTRE at slot B + 820, owner at 0x%x" % (name, owner_b),
                img[:5000] == open(perso, "rb").read()
                and img[slot_b + 820:slot_b + 824] == b"OTRE"
                and img[owner_b:owner_b + 5] == b"owner" and len(img) > owner_b,
                p.stderr.decode(errors="replace"))


SECTIONS = [
    ("command line", section_cli),
    ("firmware", section_firmware),
    ("pty", section_pty),
    ("socket", section_socket),
    ("bootstrap", section_bootstrap),
    ("bootstrap, pin reset only", section_bootstrap_pin_reset),
    ("faults", section_faults),
    ("duts", section_duts),
]


def main():
    global FTSIM, WORK
    if len(sys.argv) != 3:
        print("usage: test_ftsim.py FTSIM SCRATCH_DIR", file=sys.stderr)
        return 2
    FTSIM = os.path.abspath(sys.argv[1])
    if not os.access(FTSIM, os.X_OK):
        print("FAIL - %s is not an executable" % FTSIM)
        print("0 passed, 1 failed")
        return 1
    scratch = os.path.abspath(sys.argv[2])
    os.makedirs(scratch, exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="ftsim.", dir=scratch)
    # Unix socket paths hold at most 107 bytes: fall back to names relative to WORK.
    os.chdir(WORK)
    if len(os.path.join(WORK, "disconnect.sock")) > 100:
        WORK = "."
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    started = time.monotonic()
    try:
        for name, fn in SECTIONS:
            try:
                fn()
            except Exception as exc:  # a broken flow is one failure; the run goes on
                tails = ["%s: %s" % (p.name, p.stderr_tail()) for p in PROCS]
                R.check("%s: section ran to its end" % name, False,
                        "%s: %s" % (type(exc).__name__, exc))
                for t in tails:
                    R.note("ftsim stderr %s" % t)
            finally:
                kill_all()
    finally:
        kill_all()
    R.note("runtime %.1f s, scratch %s" % (time.monotonic() - started, os.getcwd()))
    if R.failed == 0:
        here = os.getcwd()
        os.chdir(scratch)
        shutil.rmtree(here, ignore_errors=True)
    print("%d passed, %d failed" % (R.passed, R.failed))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
