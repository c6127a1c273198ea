#!/usr/bin/env python3
"""Writes N comic-like PNG pages (flat colours, panel borders, line work) in
chapter folders, for import benchmarks. Pure standard library.

usage: make_images.py DIR N [CHAPTERS]
"""
import os, struct, sys, zlib

W, H = 900, 1280

def png(rows):
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))

def page(i):
    ink, paper = bytes((20, 18, 24)), bytes((250, 248, 240))
    tint = bytes(((i * 37) % 200 + 40, (i * 91) % 200 + 40, (i * 53) % 200 + 40))
    sky = bytes((min(255, tint[0] + 40), min(255, tint[1] + 40), min(255, tint[2] + 40)))
    rows = []
    panel_h = (H - 80) // 3
    for y in range(H):
        py = (y - 40) % (panel_h + 20) if y >= 40 else -1
        if y < 40 or y >= H - 40 or py >= panel_h:
            rows.append(paper * W)
            continue
        border = py < 5 or py >= panel_h - 5
        cols = 2 if (y // (panel_h + 20) + i) % 2 else 1
        width = (W - 80 - (cols - 1) * 20) // cols
        row = bytearray(paper * 40)
        for c in range(cols):
            if border:
                row += ink * width
            else:
                fill = sky if py < panel_h * 0.6 else tint
                # A character: a circle outline, and hatching lines.
                seg = bytearray(ink * 5 + fill * (width - 10) + ink * 5)
                cx, cy, r = width // 2 + (i * 13 % 60) - 30, panel_h // 2, 60
                dy = py - cy
                if abs(dy) <= r:
                    dx = int((r * r - dy * dy) ** 0.5)
                    for x in (cx - dx, cx + dx):
                        if 5 <= x < width - 8:
                            seg[3 * x:3 * x + 9] = ink * 3
                if py % 17 == 0:
                    seg[15 * 3:60 * 3] = ink * 45
                row += seg
            if c < cols - 1:
                row += paper * 20
        row += paper * (W - len(row) // 3)
        rows.append(bytes(row[:3 * W]))
    return png(rows)

def main():
    out, n = sys.argv[1], int(sys.argv[2])
    chapters = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    per = max(1, n // chapters)
    for i in range(n):
        folder = os.path.join(out, "ch%02d" % (i // per + 1))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "%03d.png" % (i % per + 1)), "wb") as f:
            f.write(page(i))

if __name__ == "__main__":
    main()
