#!/usr/bin/env python3
# A userspace delay line between two TUN devices, for the WAN figures (bench/wan-link.ts): this
# kernel has no netem. Every IP packet the kernel routes into TUN device A (in this namespace) is
# written into TUN device B (inside network namespace NS) DELAY_MS later, and the other way round.
# Order is kept (a FIFO per direction: the delay is constant). The rate limit is not done here but by
# a tbf qdisc on each TUN device's egress (the kernel's, as bench/netns.ts does), so packets wait in
# tbf (the bottleneck's queue), then cross this line (the propagation delay).
#   delay-line.py DEV_A NS DEV_B DELAY_MS
# Both devices already exist (ip tuntap add ... mode tun, persistent); prints "ready" once attached.
# Exits when stdin closes (its parent died) or on SIGTERM.
import collections
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    dev_a, ns, dev_b, delay_ms = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    delay = delay_ms / 1000.0
    a = open_tun(dev_a)
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open(f'/var/run/netns/{ns}', os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'setns')
    b = open_tun(dev_b)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # out[fd]: packets to write to fd, (due, bytes), oldest first.
    out = {a: collections.deque(), b: collections.deque()}
    peer = {a: b, b: a}
    ep = select.epoll()
    ep.register(a, select.EPOLLIN)
    ep.register(b, select.EPOLLIN)
    ep.register(0, select.EPOLLIN | select.EPOLLHUP)
    stats = {'packets': 0, 'bytes': 0, 'late_ms_max': 0.0}
    print('ready', flush=True)
    monotonic = time.monotonic
    read = os.read
    write = os.write
    while True:
        now = monotonic()
        due = min((q[0][0] for q in out.values() if q), default=None)
        timeout = -1 if due is None else max(0.0, due - now)
        for fd, _ in ep.poll(timeout):
            if fd == 0:
                if not os.read(0, 4096):
                    sys.stderr.write(f'delay-line: {stats}\n')
                    return
                continue
            q = out[peer[fd]]
            t = monotonic() + delay
            # Drain what is there: each read is one packet.
            for _ in range(256):
                try:
                    pkt = read(fd, 65536)
                except BlockingIOError:
                    break
                q.append((t, pkt))
        now = monotonic()
        for fd, q in out.items():
            while q and q[0][0] <= now:
                t, pkt = q.popleft()
                late = (now - t) * 1000
                if late > stats['late_ms_max']:
                    stats['late_ms_max'] = late
                try:
                    write(fd, pkt)
                except (BlockingIOError, OSError):
                    pass  # a full device queue drops, as a router would
                stats['packets'] += 1
                stats['bytes'] += len(pkt)


if __name__ == '__main__':
    main()
