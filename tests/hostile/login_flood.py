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
import http.client, os, re, socket, subprocess, sys, tempfile, threading, time, urllib.parse
from collections import Counter

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/handin")
FLOOD = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login_form(port, source):
    """A login page's token and the cookie that goes with it."""
    c = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=60)
    c.request("GET", "/login")
    r = c.getresponse()
    page = r.read().decode()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return token, cookie


def post_login(port, source, token, cookie, username, password):
    c = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=120)
    body = urllib.parse.urlencode({"csrf": token, "username": username, "password": password, "next": "/"})
    c.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    r = c.getresponse()
    r.read()
    return r.status


def main():
    work = tempfile.mkdtemp(prefix="handin-flood-")
    port = free_port()
    env = dict(os.environ,
               ROCKET_DATABASE=f"{work}/handin.sqlite", ROCKET_UPLOADS_DIR=f"{work}/uploads",
               ROCKET_TEMPLATE_DIR=f"{ROOT}/templates", ROCKET_DEMO="false",
               ROCKET_SECRET_KEY="BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=",
               ROCKET_LOG_LEVEL="critical", ROCKET_ADDRESS="127.0.0.1", ROCKET_PORT=str(port),
               ROCKET_WORKERS="64")
    for name in ["student", "victim"]:
        subprocess.run([BINARY, "user", "add", name, "--role", "student"], env=env, check=True,
                       input=PASSWORD + "\n", capture_output=True, text=True)
    server = subprocess.Popen([BINARY], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        token, cookie = login_form(port, "127.0.0.1")
        answers = Counter()
        lock = threading.Lock()

        def flood(i):
            try:
                status = post_login(port, "127.0.0.1", token, cookie, "victim" if i % 2 else f"nobody{i}", "wrong")
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
        flood_time = time.monotonic() - started
        print(f"flood: {FLOOD} wrong logins from 127.0.0.1 in {flood_time:.1f} s: {dict(answers)}")
        for seconds, status in times:
            print(f"student from 127.0.0.2: {status} in {seconds * 1000:.0f} ms")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
