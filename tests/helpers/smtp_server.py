#!/usr/bin/python3
# A real SMTP server for the tests (Debian's python3-aiosmtpd): saves each accepted message as JSON
# in a folder, refuses recipients whose address contains "rechazar" (550), and can answer DATA slowly.
# Usage: smtp_server.py PORT OUTDIR [DATA_DELAY_SECONDS]; prints "ready" once it listens.
import asyncio
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Saver:
    def __init__(self, outdir, delay):
        self.outdir = outdir
        self.delay = delay
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if 'rechazar' in address:
            return '550 5.1.1 mailbox unavailable'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=('plain',))
        self.count += 1
        record = {
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'subject': str(message['subject']),
            'message_id': str(message['message-id']),
            'text': body.get_content() if body is not None else '',
        }
        name = os.path.join(self.outdir, '%d-%d.json' % (time.time_ns(), self.count))
        with open(name + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(name + '.tmp', name)
        return '250 Message accepted'


def main():
    port = int(sys.argv[1])
    outdir = sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    controller = Controller(Saver(outdir, delay), hostname='127.0.0.1', port=port)
    controller.start()
    print('ready', flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin (or kills us)
    finally:
        controller.stop()


main()
