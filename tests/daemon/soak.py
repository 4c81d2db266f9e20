#!/usr/bin/python3
"""Soak of ftharnessd: many DUTs over 8 sites with a fault drawn at random per DUT, then
the invariants a floor relies on, each printed with its count.

usage: soak.py FTHARNESSD FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR TEST_PLUGIN_DIR
               FTDI_TESTBED [--duts N] [--seed S] [--pa-restarts K] [--minutes M]

Sites: four SPI sockets (one with reset), two UART sockets, a pty (its handler socket
beside it) and an emulated FT2232H through the real libftdi1 and libusb. Per DUT the
driver (the handler) draws one fault and plants it where it lives:
  - the chip's (ftsim NEXT_CHIP fault specs),
  - the service's (ftpa --fault-dir, aimed at that site's user id),
  - the plugin's (a SKU whose plugin crashes, hangs, or returns what breaches policy),
  - the link's (the adapter unplugs mid-DUT; the pty hangs up on the pty site's last DUT).
ftpa is also restarted K times while DUTs run. Bounded: --duts in all, --minutes at most.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_lib import Results, Station  # noqa: E402

SITES = {  # name: (link, sku of its chip row)
    "s0": "spi-sim", "s1": "spi-sim", "s2": "spi-sim", "s3": "spi-sim",
    "s4": "uart-sim", "s5": "uart-sim", "s6": "pty", "s7": "ftdi",
}
# Faults: (name, weight, where, what, allowed outcomes). An outcome is "PASS" or the
# failure class; "no-certs" marks faults after which the chip must never get certificates.
FAULTS = [  # name, weight, where, what, outcomes allowed, certificates must stay away
    ("none", 40, None, None, {"PASS"}, False),
    ("stall-export", 1, "chip", "stall=export", {"device"}, True),
    ("stall-import", 1, "chip", "stall=import", {"device"}, False),
    ("check-fail-certgen", 2, "chip", "check-fail=certgen", {"device"}, True),
    ("reset-export", 2, "chip", "reset=export", {"device"}, True),
    ("disconnect-export", 2, "chip", "disconnect=export", {"device"}, True),
    ("junk-frames-export", 2, "chip", "junk-frames=export", {"PASS"}, False),
    ("bad-crc-export", 2, "chip", "bad-crc=export", {"validation"}, True),
    ("truncated-hash", 2, "chip", "truncated-response=hash", {"validation"}, False),
    ("corrupt-tlv", 2, "chip", "corrupt-tlv", {"validation"}, True),
    ("oversize-object", 2, "chip", "oversize-object", {"validation"}, True),
    ("bad-was-hmac", 2, "chip", "bad-was-hmac", {"service"}, True),
    ("bad-hash", 2, "chip", "bad-hash", {"device"}, False),
    ("test-error", 2, "chip", "test-error", {"device"}, False),
    ("reject-import", 2, "chip", "reject-import", {"device"}, False),
    # The client calls again, once, after UNAVAILABLE (transient) and after a kept-alive
    # connection closed unanswered; INTERNAL is final.
    ("pa-unavailable", 2, "pa", "status 14", {"PASS"}, False),
    ("pa-internal", 3, "pa", "status 13", {"service"}, True),
    ("pa-close", 2, "pa", "close", {"PASS"}, False),
    ("pa-delay", 3, "pa", "delay 300", {"PASS"}, False),
    ("plugin-crash", 2, "plugin", "crash", {"plugin"}, True),
    ("plugin-hang", 1, "plugin", "hang", {"plugin"}, True),
    ("plugin-garbage", 2, "plugin", "garbage", {"plugin"}, True),
    ("plugin-flipbit", 2, "plugin", "flipbit", {"plugin"}, True),
    ("plugin-dropall", 2, "plugin", "dropall", {"plugin"}, True),
    ("unplug", 2, "adapter", "unplug=40", {"device"}, True),
]
PLUGINS = sorted({f[3] for f in FAULTS if f[2] == "plugin"})


def fd_kind(pid, fd):
    """What descriptor `fd` of `pid` is: "socket", "pipe", "anon_inode:[eventfd]", a path."""
    try:
        target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
    except OSError:
        return "gone"
    return target.split(":[")[0] if target.startswith(("socket:", "pipe:")) else target


def proc_stats(pids):
    """RSS (kB) and open descriptors summed over the daemon's processes, and what each
    descriptor is (for a report when the count grew)."""
    rss = fds = 0
    kinds = collections.Counter()
    for pid in pids:
        try:
            for line in open("/proc/%d/status" % pid):
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            for fd in os.listdir("/proc/%d/fd" % pid):
                fds += 1
                kinds["pid %d: %s" % (pid, fd_kind(pid, fd))] += 1
        except OSError:
            pass
    return rss, fds, kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("progs", nargs=9)
    ap.add_argument("--duts", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pa-restarts", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=60)
    # Deadlines stretched (the station's timeout_scale), e.g. for a run under valgrind.
    ap.add_argument("--timeout-scale", type=float, default=1)
    args = ap.parse_args()
    t = Results()
    if not os.access(args.progs[8], os.X_OK):
        print("needs ftdi_testbed (umockdev, libftdi1) for the FTDI site; skipping")
        sys.exit(77)
    rng = random.Random(args.seed)
    st = Station(args.progs)
    faults_dir = st.path("pa-faults")
    os.makedirs(faults_dir)
    started = time.monotonic()
    try:
        st.service_init(skus=("sival",))
        pa_extra = ["--fault-dir", faults_dir, "--threads", "16"]
        st.service_start(extra=pa_extra)
        pa_port = st.port
        st.sku_dir(variants=[("sival_" + p, "sival", p) for p in PLUGINS])
        # Short step deadlines, so a stalled chip costs seconds, not minutes.
        for name in os.listdir(st.path("skus")):
            path = st.path("skus", name)
            doc = json.load(open(path))
            doc["timeouts_ms"] = {"default": 8000, "export": 8000}
            json.dump(doc, open(path, "w"))
        consoles = {}
        for i, (name, link) in enumerate(sorted(SITES.items())):
            if link == "ftdi":
                consoles[name] = st.ftdi(name, seed=i + 1)
                st.ftdi_chip[-1:-1] = ["--timing", "zero"]
            elif link == "pty":
                # The pty carries the console; the socket beside it is the handler's.
                consoles[name] = st.chip(name, "pty", seed=i + 1,
                                         extra=["--timing", "zero", "--socket",
                                                st.path("chip-%s.sock" % name),
                                                "--console", "uart"])
            else:
                consoles[name] = st.chip(name, link, seed=i + 1, extra=["--timing", "zero"])
        sites = [{"name": n, "console": c, "user_id": "soak/" + n}
                 for n, c in sorted(consoles.items())]
        sites[0]["reset"] = True
        st.write_config(sites, dut_deadline_s=int(60 * args.timeout_scale),
                        plugin_deadline_ms=int(1500 * args.timeout_scale),
                        timeout_scale=args.timeout_scale)
        st.start_daemon()
        # First, on the pty and a UART socket: a chip that goes on printing after its DUT
        # failed (its certificates hash differs) must leave nothing for the next chip.
        tail_passes = []
        for site in ("s4", "s6"):
            results = []
            for i, fault in enumerate(("bad-hash", "")):
                st.next_chip(site, fault)
                results.append(st.request({"cmd": "provision", "id": "tail-%s-%d" % (site, i),
                                           "site": site, "sku": "sival"})[-1])
            t.check("%s (%s): after a chip that printed on past its failed DUT, the next chip "
                    "passes" % (site, SITES[site]),
                    results[0].get("class") == "device" and results[1].get("status") == "PASS",
                    results)
            tail_passes += [r.get("device_id") for r in results if r.get("status") == "PASS"]
        supervisor = st.supervisor_pid()
        workers0 = {n: st.worker_pid(n) for n in SITES}

        lock = threading.Lock()
        outcomes = []  # one dict per DUT
        answers = {}  # request id -> results received
        next_dut = [0]
        deadline = started + args.minutes * 60
        stats = {}

        def daemon_pids():
            pids = [st.supervisor_pid(), st.uploader_pid()] + [st.worker_pid(n) for n in SITES]
            return [p for p in pids if p]

        # RSS and descriptors are sampled with the daemon at rest: no DUT running and the
        # spool empty, so that what is counted is what stays (a DUT in flight holds its
        # console, plugin pipes and service connection for a while).
        changed = threading.Condition(lock)
        running = [0]
        sampling = [False]

        def sample_at_rest(n):
            sampling[0] = True
            end = time.monotonic() + 120
            while running[0] > 0 and time.monotonic() < end:
                changed.wait(1)
            st.wait_spool_drained(max(0.0, end - time.monotonic()))
            stats[n] = proc_stats(daemon_pids())
            sampling[0] = False
            changed.notify_all()

        def take_dut():
            with changed:
                while sampling[0]:
                    changed.wait()
                if next_dut[0] >= args.duts or time.monotonic() > deadline:
                    return None
                next_dut[0] += 1
                n = next_dut[0]
                if n in (1000, args.duts - 1000) and args.duts >= 3000:
                    sample_at_rest(n)
                running[0] += 1
                return n

        def dut_done():
            with changed:
                running[0] -= 1
                changed.notify_all()

        def run_site(site):
            last = False
            while not last:
                n = take_dut()
                if n is None:
                    # The pty site's last DUT: the pty hangs up mid-export.
                    if SITES[site] != "pty":
                        return
                    last = True
                    fault = ("pty-hangup", 0, "chip", "disconnect=export", {"device"}, True)
                else:
                    fault = rng.choice(WEIGHTED)
                    if fault[2] == "adapter" and SITES[site] != "ftdi":
                        fault = FAULTS[0]
                    if fault[3] == "disconnect=export" and SITES[site] == "pty":
                        fault = FAULTS[0]  # a pty hung up stays down: the last DUT's fault
                name, _, where, what, allowed, no_certs = fault
                if name == "test-error" and SITES[site] == "pty":
                    allowed = {"device", "PASS"}  # a pty has no TestError pin to see
                sku = "sival"
                chip_faults = ""
                if where in ("chip", "adapter"):
                    chip_faults = what
                elif where == "plugin":
                    sku = "sival_" + what
                elif where == "pa":
                    with open(os.path.join(faults_dir, "soak_%s.EndorseCerts" % site), "w") as f:
                        f.write(what)
                st.next_chip(site, chip_faults)
                rid = "soak-%s-%d" % (site, n if n is not None else 0)
                t0 = time.monotonic()
                events = st.request({"cmd": "provision", "id": rid, "site": site, "sku": sku})
                t1 = time.monotonic()
                info = st.chip_info(site)
                res = events[-1]
                if res.get("event") != "result":
                    print("soak: %s: %s" % (rid, res), flush=True)
                    st.wait_sites(lambda s: s["name"] != site or s["state"] == "idle", 60)
                planted = os.path.join(faults_dir, "soak_%s.EndorseCerts" % site)
                unused = where == "pa" and os.path.exists(planted)
                if unused:
                    os.unlink(planted)
                if n is not None:
                    dut_done()
                with lock:
                    answers[rid] = answers.get(rid, 0) + sum(
                        1 for e in events if e.get("event") == "result")
                    outcomes.append({
                        "site": site, "n": n, "fault": name, "allowed": allowed,
                        "no_certs": no_certs, "t0": t0,
                        "t1": t1, "event": res.get("event"), "status": res.get("status"),
                        "class": res.get("class"), "error": res.get("error", ""),
                        "device_id": res.get("device_id", ""),
                        "certs_received": info.get("certs_received"),
                        "fault_unused": unused})

        restarts = []

        def restart_pa():
            """Restarts ftpa at its port K times while DUTs run (evenly over the DUTs)."""
            for k in range(args.pa_restarts):
                goal = (k + 1) * args.duts // (args.pa_restarts + 1)
                while next_dut[0] < goal and time.monotonic() < deadline:
                    time.sleep(0.05)
                if next_dut[0] >= args.duts:
                    return
                a = time.monotonic()
                st.service_stop()
                for _ in range(100):
                    try:
                        st.service_start(port=pa_port, extra=pa_extra)
                        break
                    except (ValueError, IndexError):
                        time.sleep(0.05)  # the port is still being released
                restarts.append((a, time.monotonic()))

        threads = [threading.Thread(target=run_site, args=(n,)) for n in SITES]
        threads.append(threading.Thread(target=restart_pa))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.monotonic() - started
        stats.setdefault("end", proc_stats(daemon_pids()))
        spool = st.wait_spool_drained(120)  # every PASS reached the service

        with open(st.path("outcomes.json"), "w") as f:  # for a look afterwards
            json.dump([dict(o, allowed=sorted(o["allowed"])) for o in outcomes], f, indent=0)

        # ---- invariants -------------------------------------------------------------------
        total = len(outcomes)
        passes = [o for o in outcomes if o["status"] == "PASS"]
        fails = [o for o in outcomes if o["status"] != "PASS"]
        print("soak: %d DUTs in %.0f s (%.1f DUTs/s), %d PASS, %d FAIL, %d ftpa restarts, "
              "seed %d" % (total, elapsed, total / elapsed, len(passes), len(fails),
                           len(restarts), args.seed))
        by_fault = {}
        for o in outcomes:
            k = by_fault.setdefault(o["fault"], {})
            key = o["status"] if o["status"] == "PASS" else str(o["class"] or o["event"])
            k[key] = k.get(key, 0) + 1
        for name in sorted(by_fault):
            print("  %-20s %s" % (name, " ".join("%s=%d" % kv for kv in sorted(by_fault[name].items()))))

        t.check("the supervisor never died (%d DUTs)" % total,
                st.daemon.poll() is None and st.supervisor_pid() == supervisor)
        crashed = [n for n in SITES if st.worker_pid(n) != workers0[n]]
        t.check("no worker crashed or was restarted (8 workers)", not crashed, crashed)
        once = [r for r, c in answers.items() if c != 1]
        t.check("every request answered exactly once (%d requests)" % len(answers),
                not once and len(answers) == total, once[:5])

        reg = subprocess.run([st.ftpa, "export", "--db", st.path("registry.db")],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        registered = [json.loads(line)["device_id"] for line in reg if line.strip()]
        journal = {}
        for name in os.listdir(st.path("records")):
            if name.endswith(".json"):
                doc = json.load(open(st.path("records", name)))
                journal.setdefault(doc["status"], []).append(doc["device_id"])
        jpass = journal.get("PASS", [])
        t.check("every PASS registered exactly once (journal %d, registry %d, results %d, "
                "refused by the service %d)" % (len(jpass), len(registered), len(passes),
                                                 spool.get("rejected", -1)),
                sorted(jpass) == sorted(registered) ==
                sorted([o["device_id"] for o in passes] + tail_passes)
                and len(set(registered)) == len(registered))
        t.check("no record left RUNNING (%d record files)" % sum(map(len, journal.values())),
                "RUNNING" not in journal)
        guarded = [o for o in fails if o["no_certs"]]
        leaked = [o for o in guarded if o["certs_received"]]
        t.check("no certificate sent to a chip after a failure before the import: WAS, TBS, "
                "plugin policy, service, chip (%d DUTs)" % len(guarded), not leaked, leaked[:3])
        sent_pass = sum(1 for o in passes if o["certs_received"])
        t.check("every PASS chip got its certificates (%d)" % len(passes),
                sent_pass == len(passes))

        # A DUT in flight while the service restarts may fail on it (its calls are retried,
        # within bounds). The DUTs after it find their sessions forgotten; the harness
        # opens new ones and must not lose a DUT for it.
        def during_restart(o):
            return any(o["t0"] < b and o["t1"] > a for a, b in restarts)

        wrong = []
        for o in outcomes:
            got = "PASS" if o["status"] == "PASS" else str(o["class"] or o["event"])
            allowed = set(o["allowed"])
            if during_restart(o):
                allowed |= {"service"}
            if got not in allowed:
                wrong.append((o["site"], o["n"], o["fault"], got, o["error"][:160]))
        t.check("every outcome matches the fault injected (%d faults, %d DUTs beside a "
                "service restart)" % (sum(1 for o in outcomes if o["fault"] != "none"),
                              sum(1 for o in outcomes if during_restart(o))), not wrong, wrong[:8])
        unused = [o for o in outcomes if o["fault_unused"] and o["status"] == "PASS"]
        t.check("every service fault reached its DUT", not unused, unused[:3])
        if len(stats) >= 3:
            (r0, f0, k0), (r1, f1, k1) = stats[1000], stats[args.duts - 1000]
            t.check("RSS flat: %d kB after 1000 DUTs, %d kB 1000 before the end" % (r0, r1),
                    r1 <= r0 * 1.05 + 2048)
            t.check("open descriptors flat: %d after 1000 DUTs, %d 1000 before the end "
                    "(the daemon at rest)" % (f0, f1), f1 <= f0, dict(k1 - k0))
        else:
            r, f, _ = stats["end"]
            print("  (RSS %d kB, %d descriptors at the end; flatness needs --duts >= 3000)"
                  % (r, f))
    finally:
        st.close()
    t.finish()


WEIGHTED = [f for f in FAULTS for _ in range(f[1])]

if __name__ == "__main__":
    main()
