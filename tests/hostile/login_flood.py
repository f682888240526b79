#!/usr/bin/env python3
"""A login flood (issue 10, item 6), measured against the real server.

One address (127.0.0.1) sends FLOOD wrong-password logins at once, with a
valid login form token; during the flood a student logs in from another
address (127.0.0.2), a few times. Prints the flood's answers and the
student's login times.

    cargo build --release
    python3 tests/hostile/login_flood.py target/release/handin [FLOOD]

Wanted: the student's login under 1 s while the flood runs.
"""
import http.client, os, sys, threading, time, urllib.parse
from collections import Counter

from serve import PASSWORD, Server, csrf_of

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/handin")
FLOOD = int(sys.argv[2]) if len(sys.argv) > 2 else 1500


def login_form(port, source):
    """A login page's token and the cookie that goes with it."""
    c = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=60)
    c.request("GET", "/login")
    r = c.getresponse()
    page = r.read().decode()
    return csrf_of(page), r.getheader("Set-Cookie").split(";")[0]


def post_login(port, source, token, cookie, username, password):
    c = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=120)
    body = urllib.parse.urlencode({"csrf": token, "username": username, "password": password, "next": "/"})
    c.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    r = c.getresponse()
    r.read()
    return r.status


def main():
    server = Server(BINARY, ROCKET_WORKERS="64")
    server.student("student")
    server.student("victim")
    with server:
        port = server.port
        token, cookie = login_form(port, "127.0.0.1")
        answers = Counter()
        lock = threading.Lock()

        def flood(i):
            try:
                name = "victim" if i % 2 else f"nobody{i}"
                status = post_login(port, "127.0.0.1", token, cookie, name, "wrong")
            except Exception as e:  # a refused connection counts too
                status = type(e).__name__
            with lock:
                answers[status] += 1

        threads = [threading.Thread(target=flood, args=(i,)) for i in range(FLOOD)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.5)
        times = []
        for _ in range(5):
            s_token, s_cookie = login_form(port, "127.0.0.2")
            begun = time.monotonic()
            status = post_login(port, "127.0.0.2", s_token, s_cookie, "student", PASSWORD)
            times.append((time.monotonic() - begun, status))
            time.sleep(0.2)
        for t in threads:
            t.join()
        print(f"flood: {FLOOD} wrong logins from 127.0.0.1 in {time.monotonic() - started:.1f} s: "
              f"{dict(answers)}")
        for seconds, status in times:
            print(f"student from 127.0.0.2: {status} in {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
