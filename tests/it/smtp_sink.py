"""A real SMTP server for the tests (aiosmtpd): prints every accepted mail as
one JSON line on stdout. Addresses containing REJECT (env SMTP_SINK_REJECT)
are refused with 550, as a server refuses an unknown mailbox."""

import json
import os
import sys
import threading

from aiosmtpd.controller import Controller

REJECT = os.environ.get("SMTP_SINK_REJECT", "")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if REJECT and REJECT in address:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        line = json.dumps(
            {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", errors="replace"),
            }
        )
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    # Run until the test kills us or closes our stdin.
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    threading.current_thread().name = "smtp-sink"
    main()
