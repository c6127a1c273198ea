#!/usr/bin/env python3
"""Fault run for halftone-analytics: are acknowledged hits counted exactly once
through crashes, a database outage and a full disk?

20,000 beacons with unique ids are sent by 24 concurrent "browsers" that retry
as the real tracker does (on a 5xx or a broken connection, after 1, 3 and 9 s,
four tries in all). Meanwhile the run:
  - SIGKILLs the service three times (restarted at once, as systemd would),
  - freezes the database (connections hang) for 8 s, then cuts it (refused)
    for 8 s, through a TCP proxy in front of MariaDB (or, with --sqlite, locks
    the SQLite file exclusively for 8 s),
  - fills the spool's disk (a 24 MiB tmpfs) for 6 s.
At the end it waits for the ledger to settle and compares: distinct ids
acknowledged (202) against views counted in the database.

usage: benches/analytics_faults.py [--sqlite] [--hits N]   (run as root: tmpfs)
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

SECRET = "fault-secret-0123456789"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def close(*sockets):
    """shutdown() first: close() alone does not end a connection while another
    thread is blocked reading it, and the server would keep it (and its locks)."""
    for s in sockets:
        if s is None:
            continue
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


class Proxy:
    """TCP forwarder to MariaDB that can freeze (hang) or cut (refuse)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.mode = "open"
        self.conns = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.sock.accept()
            if self.mode == "cut":
                client.close()
                continue
            if self.mode == "frozen":
                self.conns.append((client, None))
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.conns.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                while self.mode == "frozen":
                    time.sleep(0.05)
                if self.mode == "cut":
                    break
                b.sendall(data)
        except OSError:
            pass
        close(a, b)

    def set(self, mode):
        self.mode = mode
        if mode in ("cut", "open"):
            for pair in self.conns:
                close(*pair)
            self.conns = []


class Service:
    def __init__(self, binary, env):
        self.binary, self.env, self.proc, self.port = binary, env, None, None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary], env=self.env, stdout=subprocess.PIPE, stderr=open(self.env["LOG"], "a")
        )
        line = self.proc.stdout.readline().decode()
        assert line.startswith("listening on"), line
        threading.Thread(target=lambda p=self.proc: [None for _ in p.stdout], daemon=True).start()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def post(port, path, body, headers, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def get_json(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": "Bearer " + SECRET})
    return json.loads(conn.getresponse().read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--hits", type=int, default=20_000)
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "-q", "-p", "halftone-analytics"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target/release/halftone-analytics")
    work = tempfile.mkdtemp(prefix="ha-faults-")
    spool = os.path.join(work, "spool")
    os.makedirs(spool)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", spool], check=True)
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    service_port = port.getsockname()[1]
    port.close()

    proxy = None
    if args.sqlite:
        db_path = os.path.join(work, "analytics.db")
        url = "sqlite://" + db_path
    else:
        name = "ha_faults_%d" % os.getpid()
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", "CREATE DATABASE " + name], check=True)
        proxy = Proxy(3306)
        url = "mysql://root@127.0.0.1:%d/%s" % (proxy.port, name)

    env = dict(os.environ)
    env.update(
        HALFTONE_ANALYTICS_BIND="127.0.0.1:%d" % service_port,
        HALFTONE_ANALYTICS_DATABASE_URL=url,
        HALFTONE_ANALYTICS_SPOOL_DIR=spool,
        HALFTONE_ANALYTICS_SECRET=SECRET,
        HALFTONE_ANALYTICS_RATE_LIMIT="0",
        HALFTONE_ANALYTICS_FLUSH_MS="200",
        HALFTONE_LOG="warn",
        LOG=os.path.join(work, "service.log"),
    )
    service = Service(binary, env)
    service.start()

    acked, given_up, statuses = set(), [0], {}
    # Each hit has a path of its own, so the database says which were counted
    # and how often.
    lock = threading.Lock()
    ids = ["%024x" % random.getrandbits(96) for _ in range(args.hits)]
    queue = list(enumerate(ids))
    queue.reverse()

    def browser():
        while True:
            with lock:
                if not queue:
                    return
                n, hit_id = queue.pop()
            body = json.dumps({"id": hit_id, "p": "/f/%d" % n, "w": 1440})
            headers = {"Content-Type": "text/plain", "Origin": "https://comic.example",
                       "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
            for attempt in range(4):
                try:
                    status = post(service_port, "/api/hit", body, headers)
                except OSError:
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    with lock:
                        acked.add("/f/%d" % n)
                    break
                if status and status < 500:
                    break
                if attempt < 3:
                    time.sleep(3 ** attempt)
            else:
                with lock:
                    given_up[0] += 1
            # Spread the hits over the whole run, so every fault meets traffic.
            time.sleep(0.045)

    threads = [threading.Thread(target=browser, daemon=True) for _ in range(24)]
    started = time.time()
    for t in threads:
        t.start()

    def at(seconds):
        time.sleep(max(0, started + seconds - time.time()))

    events = []
    at(3); service.kill(); service.start(); events.append("SIGKILL 1")
    at(6)
    if proxy:
        proxy.set("frozen"); events.append("database frozen")
        at(14); proxy.set("cut"); events.append("database cut")
        at(22); proxy.set("open"); events.append("database back")
    else:
        locker = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        events.append("database locked")
        at(22); locker.execute("COMMIT"); locker.close(); events.append("database back")
    at(24); service.kill(); service.start(); events.append("SIGKILL 2")
    at(27)
    filler = os.path.join(spool, "filler")
    subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=64"], stderr=subprocess.DEVNULL)
    events.append("disk full")
    at(33); os.remove(filler); events.append("disk freed")
    at(36); service.kill(); service.start(); events.append("SIGKILL 3")
    for t in threads:
        t.join()
    sending = time.time() - started

    deadline = time.time() + 120
    while True:
        ledger = get_json(service_port, "/api/ledger")
        if ledger["database_up"] and ledger["lag"] == 0:
            break
        if time.time() > deadline:
            print("never settled", ledger)
            break
        time.sleep(0.5)
    service.stop()

    query = "SELECT dim, n FROM %scounts WHERE metric='path'"
    if args.sqlite:
        rows = sqlite3.connect(db_path).execute(query % "").fetchall()
    else:
        out = subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-N", "-e", query % (name + ".")],
                             capture_output=True, text=True, check=True)
        rows = [(line.split("\t")[0], int(line.split("\t")[1])) for line in out.stdout.splitlines() if line]
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", "DROP DATABASE " + name])
    per_path = {}
    for dim, n in rows:  # hourly rows: a run crossing an hour has two per path
        per_path[dim] = per_path.get(dim, 0) + n
    subprocess.run(["umount", spool])
    shutil.rmtree(work, ignore_errors=True)

    print("backend:            ", "SQLite" if args.sqlite else "MariaDB")
    print("faults:             ", ", ".join(events))
    print("sent (unique ids):  ", args.hits)
    print("acknowledged (202): ", len(acked))
    print("given up by client: ", given_up[0], "(4 tries failed: never acknowledged)")
    counted = set(per_path)
    twice = sum(n - 1 for n in per_path.values() if n > 1)
    print("counted in database:", sum(per_path.values()))
    print("lost (acknowledged, not counted):", len(acked - counted))
    print("counted twice:      ", twice)
    print("stored, answer lost (counted, client saw no 202):", len(counted - acked))
    print("answers:            ", dict(sorted(statuses.items())))
    print("sending took %.1f s" % sending)
    sys.exit(0 if not (acked - counted) and twice == 0 else 1)


if __name__ == "__main__":
    main()
