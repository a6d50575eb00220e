"""Two real Python services' output as three log collectors show it, for pycorr's tests.

The services are this script run as children (`web` and `worker`), on Debian's Python
3.11 with the standard logging module; their stdout and stderr lines are read with the
time each arrived and interleaved in that order. Then:
- journal.export: the lines as journald would store them for two systemd units
  (SYSLOG_IDENTIFIER, _PID, _HOSTNAME, the arrival time); systemd-journal-remote turns
  it into a journal file and journalctl prints it (-o short and -o short-iso);
- journal-multiline.export: the web service's records as systemd's JournalHandler
  would store them, one entry per record, a traceback with its newlines in MESSAGE
  (journalctl prints the further lines indented to the message's column);
- compose.log: as `docker compose logs` prints them (the name padded, then "| ");
- kubectl.log: as `kubectl logs --prefix` prints them ("[pod/NAME/CONTAINER] ");
- heroku.log: as `heroku logs` prints them (logplex: "TIME app[web.1]: "), with the
  router's line about the crash;
- github-actions.log: as a GitHub Actions job's raw log holds them (the runner's time
  with seven digits of fraction before every line, its "##[group]" and "##[error]"
  lines around the step).
Docker, a cluster, Heroku and a runner are not on the build machine, so the last four
prefixes are written here, to the collectors' documented formats; the lines after
them are real.

Usage: python3 collectors_app.py OUTDIR
"""
import logging
import os
import subprocess
import sys
import time


def web():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("shop.web")
    for i in range(3):
        log.info("request %d received", i)
        time.sleep(0.02)
    try:
        {"id": 7}["qty"]
    except KeyError as e:
        try:
            raise ValueError("order 7 has no quantity") from e
        except ValueError:
            log.exception("request 3 failed")
    log.info("request 4 received")


def worker():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("shop.jobs")
    for i in range(6):
        log.info("job %d progress", i)
        time.sleep(0.011)
    raise ConnectionError("broker went away")


def collect(outdir):
    procs = {}
    for name in ("web", "worker"):
        procs[name] = subprocess.Popen([sys.executable, __file__, name], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []  # (arrival time, name, pid, line)
    import selectors
    sel = selectors.DefaultSelector()
    for name, p in procs.items():
        sel.register(p.stdout, selectors.EVENT_READ, (name, p.pid))
    open_ = len(procs)
    while open_:
        for key, _ in sel.select():
            line = key.fileobj.readline()
            if not line:
                sel.unregister(key.fileobj)
                open_ -= 1
                continue
            lines.append((time.time(), key.data[0], key.data[1], line.rstrip("\n")))
    for p in procs.values():
        p.wait()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "journal.export"), "w") as f:
        for t, name, pid, line in lines:
            f.write(f"__REALTIME_TIMESTAMP={int(t * 1e6)}\n__MONOTONIC_TIMESTAMP={int(t * 1e6) % 10**9}\n"
                    f"_BOOT_ID=0f5c8e2a6d1b4c3e9a7f6b5d4c3b2a19\n_HOSTNAME=shop-vm1\n"
                    f"SYSLOG_IDENTIFIER={'shop-' + name}\n_PID={pid}\n_COMM=python3\nPRIORITY=6\n"
                    f"_SYSTEMD_UNIT=shop-{name}.service\nMESSAGE={line}\n\n")
    # A service logging to the journal itself (systemd's JournalHandler): one entry
    # per record, a traceback in the record's MESSAGE with its newlines (the export
    # format's binary field), which journalctl prints indented to the message column.
    import struct
    with open(os.path.join(outdir, "journal-multiline.export"), "wb") as f:
        web_lines = [(t, line) for t, name, pid, line in lines if name == "web"]
        records = []
        for t, line in web_lines:
            if line[:4].isdigit():
                records.append([t, line.split(" ", 4)[4]])  # JournalHandler's MESSAGE is %(message)s
            else:
                records[-1][1] += "\n" + line
        for i, (t, msg) in enumerate(records):
            b = msg.encode()
            prio = 3 if "\n" in msg else 6
            f.write(f"__REALTIME_TIMESTAMP={int(t * 1e6)}\n__MONOTONIC_TIMESTAMP={1000 + i}\n"
                    f"_BOOT_ID=0f5c8e2a6d1b4c3e9a7f6b5d4c3b2a19\n_HOSTNAME=shop-vm1\nSYSLOG_IDENTIFIER=shop-api\n"
                    f"_PID={procs['web'].pid}\nPRIORITY={prio}\n".encode())
            f.write(b"MESSAGE\n" + struct.pack("<Q", len(b)) + b + b"\n\n")
    width = max(len(f"{n}-1") for n in procs)
    with open(os.path.join(outdir, "compose.log"), "w") as f:
        for t, name, pid, line in lines:
            f.write(f"{(name + '-1').ljust(width)}  | {line}\n")
    def iso(t, digits, zone):
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
        return f"{whole}.{int((t % 1) * 10**digits):0{digits}d}{zone}"
    with open(os.path.join(outdir, "heroku.log"), "w") as f:
        for t, name, pid, line in lines:
            f.write(f"{iso(t, 6, '+00:00')} app[{name}.1]: {line}\n")
        t = lines[-1][0] + 0.2
        f.write(f"{iso(t, 6, '+00:00')} heroku[worker.1]: Process exited with status 1\n")
        f.write(f"{iso(t, 6, '+00:00')} heroku[worker.1]: State changed from up to crashed\n")
    with open(os.path.join(outdir, "github-actions.log"), "w") as f:
        t0 = lines[0][0] - 0.5
        f.write(f"{iso(t0, 7, 'Z')} ##[group]Run python3 collectors_app.py services\n")
        f.write(f"{iso(t0, 7, 'Z')} \x1b[36;1mpython3 collectors_app.py services\x1b[0m\n")
        f.write(f"{iso(t0, 7, 'Z')} shell: /usr/bin/bash -e {{0}}\n")
        f.write(f"{iso(t0, 7, 'Z')} ##[endgroup]\n")
        for t, name, pid, line in lines:
            f.write(f"{iso(t, 7, 'Z')} {line}\n")
        f.write(f"{iso(lines[-1][0] + 0.1, 7, 'Z')} ##[error]Process completed with exit code 1.\n")
    pods = {"web": "web-7d9f8c6b5-x2kqp", "worker": "worker-5b4c7d9f8-m8zt4"}
    with open(os.path.join(outdir, "kubectl.log"), "w") as f:
        for t, name, pid, line in lines:
            f.write(f"[pod/{pods[name]}/{name}] {line}\n")


if __name__ == "__main__":
    {"web": web, "worker": worker}.get(sys.argv[1], lambda: collect(sys.argv[1]))()
