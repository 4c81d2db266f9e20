"""Host-side cost of personalizing one DUT, device delays set to zero, in one run:
harness CPU and wall time per DUT beside the CPU time ftsim (the chip) and ftpa (the
endorsement service) spend on it, their ratio, and the endorsement-service round trips
per DUT (upstream's flow makes 6: InitSession, GetCaSubjectKeys, DeriveTokens,
EndorseCerts, RegisterDevice and GetCaCerts or CloseSession).

usage: bench_flow.py BUILD_DIR SKU_DIR SCRATCH [DUTS]"""
import os
import resource
import shutil
import subprocess
import sys
import time

build, skus, work = sys.argv[1:4]
duts = int(sys.argv[4]) if len(sys.argv) > 4 else 20
ftharness = os.path.join(build, "src", "ftharness")
ftsim = os.path.join(build, "src", "sim", "ftsim")
ftpa = os.path.join(build, "src", "pa", "ftpa")
plugins = os.path.abspath(os.path.join(build, "plugins"))
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


pw = os.path.join(work, "pw")
open(pw, "w").write("bench\n")
os.chmod(pw, 0o600)  # ftharness refuses a password file others may read
journal = os.path.join(work, "journal")  # device records (ftharness --record-dir)
os.makedirs(journal, mode=0o700, exist_ok=True)
subprocess.run([ftpa, "init", "--config-dir", work + "/pa", "--sku", "emulation_tpm",
                "--hash-order", "UDS,CDI_0,CDI_1,TPM EK", "--password-file", pw],
               check=True, stdout=subprocess.DEVNULL)
log = open(os.path.join(work, "ftpa.log"), "w")
pa = subprocess.Popen([ftpa, "serve", "--config-dir", work + "/pa", "--db", work + "/reg.db"],
                      stdout=subprocess.PIPE, stderr=log, text=True)
port = pa.stdout.readline().split(":")[-1].split()[0]
seed = open(os.path.join(work, "pa", "emulation_tpm", "was-seed.hex")).read().strip()

wall = cpu_harness = cpu_sim = cpu_pa = 0.0
for i in range(duts):
    sock = os.path.join(work, "chip-%d.sock" % i)
    sim = subprocess.Popen([ftsim, "--socket", sock, "--sku", "emulation_tpm", "--timing", "zero",
                            "--seed", str(i + 1), "--y", str(i), "--was-seed", seed],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sim.stdout.readline()
    sim_before, pa_before = cpu_seconds(sim.pid), cpu_seconds(pa.pid)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    rc = subprocess.run([ftharness, "run", "--sku", os.path.join(skus, "emulation_tpm.json"),
                         "--console", "spi-sim:" + sock, "--pa", "http://127.0.0.1:" + port,
                         "--password-file", pw, "--user-id", "bench/%d" % i, "--y", str(i),
                         "--plugin-dir", plugins, "--record-dir", journal],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall += time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_harness += (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    cpu_sim += cpu_seconds(sim.pid) - sim_before
    cpu_pa += cpu_seconds(pa.pid) - pa_before
    sim.terminate()
    sim.wait()
    if rc != 0:
        sys.exit("DUT %d failed with exit %d" % (i, rc))
# What one InitSession costs the service (its bcrypt password check): `ftharness run`
# opens a session per DUT, a daemon once per site, so it is shown apart.
session_before = cpu_seconds(pa.pid)
init = '{"sku":"emulation_tpm","sku_auth":"bench"}'
for i in range(duts):
    subprocess.run([ftpa, "call", "--url", "http://127.0.0.1:" + port, "--user-id", "session/%d" % i,
                    "InitSession", init], check=True, stdout=subprocess.DEVNULL)
cpu_session = (cpu_seconds(pa.pid) - session_before) / duts
pa.terminate()
pa.wait()
log.close()
calls = [l for l in open(os.path.join(work, "ftpa.log")) if " user=bench/" in l]

print("%d DUTs (emulation_tpm, SPI console over the ftsim socket, device delays zero)" % duts)
print("  wall time per DUT            %8.1f ms" % (1000 * wall / duts))
print("  harness CPU per DUT          %8.1f ms" % (1000 * cpu_harness / duts))
print("  ftsim (chip) CPU per DUT     %8.1f ms" % (1000 * cpu_sim / duts))
print("  ftpa (service) CPU per DUT   %8.1f ms" % (1000 * cpu_pa / duts))
print("    of which InitSession      %8.1f ms (bcrypt; once per session)" % (1000 * cpu_session))
print("  ratio harness CPU / (chip + service CPU): %.2f" % (cpu_harness / max(cpu_sim + cpu_pa, 1e-9)))
steady_pa = max(cpu_pa / duts - cpu_session, 1e-9)
print("  ratio without the session:  %.2f (harness CPU / (chip + service CPU per DUT))"
      % (cpu_harness / duts / (cpu_sim / duts + steady_pa)))
print("  endorsement-service round trips per DUT: %.1f (upstream's flow: 6)" % (len(calls) / duts))
