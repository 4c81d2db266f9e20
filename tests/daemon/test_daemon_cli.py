#!/usr/bin/python3
"""ftharness's client verbs against a running ftharnessd: provision (with and without
--wait), status, sites, skus, abort, reload and records, human and --json output, and the
exit statuses of a refusal and of an unreachable daemon.

usage: test_daemon_cli.py FTHARNESSD FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR TEST_PLUGIN_DIR
"""
import grp
import importlib.util
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_lib import Results, Station  # noqa: E402

t = Results()
st = Station(sys.argv[1:])


def cli(*args):
    env = dict(os.environ, FTHARNESS_CONTROL_SOCKET=st.path("ctl.sock"))
    return subprocess.run([st.ftharness] + list(args), capture_output=True, text=True, env=env,
                          timeout=120)


try:
    st.service_init(("sival",))
    st.service_start()
    st.sku_dir()
    console = st.chip("s0", "spi-sim", seed=11)
    group = grp.getgrgid(os.getgid()).gr_name
    st.write_config([{"name": "s0", "console": console, "reset": True},
                     {"name": "s1", "console": "uart:/dev/null"}],
                    control={"socket": st.path("ctl.sock"), "group": group})
    st.start_daemon(wait_ready=False)
    st.wait_sites(lambda s: s["name"] != "s0" or s["state"] == "idle")

    info = os.stat(st.path("ctl.sock"))
    t.check("the control socket: mode 0660, group control.group (%s)" % group,
            info.st_mode & 0o777 == 0o660 and info.st_gid == os.getgid(), oct(info.st_mode))
    r = cli("sites")
    t.check("sites: one line per site with its console",
            r.returncode == 0 and r.stdout.splitlines()[0].split() == ["s0", console], r)
    r = cli("skus", "--json")
    reply = json.loads(r.stdout.splitlines()[-1]) if r.stdout else {}
    t.check("skus --json: the daemon's reply line",
            sorted(reply.get("skus", [])) == ["emulation_tpm", "sival"], r)

    st.next_chip("s0")
    r = cli("provision", "--site", "s0", "--sku", "sival", "--wait", "--lot", "7", "--y", "3")
    t.check("provision --wait: each step on stderr, PASS, exit 0",
            r.returncode == 0 and "perso-tbs-export" in r.stderr and "PASS (site s0" in r.stderr,
            r.stderr)
    device = r.stderr.split("PASS (site s0, sival, ")[1].split(")")[0] if r.returncode == 0 else ""

    st.next_chip("s0")
    r = cli("provision", "--site", "s0", "--sku", "sival", "--json", "--wait",
            "--request-id", "cli-1")
    events = [json.loads(line) for line in r.stdout.splitlines()]
    t.check("provision --json --wait: accepted, progress events, one result",
            r.returncode == 0 and events[0]["event"] == "accepted" and
            events[-1]["event"] == "result" and
            any(e["event"] == "progress" for e in events), r.stdout[-500:])

    st.next_chip("s0")
    r = cli("provision", "--site", "s0", "--sku", "sival")
    t.check("provision without --wait returns once the site accepted the DUT",
            r.returncode == 0 and "accepted" in r.stderr, r)
    r2 = cli("provision", "--site", "s0", "--sku", "sival")
    t.check("... a second one while it runs is refused: exit 2 naming the busy site",
            r2.returncode == 2 and "site s0 is busy" in r2.stderr, r2)
    st.wait_sites(lambda s: s["name"] != "s0" or s["state"] == "idle")

    # The example client of docs/control-api.md, as a tester program would use it.
    spec = importlib.util.spec_from_file_location(
        "example", os.path.join(os.path.dirname(st.skus), "docs", "examples",
                                "ftharnessd_client.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    st.next_chip("s0")
    res = example.provision("s0", "sival", request_id="example-1", din={"lot": 42, "y": 9},
                            path=st.path("ctl.sock"))
    again = example.provision("s0", "sival", request_id="example-1", path=st.path("ctl.sock"))
    t.check("the documented example client personalizes, and replays by request_id",
            res["status"] == "PASS" and again.get("replayed") is True and
            again["device_id"] == res["device_id"], (res.get("error"), again.get("error")))

    r = cli("status")
    t.check("status: a table of sites with their state and counts",
            r.returncode == 0 and any(l.split()[:4] == ["s0", "idle", "4", "0"]
                                      for l in r.stdout.splitlines()) and
            "registration: spool" in r.stdout, r.stdout)
    r = cli("status", "--json")
    t.check("status --json: the daemon's reply",
            r.returncode == 0 and json.loads(r.stdout)["cmd"] == "status", r.stdout)
    r = cli("records", "--device-id", device)
    t.check("records --device-id: that device's result",
            r.returncode == 0 and len(r.stdout.splitlines()) == 1 and device in r.stdout, r)
    r = cli("records", "--since", "1h")
    t.check("records --since 1h: every result of this run, each with its time",
            r.returncode == 0 and len(r.stdout.splitlines()) == 4 and
            all(l[:2] == "20" and l[10] == " " for l in r.stdout.splitlines()), r.stdout)
    r = cli("records", "--since", "2099-01-01T00:00")
    t.check("records --since a time to come: none", r.returncode == 0 and r.stdout == "", r)
    r = cli("records", "--since", "yesterday")
    t.check("records --since with a bad time: exit 2 saying what it takes",
            r.returncode == 2 and "YYYY-MM-DDTHH:MM" in r.stderr, r)
    r = cli("status", "--watch", "--interval", "0.1", "--count", "3")
    t.check("status --watch --count 3: the view three times",
            r.returncode == 0 and r.stdout.count("ftharnessd ") == 3 and
            r.stdout.count("\ns0 ") == 3, r.stdout)

    r = cli("abort", "--site", "s0")
    t.check("abort with no DUT in progress: exit 2 saying so",
            r.returncode == 2 and "no DUT in progress" in r.stderr, r)
    r = cli("reload")
    t.check("reload: exit 0", r.returncode == 0 and "reload" in r.stdout, r)
    r = cli("provision", "--site", "nowhere", "--sku", "sival")
    t.check("provision to an unknown site: exit 2 naming it",
            r.returncode == 2 and "unknown site" in r.stderr, r)
    r = cli("provision", "--site", "s0")
    t.check("provision without --sku: usage, exit 2", r.returncode == 2 and "--sku" in r.stderr, r)
    r = subprocess.run([st.ftharness, "status", "--socket", st.path("none.sock")],
                       capture_output=True, text=True)
    t.check("an unreachable daemon: exit 1 naming the socket",
            r.returncode == 1 and "none.sock" in r.stderr, r)
    st.daemon.terminate()
    st.daemon.wait(60)

    # ---- under systemd: the notification socket, and registration before PASS -----------
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(st.path("notify.sock"))
    notify.settimeout(30)
    cfg = json.load(open(st.config))
    cfg["service"]["register"] = "sync"
    with open(st.config, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, NOTIFY_SOCKET=st.path("notify.sock"), WATCHDOG_USEC="200000")
    st.start_daemon(wait_ready=False, env=env)
    said = []

    def heard(text):
        """Reads the daemon's notifications until one starts with `text`."""
        while not any(m.startswith(text) for m in said):
            said.append(notify.recv(4096).decode())
        return True

    t.check("sd_notify: READY=1 once the control socket listens, then STATUS=",
            heard("READY=1") and heard("STATUS=") and os.path.exists(st.path("ctl.sock")))
    said.clear()
    t.check("sd_notify: WATCHDOG=1 every half WATCHDOG_USEC",
            heard("WATCHDOG=1") and (said.clear() or heard("WATCHDOG=1")))
    st.wait_sites(lambda s: s["name"] != "s0" or s["state"] == "idle")
    before = st.registry_count()
    st.next_chip("s0")
    res = st.request({"cmd": "provision", "site": "s0", "sku": "sival"})[-1]
    t.check('"register": "sync": the device is in the registry when its PASS is reported',
            res.get("status") == "PASS" and st.registry_count() == before + 1 and
            res.get("dut_state") == "personalized and registered", res)
    spool = st.request({"cmd": "status"})[-1]["spool"]
    t.check("... and status says so, with no uploader", spool["register"] == "sync" and
            spool["depth"] == 0 and not spool["uploader_running"], spool)
    st.daemon.terminate()
    said.clear()
    t.check("sd_notify: STOPPING=1 on SIGTERM", heard("STOPPING=1"))
    st.daemon.wait(60)
finally:
    st.close()
t.finish()
