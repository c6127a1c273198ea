#!/usr/bin/env python3
"""Reads `wrk --latency` output on stdin; prints "req/s p50_ms p99_ms non2xx"."""
import re, sys

text = sys.stdin.read()

def ms(label):
    m = re.search(r"\s" + re.escape(label) + r"\s+([\d.]+)(us|ms|s)\b", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
failed = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {failed}")
