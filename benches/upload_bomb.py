#!/usr/bin/env python3
"""Memory under decompression bombs: the server's peak RSS (VmHWM) while an
owner uploads tiny PNGs that declare huge sizes, one and three at a time.

usage: benches/upload_bomb.py BINARY [BINARY...]
  (e.g. an old and a new build, to compare them in one run)

Each binary gets a fresh data dir and an owner; the script then uploads
  - a 16000×10000 PNG (19 KB of compressed zeros), once, then 3 in parallel,
  - a 6300×6300 PNG (39.7 M pixels, just under the new default limit), 3 in parallel,
and prints the answer, the time and the peak RSS after each step.
"""

import http.client
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

PASSWORD = "correct horse battery"


def png_of_zeros(width, height):
    """A valid grayscale PNG of the given size whose pixels are all zero."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def peak_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return 0.0


class Session:
    def __init__(self, port):
        self.port, self.cookies, self.csrf = port, {}, ""

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers["Origin"] = f"http://127.0.0.1:{self.port}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response.status, data

    def login(self):
        _, page = self.request("GET", "/admin/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode({"csrf_token": token, "email": "bomb@example.com", "password": PASSWORD})
        status, _ = self.request("POST", "/admin/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303, status
        _, page = self.request("GET", "/admin")
        self.csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()

    def upload(self, png, name):
        boundary = "bombboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
        status, data = self.request("POST", "/admin/media", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRF-Token": self.csrf})
        try:
            message = json.loads(data).get("error", "stored")
        except ValueError:
            message = data[:100]
        return status, message


def run(binary):
    data = tempfile.mkdtemp(prefix="bomb-")
    port = free_port()
    env = dict(os.environ, HALFTONE_DATA_DIR=data, HALFTONE_BIND=f"127.0.0.1:{port}",
               HALFTONE_PUBLIC_URL=f"http://127.0.0.1:{port}/", HALFTONE_LOG="warn")
    subprocess.run([binary, "user", "add", "bomb@example.com", "--name", "Bomb", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if Session(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        session = Session(port)
        session.login()
        print(f"\n{binary}")
        print(f"  idle: peak RSS {peak_mib(server.pid):.0f} MiB")
        huge = png_of_zeros(16000, 10000)
        allowed = png_of_zeros(6300, 6300)
        for label, png, parallel in [("16000×10000 PNG (%d KB)" % (len(huge) // 1024), huge, 1),
                                     ("16000×10000 PNG, 3 at once", huge, 3),
                                     ("6300×6300 PNG (%d KB), 3 at once" % (len(allowed) // 1024), allowed, 3)]:
            results = []
            started = time.time()
            threads = [threading.Thread(target=lambda i=i: results.append(session.upload(png, f"bomb{i}.png")))
                       for i in range(parallel)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.time() - started
            answers = sorted(set(f"{s} {m}" for s, m in results))
            print(f"  {label}: {took:.1f} s, peak RSS {peak_mib(server.pid):.0f} MiB; answers: {answers}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    for binary in sys.argv[1:] or [os.path.join(os.path.dirname(__file__), "..", "target", "release", "halftone")]:
        run(binary)
