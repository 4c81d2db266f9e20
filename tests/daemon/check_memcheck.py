#!/usr/bin/python3
"""Reads the valgrind memcheck logs of a daemon run (one per process, --log-file=DIR/%p)
and fails unless every process ended with no error and nothing definitely or indirectly
lost. Prints one line per process and a total.

usage: check_memcheck.py LOG_DIR
"""
import os
import re
import sys

logs = {}
for name in sorted(os.listdir(sys.argv[1])):
    text = open(os.path.join(sys.argv[1], name), errors="replace").read()
    pid = re.search(r"^==(\d+)==", text)
    parent = re.search(r"== Parent PID: (\d+)", text)
    if pid:
        logs[pid.group(1)] = (name, text, parent.group(1) if parent else "")
bad = 0
processes = 0
exec_children = 0
for pid, (name, text, parent) in logs.items():
    command = re.search(r"== Command: (.*)", text)
    if command is None or "ftharnessd" not in command.group(1):
        continue  # not a daemon process
    if "ERROR SUMMARY" not in text and parent in logs and "--site" in logs[parent][1]:
        # A worker's fork that exec'd the plugin runner, which memcheck does not follow
        # (--trace-children-skip): nothing of the daemon ran in it.
        exec_children += 1
        continue
    processes += 1
    role = ("worker " + command.group(1).split("--site ")[1].split()[0]
            if "--site " in command.group(1) else
            "uploader" if "--uploader" in command.group(1) else "supervisor")
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = {k: int(v.replace(",", "")) for k, v in
            re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", text)}
    freed = "All heap blocks were freed" in text
    ok = errors is not None and errors.group(1) == "0" and (
        freed or (lost.get("definitely", 1) == 0 and lost.get("indirectly", 1) == 0))
    bad += not ok
    print("%-4s %-12s %s errors, definitely lost %s, indirectly lost %s bytes (%s)"
          % ("ok" if ok else "FAIL", role, errors.group(1) if errors else "?",
             0 if freed else lost.get("definitely", "?"),
             0 if freed else lost.get("indirectly", "?"), name))
print("memcheck: %d daemon processes, %d with errors or leaks (%d forks that ran the plugin "
      "runner, not followed)" % (processes, bad, exec_children))
sys.exit(1 if bad or processes == 0 else 0)
