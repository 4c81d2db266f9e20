#!/usr/bin/python3
"""ftharnessd end to end: five sites on mixed links (ftsim SPI socket with reset, ftsim UART
socket, ftsim pty, a second SPI socket, an emulated FT2232H through the real libftdi1 and
libusb), driven through the control socket.

usage: test_daemon.py FTHARNESSD FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR TEST_PLUGIN_DIR
                      FTDI_TESTBED
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_lib import Control, Results, Station  # noqa: E402

t = Results()
if len(sys.argv) < 10 or not os.access(sys.argv[9], os.X_OK):
    print("needs ftdi_testbed (umockdev, libftdi1) for the FTDI site; skipping")
    sys.exit(77)
if shutil.which("promtool") is None:
    print("needs promtool (Debian's prometheus) to check the metrics; skipping")
    sys.exit(77)
if shutil.which("chromium") is None:
    print("needs chromium (headless) to look at the status page; skipping")
    sys.exit(77)
st = Station(sys.argv[1:])
socket_sites = {"s0", "s1", "s3", "s4"}  # the handler swaps chips there (NEXT_CHIP)
passes = 0  # PASS results of DUTs personalized (replays excluded): the registry's count


def provision(site, sku="sival", **extra):
    """One DUT on `site` (the handler puts a new chip in first); its events."""
    if site in socket_sites:
        st.next_chip(site)
    req = {"cmd": "provision", "id": "p-" + site, "site": site, "sku": sku}
    req.update(extra)
    return st.request(req)


def result_of(events):
    return events[-1] if events and events[-1].get("event") == "result" else {}


def count_pass(ev):
    global passes
    if ev.get("status") == "PASS" and not ev.get("replayed"):
        passes += 1


def spool_status():
    return st.request({"cmd": "status"})[-1]["spool"]


def wait_for(what, pred, timeout=60):
    """Asks the daemon until pred() holds: its state, not a fixed wait."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


try:
    st.service_init()
    st.service_start()
    st.sku_dir(variants=[("sival_hang", "sival", "hang"), ("tpm_hang", "emulation_tpm", "hang")])
    consoles = {
        "s0": st.chip("s0", "spi-sim", seed=1),
        "s1": st.chip("s1", "uart-sim", seed=2),
        "s2": st.chip("s2", "pty", seed=3),
        "s3": st.chip("s3", "spi-sim", sku="emulation_tpm", seed=4),
        "s4": st.ftdi("s4", seed=5),
    }
    sites = [{"name": n, "console": c} for n, c in sorted(consoles.items())]
    sites[0]["reset"] = True
    with socket.socket() as probe:  # a free loopback port for the metrics
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    st.write_config(sites, metrics={"listen": "127.0.0.1:%d" % metrics_port})

    # ---- the configuration check --------------------------------------------------------
    r = subprocess.run([st.ftharnessd, "--config", st.config, "--check-config"],
                       capture_output=True, text=True)
    t.check("--check-config accepts the station", r.returncode == 0 and "5 sites" in r.stdout,
            r.stdout + r.stderr)
    bad = json.load(open(st.config))
    bad["sites"][1]["colour"] = "red"
    with open(st.path("bad.json"), "w") as f:
        json.dump(bad, f)
    r = subprocess.run([st.ftharnessd, "--config", st.path("bad.json"), "--check-config"],
                       capture_output=True, text=True)
    t.check("--check-config names an unknown key by its JSON path",
            r.returncode == 2 and "sites[1].colour" in r.stderr, r.stderr)

    st.start_daemon()
    sock_mode = os.stat(st.path("ctl.sock")).st_mode & 0o777
    t.check("the control socket is mode 0660", sock_mode == 0o660, oct(sock_mode))
    listed = st.request({"cmd": "sites"})[-1]
    t.check("sites lists the five sites with their links",
            [s["name"] for s in listed.get("sites", [])] == ["s0", "s1", "s2", "s3", "s4"] and
            listed["sites"][2]["console"].startswith("uart:/dev/pts/"), listed)
    skus = st.request({"cmd": "skus"})[-1]
    t.check("skus lists the SKU directory",
            sorted(skus.get("skus", [])) == ["emulation_tpm", "sival", "sival_hang", "tpm_hang"],
            skus)

    # ---- five sites at once -------------------------------------------------------------
    for rnd in range(2):
        conns = {}
        for site in ("s0", "s1", "s2", "s3", "s4"):
            if site in socket_sites:
                st.next_chip(site)
            c = Control(st.path("ctl.sock"))
            c.send({"cmd": "provision", "id": "r%d-%s" % (rnd, site), "site": site,
                    "sku": "emulation_tpm" if site == "s3" else "sival",
                    "din": {"lot": 42, "wafer": 7, "x": rnd, "y": int(site[1])}})
            conns[site] = c
        results = {}
        for site, c in conns.items():
            evs = c.events()
            results[site] = evs
            c.sock.close()
        ok = True
        devices = set()
        for site, evs in results.items():
            res = result_of(evs)
            count_pass(res)
            steps = [e["step"] for e in evs if e.get("event") == "progress"]
            devices.add(res.get("device_id"))
            ok = ok and evs[0].get("event") == "accepted" and res.get("status") == "PASS" and \
                res.get("id") == "r%d-%s" % (rnd, site) and "perso-tbs-export" in steps and \
                res.get("record", {}).get("status") == "PASS"
            if not ok:
                print("   %s: %s" % (site, json.dumps(res)[:600]))
        t.check("round %d: five sites on SPI socket, UART socket, pty, SPI socket and FTDI PASS "
                "at once, each with its steps and record" % rnd, ok and len(devices) == 5)

    # ---- metrics ------------------------------------------------------------------------
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port,
                                  timeout=10).read().decode()
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    t.check("GET /metrics passes promtool check metrics", lint.returncode == 0,
            lint.stdout + lint.stderr)
    passes_per_site = [l for l in text.splitlines()
                       if l.startswith("ftharness_dut_results_total{") and 'class="pass"' in l]
    t.check("... counts two PASS per site", len(passes_per_site) == 5 and
            all(l.endswith(" 2") for l in passes_per_site), passes_per_site)
    exports = [l for l in text.splitlines() if l.startswith(
        'ftharness_step_duration_seconds_count{') and 'step="perso-tbs-export"' in l]
    t.check("... and a step-time histogram per site and step",
            len(exports) == 5 and all(l.endswith(" 2") for l in exports), exports)
    endorse = [l for l in text.splitlines()
               if l.startswith('ftharness_service_call_seconds_count{rpc="EndorseCerts"}')]
    sessions = [l for l in text.splitlines() if l.startswith("ftharness_service_sessions_total{")]
    t.check("... the service calls by RPC (10 EndorseCerts, none failed) and the sessions "
            "(one per site)", endorse == ['ftharness_service_call_seconds_count{rpc='
                                          '"EndorseCerts"} 10'] and
            'ftharness_service_errors_total{rpc="EndorseCerts"} 0' in text and
            len(sessions) == 5 and all(l.endswith(" 1") for l in sessions),
            (endorse, sessions))
    t.check("... with the sites up, the build and the spool",
            text.count("ftharness_site_up{") == 5 and "ftharness_build_info{version=" in text
            and "ftharness_spool_depth " in text)

    # ---- the status page, as a person sees it (headless Chromium runs its script) ---------
    browser = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--virtual-time-budget=5000"]
    page = "http://127.0.0.1:%d/" % metrics_port
    dom = subprocess.run(browser + ["--dump-dom", page], capture_output=True, text=True,
                         timeout=120).stdout
    subprocess.run(browser + ["--window-size=900,1200", "--screenshot=" + st.path("status.png"),
                              page], capture_output=True, timeout=120)
    t.check("the status page lists the five sites, each with its two PASS",
            all('<td>%s</td><td class="idle">idle</td><td class="pass">2</td>' % n in dom
                for n in ("s0", "s1", "s2", "s3", "s4")), dom[-1500:])
    t.check("... the yield per SKU (sival 8 of 8, emulation_tpm 2 of 2)",
            '<td>sival</td><td class="pass">8</td><td class="fail">0</td><td>100.0 %</td>' in dom
            and '<td>emulation_tpm</td><td class="pass">2</td>' in dom, dom[-1500:])
    bars = dom.split('data-bars="')[1].split('"')[0] if 'data-bars="' in dom else "0"
    t.check("... and draws the step-time plot (%s steps)" % bars, int(bars) >= 10)

    # ---- a busy site refuses a second provision -----------------------------------------
    st.next_chip("s0")
    with Control(st.path("ctl.sock")) as a, Control(st.path("ctl.sock")) as b:
        a.send({"cmd": "provision", "id": "first", "site": "s0", "sku": "sival"})
        acc = a.event()
        second = b.call({"cmd": "provision", "id": "second", "site": "s0", "sku": "sival"})
        res = result_of(a.events())
        count_pass(res)
    t.check("a second provision to a busy site is refused naming the site and its DUT",
            acc.get("event") == "accepted" and second[-1].get("event") == "error" and
            "site s0 is busy" in second[-1].get("error", "") and second[-1].get("id") == "second",
            second)
    t.check("... and the first DUT passes", res.get("status") == "PASS", res)

    # ---- chip faults on the UART site ------------------------------------------------------
    # A chip that refuses its certificates, or resets and restarts perso, leaves the longest
    # state texts (over 160 bytes): they once broke the worker's result message, and the
    # worker was killed for it. A chip whose hash differs goes on printing after the harness
    # stopped listening: none of that may reach the next chip's DUT. (Both found by the soak.)
    for fault, state in (("reject-import", "the chip refused the certificates"),
                         ("reset=export", "the chip reset"),
                         ("bad-hash", "certificates written to the chip")):
        st.next_chip("s1", fault)
        res = result_of(st.request({"cmd": "provision", "id": "f-" + fault, "site": "s1",
                                    "sku": "sival"}))
        t.check("a chip fault (%s) on the UART site fails as a device fault, with the chip's "
                "state in full" % fault,
                res.get("class") == "device" and res.get("dut_state", "").startswith(state) and
                st.worker_pid("s1") is not None, res)
    res = result_of(provision("s1"))
    count_pass(res)
    t.check("... and the next chip on that site passes, whatever the last one left unread",
            res.get("status") == "PASS", res)

    # ---- malformed control messages ---------------------------------------------------------
    bad_lines = [
        (b"not json", "JSON"),
        (b"[1,2]", "object"),
        (b'{"cmd":"launch"}', "launch"),
        (b'{"cmd":"provision","site":"s0"}', "sku"),
        (b'{"cmd":"provision","site":"s0","sku":"sival","colour":1}', "colour"),
        (b'{"cmd":"provision","site":"nope","sku":"sival"}', "unknown site"),
        (b'{"cmd":"provision","site":"s0","sku":"sival","din":{"week":52}}', "din.week"),
        (b'{"cmd":"abort","site":"s2"}', "no DUT in progress"),
        (b'{"cmd":"status"} {"cmd":"status"}', ""),
        (b"\xff\xfe\x00", ""),
        (b"x" * 70000, "longer than"),
    ]
    ok = True
    with Control(st.path("ctl.sock")) as c:
        for line, text in bad_lines:
            ev = c.call(line)[-1]
            if ev.get("event") != "error" or text not in ev.get("error", ""):
                ok = False
                print("   %r: %s" % (line[:40], ev))
        alive = c.call({"cmd": "status", "id": "after"})[-1]
    t.check("%d malformed requests each get a clear error on the same connection" %
            len(bad_lines), ok)
    t.check("... and the daemon answers the next request",
            alive.get("event") == "reply" and alive.get("id") == "after")

    # ---- an idempotent request id ---------------------------------------------------------
    first = result_of(provision("s1", request_id="lot42-dut7"))
    count_pass(first)
    again = st.request({"cmd": "provision", "site": "s1", "sku": "sival",
                        "request_id": "lot42-dut7"})[-1]
    s1 = [s for s in st.request({"cmd": "status"})[-1]["sites"] if s["name"] == "s1"][0]
    t.check("a request_id seen before returns its result without personalizing again",
            first.get("status") == "PASS" and again.get("replayed") is True and
            again.get("device_id") == first.get("device_id"), again)
    t.check("... the site ran no DUT for it", s1["passes"] == 4 and s1["fails"] == 3, s1)

    # ---- a plugin hang on one site while the others PASS ------------------------------------
    conns = {}
    for site, sku in (("s3", "tpm_hang"), ("s0", "sival"), ("s1", "sival"), ("s2", "sival")):
        if site in socket_sites:
            st.next_chip(site)
        c = Control(st.path("ctl.sock"))
        c.send({"cmd": "provision", "id": site, "site": site, "sku": sku})
        conns[site] = c
    res = {site: result_of(c.events()) for site, c in conns.items()}
    for c in conns.values():
        c.sock.close()
    for r in res.values():
        count_pass(r)
    t.check("a hanging plugin fails its site's DUT at perso-ft-ext (class plugin)",
            res["s3"].get("exit_class") == 5 and "perso-ft-ext" in res["s3"].get("error", ""),
            res["s3"])
    t.check("... while the three other sites PASS",
            all(res[s].get("status") == "PASS" for s in ("s0", "s1", "s2")))

    # ---- abort ------------------------------------------------------------------------------
    st.next_chip("s0")
    with Control(st.path("ctl.sock")) as a:
        a.send({"cmd": "provision", "id": "to-abort", "site": "s0", "sku": "sival"})
        a.event()  # accepted
        a.event()  # the first step ended: the DUT is under way
        reply = st.request({"cmd": "abort", "site": "s0"})[-1]
        res = result_of(a.events())
    t.check("abort ends the site's DUT with class aborted (7)",
            reply.get("event") == "reply" and res.get("exit_class") == 7, res)

    # ---- a worker killed mid-DUT ------------------------------------------------------------
    st.next_chip("s3")
    with Control(st.path("ctl.sock")) as a:
        a.send({"cmd": "provision", "id": "victim", "site": "s3", "sku": "emulation_tpm"})
        a.event()
        a.event()
        victim = st.worker_pid("s3")
        os.kill(victim, signal.SIGKILL)
        res = result_of(a.events())
    t.check("a worker killed mid-DUT fails only that DUT, naming the signal (class internal)",
            res.get("exit_class") == 1 and "killed by signal 9" in res.get("error", ""), res)
    killed = {}
    if res.get("record_file"):
        killed = json.load(open(st.path("records", res["record_file"])))
    t.check("... its record is closed: FAIL, the error, the chip's state as written, and the "
            "result carries that state",
            killed.get("status") == "FAIL" and killed.get("error", {}).get("code") == "internal"
            and "killed by signal 9" in killed["error"].get("message", "") and
            killed.get("dut_state") and res.get("dut_state") == killed["dut_state"] and
            not os.path.exists(st.path("records", "inflight", "s3.json")), (res, killed))
    s3 = wait_for("s3 back", lambda: [s for s in st.request({"cmd": "status"})[-1]["sites"]
                                      if s["name"] == "s3" and s["state"] == "idle"])
    t.check("... the worker is restarted (restarts 1)", s3[0]["restarts"] == 1, s3)
    res = result_of(provision("s3", "emulation_tpm"))
    count_pass(res)
    t.check("... and the site's next DUT passes", res.get("status") == "PASS", res)

    # ---- the registration spool ---------------------------------------------------------
    wait_for("the spool drained", lambda: spool_status()["depth"] == 0)
    t.check("every PASS so far is registered (registry %d, PASS %d)" %
            (st.registry_count(), passes), st.registry_count() == passes)
    uploader = st.uploader_pid()
    os.kill(uploader, signal.SIGSTOP)
    for site in ("s0", "s1", "s2"):
        r = result_of(provision(site))
        count_pass(r)
    spool = spool_status()
    t.check("with the uploader held, PASSes wait in the spool (depth 3)", spool["depth"] == 3,
            spool)
    port = st.port
    st.service_stop()
    # The first DUT after the service went away may hold a token fetched while it was up
    # and fail at EndorseCerts; its fetch ahead failed, so every later one is refused
    # before the chip is touched.
    first_down = result_of(provision("s0"))
    down = result_of(provision("s0"))
    t.check("with the service down DUTs fail as the service's (class 4)",
            first_down.get("exit_class") == 4 and down.get("exit_class") == 4,
            (first_down, down))
    t.check("... and new DUTs are refused before the chip is touched",
            "chip untouched" in down.get("error", "") and
            down.get("dut_state", "").startswith("untouched"), down)
    os.kill(uploader, signal.SIGCONT)
    spool = wait_for("an upload error", lambda: (lambda s: s if s["last_error"] else None)(
        spool_status()))
    t.check("... the spool keeps its entries and says why (depth 3)", spool["depth"] == 3, spool)
    st.service_start(port)
    wait_for("the spool drained", lambda: spool_status()["depth"] == 0)
    t.check("when the service is back the spool drains with no duplicate (registry %d, PASS %d)"
            % (st.registry_count(), passes), st.registry_count() == passes)

    # ---- reload ---------------------------------------------------------------------------
    st.next_chip("s0")
    with Control(st.path("ctl.sock")) as a:
        a.send({"cmd": "provision", "id": "during-reload", "site": "s0", "sku": "sival"})
        a.event()
        cfg = json.load(open(st.config))
        cfg["plugin_deadline_ms"] = 3000
        with open(st.config, "w") as f:
            json.dump(cfg, f)
        reply = st.request({"cmd": "reload"})[-1]
        res = result_of(a.events())
    count_pass(res)
    t.check("reload during a DUT is accepted and the DUT passes on the old configuration",
            reply.get("event") == "reply" and res.get("status") == "PASS", (reply, res))
    wait_for("sites idle after reload", lambda: all(
        s["state"] == "idle" for s in st.request({"cmd": "status"})[-1]["sites"]))
    res = result_of(provision("s0"))
    count_pass(res)
    t.check("... the next DUT runs on the new one", res.get("status") == "PASS", res)
    cfg["sites"].append({"name": "s9", "console": "uart:/dev/null"})
    with open(st.config, "w") as f:
        json.dump(cfg, f)
    reply = st.request({"cmd": "reload"})[-1]
    t.check("a reload that adds a site is refused, the running configuration stays",
            reply.get("event") == "error" and "restart the daemon" in reply.get("error", ""),
            reply)
    cfg["sites"].pop()
    cfg["dut_deadline_s"] = 0
    with open(st.config, "w") as f:
        json.dump(cfg, f)
    os.kill(st.supervisor_pid(), signal.SIGHUP)
    reply = st.request({"cmd": "status"})[-1]
    t.check("SIGHUP with a bad configuration leaves the daemon running",
            reply.get("event") == "reply" and "dut_deadline_s" in open(
                st.path("ftharnessd.log")).read(), reply)
    cfg["dut_deadline_s"] = 60
    with open(st.config, "w") as f:
        json.dump(cfg, f)

    # ---- SIGTERM drains ---------------------------------------------------------------------
    st.next_chip("s0")
    with Control(st.path("ctl.sock")) as a:
        a.send({"cmd": "provision", "id": "drained", "site": "s0", "sku": "sival"})
        a.event()
        st.daemon.terminate()
        res = result_of(a.events())
    count_pass(res)
    code = st.daemon.wait(60)  # ftdi_testbed exits with the daemon's status
    t.check("SIGTERM lets the DUT in flight finish and report PASS, then exits 0",
            res.get("status") == "PASS" and code == 0, (res, code))
    t.check("... and removes its control socket", not os.path.exists(st.path("ctl.sock")))

    # ---- kill -9 of the supervisor mid-run ----------------------------------------------
    st.start_daemon()
    conns = []
    for site in ("s0", "s1", "s2"):
        if site in socket_sites:
            st.next_chip(site)
        c = Control(st.path("ctl.sock"))
        c.send({"cmd": "provision", "id": site, "site": site, "sku": "sival",
                "request_id": "k-" + site})
        c.event()
        conns.append(c)
    workers = [st.worker_pid(s) for s in ("s0", "s1", "s2")]
    os.kill(st.supervisor_pid(), signal.SIGKILL)
    st.daemon.wait()
    for c in conns:
        c.sock.close()
    wait_for("the orphaned workers to finish their DUTs",
             lambda: not any(os.path.exists("/proc/%d" % p) for p in workers if p))
    st.start_daemon()
    wait_for("the spool drained", lambda: spool_status()["depth"] == 0)
    records = [json.load(open(st.path("records", n))) for n in os.listdir(st.path("records"))
               if n.endswith(".json")]
    passed = [r for r in records if r.get("status") == "PASS"]
    t.check("after kill -9 of the supervisor and a restart every PASS record is registered "
            "once (records %d, registry %d)" % (len(passed), st.registry_count()),
            len(passed) == st.registry_count() and len(passed) >= passes + 3)
    recovered = [r for r in st.request({"cmd": "records", "limit": 10})[-1]["records"]
                 if r.get("recovered")]
    t.check("... the three DUTs in flight at the kill are in records with their outcome",
            sorted(r["site"] for r in recovered) == ["s0", "s1", "s2"] and
            all(r["status"] == "PASS" for r in recovered), recovered)
    again = st.request({"cmd": "provision", "site": "s1", "sku": "sival",
                        "request_id": "k-s1"})[-1]
    old = st.request({"cmd": "provision", "site": "s1", "sku": "sival",
                      "request_id": "lot42-dut7"})[-1]
    t.check("... request ids from before the restart are answered, not run again",
            again.get("replayed") is True and again.get("status") == "PASS" and
            old.get("replayed") is True and old.get("device_id") == first.get("device_id"),
            (again, old))
    res = result_of(provision("s0"))
    t.check("... and the restarted daemon personalizes", res.get("status") == "PASS", res)
    # No secret in the daemon's log: the SKU password, nor any wrapped RMA seed or device
    # seed the records hold.
    secrets = [open(st.password).read().strip()]
    for rec in records:
        secrets += [rec.get("rma_unlock_token", "")] + [x["bytes"] for x in rec.get("seeds", [])]
    logs = [n for n in os.listdir(st.work) if n.endswith(".log")]
    text = "".join(open(st.path(n), errors="replace").read() for n in logs)
    leaked = [x[:12] for x in secrets if x and x in text]
    t.check("no log of the run (%s) holds the password or a seed (%d secrets looked for)" %
            (", ".join(sorted(logs)), len([x for x in secrets if x])), not leaked, leaked)

    # ---- kill -9 of the supervisor, then of its orphaned worker, mid-DUT ---------------
    st.next_chip("s3")
    with Control(st.path("ctl.sock")) as a:
        a.send({"cmd": "provision", "id": "lost", "site": "s3", "sku": "emulation_tpm",
                "request_id": "lost-1"})
        a.event()
        a.event()
        worker = st.worker_pid("s3")
        os.kill(st.supervisor_pid(), signal.SIGKILL)
        os.kill(worker, signal.SIGKILL)
    st.daemon.wait()
    st.start_daemon()
    lost = st.request({"cmd": "provision", "site": "s3", "sku": "emulation_tpm",
                       "request_id": "lost-1"})[-1]
    t.check("a DUT whose worker died with the supervisor is reported interrupted after the "
            "restart, with the chip's last known state",
            lost.get("status") == "FAIL" and "interrupted" in lost.get("error", "") and
            lost.get("dut_state", "unknown") != "unknown" and lost.get("recovered") is True,
            lost)
    t.check("no spool entry was ever refused by the service", spool_status()["rejected"] == 0)
    st.daemon.terminate()
    st.daemon.wait(60)
finally:
    st.close()
t.finish()
