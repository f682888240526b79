"""A real SMTP server for the tests: aiosmtpd, on 127.0.0.1:PORT, writing
each mail it receives to DIR as JSON, parsed by Python's own email package
(headers, the text and HTML bodies, attachments). handin's tests read those
files: what a mail client would see, decoded by code nobody here wrote.

    python3 tests/mail/sink.py PORT DIR
"""

import email
import email.policy
import json
import os
import sys
import threading

from aiosmtpd.controller import Controller


def lines(part):
    return part.get_content().replace("\r\n", "\n") if part is not None else None


class Keep:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        attachments = []
        for part in message.iter_attachments():
            content = part.get_content()
            if isinstance(content, bytes):
                content = content.decode("utf-8", errors="replace")
            attachments.append({
                "name": part.get_filename(),
                "content_type": part.get_content_type(),
                "content": content,
            })
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            # Lines end CRLF on the wire; the tests compare text as written.
            "text": lines(text),
            "html": lines(html),
            "attachments": attachments,
        }
        # Written whole, then renamed: a reader never sees half a mail.
        name = os.path.join(self.folder, "%06d.json" % self.count)
        with open(name + ".part", "w") as f:
            json.dump(record, f)
        os.rename(name + ".part", name)
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Keep(folder), hostname="127.0.0.1", port=port)
    controller.start()
    # Says it is listening, then waits to be killed.
    print("listening", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
