// A protocol trick on ssh2's SFTP channel (private in its typings): small writes of one turn of the
// event loop sent as one SSH packet, so 20,000 small requests do not cost 20,000 packets.
import type { SFTPWrapper } from 'ssh2';

/** The parts of ssh2's SFTP client this relies on (private in its typings). */
interface SftpClientInternals {
  _protocol: { channelData(channelId: number, data: Buffer): void } & Record<string | symbol, unknown>;
  outgoing: { id: number; packetSize: number };
}

/**
 * Buffers this SFTP channel's small writes and sends them together at the end of the current turn
 * of the event loop (or as soon as a packet would be full). Order is kept: a large write flushes
 * what is buffered first, and so do EOF and close. ssh2 has already charged the window per
 * request, so the window's accounting is unchanged.
 */
export function coalesceChannelData(sftp: SFTPWrapper): { restore(): void } {
  const internals = sftp as unknown as SftpClientInternals;
  const protocol = internals._protocol;
  let pending: Buffer[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (size === 0) return;
    const data = pending.length === 1 ? pending[0] : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    protocol.channelData(internals.outgoing.id, data);
  };
  // Made once, not per property read: every request reads `channelData` (20,000 per release).
  const channelData = (channelId: number, data: Buffer): void => {
    if (channelId !== internals.outgoing.id) return protocol.channelData(channelId, data);
    const max = internals.outgoing.packetSize;
    if (size + data.length > max) flush();
    if (data.length >= max) return protocol.channelData(channelId, data);
    pending.push(data);
    size += data.length;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  internals._protocol = new Proxy(protocol, {
    get(target, property, receiver) {
      if (property === 'channelData') return channelData;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      // Anything else on the channel (EOF, close) must not overtake what is buffered.
      return (...args: unknown[]) => {
        flush();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SftpClientInternals['_protocol'];
  return {
    restore() {
      flush();
      internals._protocol = protocol;
    },
  };
}
