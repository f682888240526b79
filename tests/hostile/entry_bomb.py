#!/usr/bin/env python3
"""The entry-count bomb (issue 10, item 1), measured against the real server.

Builds zips whose central directory declares ENTRIES entries (2,080,000 by
default), in three disguises: plain ZIP64, one junk byte before the archive,
and a fake end record after the real one. Each is uploaded as a student; the
script prints the answer, the time it took and the server's memory growth.

    cargo build --release
    python3 tests/hostile/entry_bomb.py target/release/handin [ENTRIES]

Wanted: every variant refused in under 1 s, with under 16 MiB of growth.
"""
import os, struct, sys, time, urllib.request, uuid

from serve import Server

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/handin")
ENTRIES = int(sys.argv[2]) if len(sys.argv) > 2 else 2_080_000


def zip64_bomb(count):
    """`count` empty stored entries with one-byte names, and a ZIP64 end."""
    local, central = bytearray(), bytearray()
    for i in range(count):
        name = b"%x" % (i % 16)  # duplicate names: the parse, not the check, is the cost
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0,
                               len(name), 0, 0, 0, 0, 0, offset) + name
    directory_at = len(local)
    body = bytes(local) + bytes(central)
    record_at = len(body)
    end64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                        len(central), directory_at)
    locator = struct.pack("<IIQI", 0x07064B50, 0, record_at, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(central), directory_at, 0)
    return body + end64 + locator + end


def main():
    server = Server(BINARY)
    server.course("BOMB", "lab", "max_bundle_mib = 1024\n")
    server.student("eve", "BOMB")
    token = server.run("token", "eve").strip()
    with server:
        port = server.port
        bomb = zip64_bomb(ENTRIES)
        trailer = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, 0, 0, 0xFFFF)
        print(f"{ENTRIES} entries, {len(bomb) / 1e6:.0f} MB per bundle")
        for label, payload in [("zip64", bomb), ("junk before", b"J" + bomb),
                               ("fake end after", bomb + trailer)]:
            boundary = uuid.uuid4().hex
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; "
                    f"filename=\"bomb.zip\"\r\nContent-Type: application/zip\r\n\r\n").encode() \
                + payload + f"\r\n--{boundary}--\r\n".encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/courses/BOMB/assignments/lab/submissions",
                data=body, method="POST",
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": f"multipart/form-data; boundary={boundary}"})
            before = server.memory_kib("VmHWM")
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request) as answer:
                    status, text = answer.status, answer.read().decode()[:120]
            except urllib.error.HTTPError as e:
                status, text = e.code, e.read().decode()[:120]
            # The time after the last byte arrived is what the bomb costs; the
            # upload itself runs at loopback speed.
            took = time.monotonic() - started
            peak = server.memory_kib("VmHWM")
            print(f"{label:15} {status} in {took:.2f} s (upload included), peak memory "
                  f"{before // 1024} -> {peak // 1024} MiB: {text}")


if __name__ == "__main__":
    main()
