"""ftharnessd under load, in one run (figures and their ratios; goals from issue 14):

  sites     DUTs/s with 1, 4, 8 and 16 sites, each an ftsim chip row with upstream-like
            device timing; the ratio to 1 site (goal >= 15 at 16 sites)
  latency   per-DUT wall time with ftpa answering every RPC 50 ms late against 0 ms; the
            added time over one round trip (goal <= 1.2), and the service round trips per
            DUT in steady state (goal 1; upstream's flow 6)
  cpu       the daemon's CPU per DUT (supervisor, workers, plugin runners) against ftsim's
            and ftpa's, device delays zero (goal <= 0.5)
  rss       the daemon's resident memory (supervisor + workers + uploader) after the first
            and the last block of DUTs over 8 sites, device delays zero (goal: flat, <= 32 MB)

usage: bench_daemon.py BUILD_DIR SKU_DIR SCRATCH [RSS_DUTS]"""
import importlib.util
import os
import sys
import threading
import time

build, skus, work = [os.path.abspath(a) for a in sys.argv[1:4]]
rss_duts = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "daemon_lib", os.path.join(here, "..", "tests", "daemon", "daemon_lib.py"))
lib = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lib)
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, children=True):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)) / tick


def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """Proportional set size: shared library pages split among the processes using them."""
    try:
        for line in open("/proc/%d/smaps_rollup" % pid):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def daemon_pids(st):
    kids = [int(p) for p in os.listdir("/proc") if p.isdigit() and
            os.path.exists("/proc/%s/stat" % p) and
            open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[1] == str(st.daemon.pid)]
    return [st.daemon.pid] + kids


class Run:
    """ftpa, n ftsim chip rows and the daemon with n sites."""

    def __init__(self, name, n, timing, latency_ms=0):
        self.st = lib.Station([os.path.join(build, "src", "ftharnessd"),
                               os.path.join(build, "src", "ftharness"),
                               os.path.join(build, "src", "sim", "ftsim"),
                               os.path.join(build, "src", "pa", "ftpa"), skus,
                               os.path.join(work, name), os.path.join(build, "plugins"),
                               os.path.join(build, "test-plugins")])
        st = self.st
        st.service_init(("sival",))
        st.service_start(extra=["--threads", "64"] +
                         (["--latency-ms", str(latency_ms)] if latency_ms else []))
        st.sku_dir()
        self.sites = ["s%d" % i for i in range(n)]
        sites = [{"name": s, "console": st.chip(s, "spi-sim", seed=i + 1,
                                                  extra=["--timing", timing])}
                 for i, s in enumerate(self.sites)]
        st.write_config(sites)
        st.start_daemon()
        self.failures = 0

    def duts(self, per_site):
        """per_site DUTs on every site at once; returns the wall time."""
        def site_loop(site):
            for _ in range(per_site):
                self.st.next_chip(site)
                ev = self.st.request({"cmd": "provision", "site": site, "sku": "sival"})[-1]
                if ev.get("status") != "PASS":
                    self.failures += 1
                    print("   %s: %s" % (site, ev.get("error") or ev))
        threads = [threading.Thread(target=site_loop, args=(s,)) for s in self.sites]
        start = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.monotonic() - start

    def rpcs(self):
        """Calls on the sites' sessions so far, by RPC ("<6>ftpa: RPC user=ID -> ...")."""
        users = tuple(" user=%s " % u for u in self.user_ids())
        calls = {}
        for line in open(self.st.path("ftpa.log")):
            if any(u in line for u in users):
                rpc = line.split("ftpa: ", 1)[1].split()[0]
                calls[rpc] = calls.get(rpc, 0) + 1
        return calls

    def user_ids(self):
        host = os.uname().nodename
        return ["%s/%s" % (host, s) for s in self.sites]

    def close(self):
        self.st.daemon.terminate()
        self.st.daemon.wait(60)
        self.st.close()


def host_busy():
    """Busy and total jiffies of all CPUs (/proc/stat)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def sites_bench():
    print("== DUTs/s against sites (upstream-like device timing, sival, SPI socket)")
    rates = {}
    for n in (1, 4, 8, 16):
        run = Run("sites-%d" % n, n, "upstream")
        run.duts(1)  # sessions open
        per_site = 6
        busy0, total0 = host_busy()
        wall = run.duts(per_site)
        busy1, total1 = host_busy()
        rates[n] = n * per_site / wall
        print("  %2d sites: %6.2f DUTs/s  (%.2f x 1 site), host CPUs %3.0f%% busy (%d)%s" % (
            n, rates[n], rates[n] / rates[1], 100.0 * (busy1 - busy0) / max(total1 - total0, 1),
            os.cpu_count(), "" if run.failures == 0 else "  %d FAILED" % run.failures))
        run.close()
    print("  ratio 16 sites / 1 site: %.2f (goal >= 15)" % (rates[16] / rates[1]))


def latency_bench():
    print("== per-DUT wall time against service latency (1 site, device delays zero)")
    walls = {}
    for latency in (0, 50):
        run = Run("latency-%d" % latency, 1, "zero", latency)
        run.duts(2)  # the session opens
        before = run.rpcs()
        duts = 10
        walls[latency] = run.duts(duts) / duts
        after = run.rpcs()
        per = {rpc: (after.get(rpc, 0) - before.get(rpc, 0)) / duts for rpc in after}
        print("  ftpa --latency-ms %2d: %7.1f ms per DUT; per DUT on the site's session: %s" % (
            latency, 1000 * walls[latency],
            ", ".join("%s %.1f" % kv for kv in sorted(per.items()) if kv[1])))
        run.close()
    added = walls[50] - walls[0]
    print("  added per DUT: %.1f ms = %.2f x one round trip (goal <= 1.2): the critical path "
          "holds EndorseCerts alone (DeriveTokens runs during the previous DUT, RegisterDevice "
          "in the uploader after the PASS; upstream's flow makes 6 calls per DUT)" % (
              1000 * added, added / 0.050))


def cpu_and_rss_bench():
    print("== daemon CPU and memory (8 sites, device delays zero)")
    run = Run("cpu", 8, "zero")
    run.duts(2)
    st = run.st
    sims = list(st.chips.values())
    block = max(rss_duts // 8 // 4, 1)  # four blocks of DUTs per site
    rss, pss = [], []
    cpu_d = cpu_s = cpu_p = 0.0
    total = 0
    for i in range(4):
        pids = daemon_pids(st)
        d0 = sum(cpu_seconds(p) for p in pids)
        s0 = sum(cpu_seconds(p.pid) for p in sims)
        p0 = cpu_seconds(st.pa.pid)
        run.duts(block)
        pids = daemon_pids(st)
        cpu_d += sum(cpu_seconds(p) for p in pids) - d0
        cpu_s += sum(cpu_seconds(p.pid) for p in sims) - s0
        cpu_p += cpu_seconds(st.pa.pid) - p0
        total += 8 * block
        rss.append(sum(rss_kib(p) for p in pids))
        pss.append(sum(pss_kib(p) for p in pids))
        print("  after %5d DUTs: daemon RSS %6.1f MB, PSS %6.1f MB (%d processes; supervisor "
              "RSS %.1f MB)" % (total, rss[-1] / 1024.0, pss[-1] / 1024.0, len(pids),
                                rss_kib(st.daemon.pid) / 1024.0))
    print("  daemon CPU per DUT %.1f ms; ftsim %.1f ms; ftpa %.1f ms; ratio daemon / (chip + "
          "service) %.2f (goal <= 0.5)" % (1000 * cpu_d / total, 1000 * cpu_s / total,
                                            1000 * cpu_p / total, cpu_d / max(cpu_s + cpu_p, 1e-9)))
    print("  RSS last / first block: %.2f (goal: flat); %.1f MB, PSS %.1f MB (goal <= 32)%s" % (
        rss[-1] / max(rss[0], 1), rss[-1] / 1024.0, pss[-1] / 1024.0,
        "" if run.failures == 0 else "  %d DUTs FAILED" % run.failures))
    run.close()


sites_bench()
latency_bench()
cpu_and_rss_bench()
