#!/usr/bin/python3
"""ftharnessd: a worker orphaned by kill -9 of its supervisor before it wrote its DUT's
markers (here: held in the service's DeriveTokens by a planted delay). The daemon started
again must not drive the site beside it: its worker waits for the site lock, the request
sent again is answered once the orphan's DUT is over, and the chip is personalized once.

usage: test_daemon_orphan.py FTHARNESSD FTHARNESS FTSIM FTPA SKU_DIR SCRATCH PLUGIN_DIR
                             TEST_PLUGIN_DIR FTDI_TESTBED
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_lib import Control, Results, Station  # noqa: E402

DELAY_MS = 3000


def main():
    t = Results()
    st = Station(sys.argv[1:10])
    faults = st.path("pa-faults")
    os.makedirs(faults)
    try:
        st.service_init(skus=("sival",))
        st.service_start(extra=["--fault-dir", faults, "--threads", "4"])
        st.sku_dir()
        console = st.chip("o0", "spi-sim")
        st.write_config([{"name": "o0", "console": console, "user_id": "orphan/o0"}])
        st.start_daemon()
        st.next_chip("o0")
        with open(os.path.join(faults, "orphan_o0.DeriveTokens"), "w") as f:
            f.write("delay %d\n" % DELAY_MS)
        with Control(st.path("ctl.sock")) as c:
            c.send({"cmd": "provision", "id": "a", "site": "o0", "sku": "sival",
                    "request_id": "orphan-1"})
            accepted = c.event()
            orphan = st.worker_pid("o0")
            # The worker is in DeriveTokens, before any marker: the planted delay is taken.
            deadline = time.monotonic() + 10
            while os.path.exists(os.path.join(faults, "orphan_o0.DeriveTokens")) and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
            os.kill(st.supervisor_pid(), signal.SIGKILL)
        st.daemon.wait()
        t.check("the DUT was accepted and its worker held in DeriveTokens when the supervisor "
                "was killed", accepted.get("event") == "accepted" and orphan and
                not os.path.exists(os.path.join(faults, "orphan_o0.DeriveTokens")),
                (accepted, orphan))
        st.start_daemon(wait_ready=False)
        refusals = []
        res = None
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                ev = st.request({"cmd": "provision", "site": "o0", "sku": "sival",
                                 "request_id": "orphan-1"})[-1]
            except OSError:
                ev = None  # the daemon is still starting
            if ev is not None and ev.get("event") == "result":
                res = ev
                break
            if ev is not None:
                refusals.append(ev.get("error", ""))
            time.sleep(0.1)
        info = st.chip_info("o0")
        log = open(st.path("ftharnessd.log")).read()
        t.check("the new worker waited for the orphan (site lock)",
                "waiting for the worker of the earlier daemon" in log, log[-1500:])
        t.check("the request sent again is answered with the orphan's outcome: PASS, "
                "replayed", res is not None and res.get("status") == "PASS" and
                res.get("replayed") is True, (res, refusals[-3:]))
        t.check("... until then it was refused, never run a second time (%d refusals)"
                % len(refusals), all("not ready" in m or "in flight" in m for m in refusals),
                refusals[:3])
        t.check("the chip was personalized once", info.get("completed") == 1 and
                info.get("perso_done"), info)
        st.wait_spool_drained(30)  # the uploader registers the PASS from the spool
        records = [json.load(open(st.path("records", n))) for n in os.listdir(st.path("records"))
                   if n.endswith(".json")]
        t.check("one record, PASS, and one device registered",
                [r["status"] for r in records] == ["PASS"] and st.registry_count() == 1,
                ([r["status"] for r in records], st.registry_count()))
        recovered = [r for r in st.request({"cmd": "records", "limit": 10})[-1]["records"]
                     if r.get("recovered")]
        t.check("the orphan's DUT is in records as recovered, PASS",
                [r.get("status") for r in recovered] == ["PASS"], recovered)
        st.next_chip("o0")
        again = st.request({"cmd": "provision", "site": "o0", "sku": "sival",
                            "request_id": "orphan-2"})[-1]
        t.check("the site personalizes the next chip", again.get("status") == "PASS", again)
    finally:
        st.close()
    t.finish()


if __name__ == "__main__":
    main()
