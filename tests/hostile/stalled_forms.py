#!/usr/bin/env python3
"""Stalled small forms (issue 10, item 3), measured against the real server.

CONNECTIONS logged-in connections each start an extension request whose
`reason` is 15 MiB long and send it slowly; the script prints the server's
memory before and at the peak, and what each connection was told.

    cargo build --release
    python3 tests/hostile/stalled_forms.py target/release/handin [CONNECTIONS]

Wanted: memory flat (the reason is refused at its limit, and a body that
stalls is cut off after small_form_seconds).
"""
import http.client, os, socket, sys, threading, time, urllib.parse

from serve import PASSWORD, Server, csrf_of

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/handin")
CONNECTIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 80
BOUNDARY = "stalled-form-boundary"


def log_in(port, username):
    """A session cookie and the CSRF token of its forms."""
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/login")
    r = c.getresponse()
    token, login_cookie = csrf_of(r.read().decode()), r.getheader("Set-Cookie").split(";")[0]
    body = urllib.parse.urlencode({"csrf": token, "username": username, "password": PASSWORD, "next": "/"})
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": login_cookie})
    r = c.getresponse()
    r.read()
    session = r.getheader("Set-Cookie").split(";")[0]
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/courses/STALL/assignments/lab", headers={"Cookie": session})
    return session, csrf_of(c.getresponse().read().decode())


def main():
    server = Server(BINARY, ROCKET_SMALL_FORM_SECONDS="10")
    server.course("STALL", "lab")
    server.student("sam", "STALL")
    with server:
        port = server.port
        session, csrf = log_in(port, "sam")
        before = server.memory_kib("VmRSS")
        answers = []

        def stall():
            s = socket.create_connection(("127.0.0.1", port))
            head = (f"POST /courses/STALL/assignments/lab/extension-request HTTP/1.1\r\nHost: x\r\n"
                    f"Cookie: {session}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                    f"Content-Length: {16 * 1024 * 1024}\r\n\r\n"
                    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
                    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\n")
            s.sendall(head.encode())
            try:
                for _ in range(15 * 16):  # 15 MiB in 64 KiB pieces, slowly
                    s.sendall(b"x" * 65536)
                    time.sleep(0.01)
            except OSError:
                pass
            try:
                answers.append(s.recv(64).split(b"\r\n")[0].decode())
            except OSError as e:
                answers.append(type(e).__name__)
            s.close()

        threads = [threading.Thread(target=stall) for _ in range(CONNECTIONS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = server.memory_kib("VmHWM")
        print(f"{CONNECTIONS} connections x 15 MiB of reason in {time.monotonic() - started:.1f} s; "
              f"server memory {before // 1024} MiB before, peak {peak // 1024} MiB "
              f"(the peak includes the login's password check)")
        print("answers:", {a: answers.count(a) for a in set(answers)})


if __name__ == "__main__":
    main()
