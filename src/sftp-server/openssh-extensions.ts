// ssh2's server side of SFTP has no API for protocol extensions: its VERSION packet is a fixed
// buffer without extension names, and it cannot send EXTENDED_REPLY. Clients (ssh2's
// ext_openssh_rename, OpenSSH's sftp) only use posix-rename and statvfs when the server advertises
// them, so these two functions write those packets on the SFTP channel themselves.
import type { SFTPWrapper } from 'ssh2';

/** The parts of ssh2's SFTP object this file relies on (private in its typings). */
interface SftpInternals {
  _protocol: { channelData(channelId: number, data: Buffer): void };
  outgoing: { id: number; state: string; window: number; packetSize: number };
  /** Replies ssh2 holds back until the client opens the window; ours must not overtake them. */
  _buffer: unknown[];
}

const SSH_FXP_VERSION = 2;
const SSH_FXP_EXTENDED_REPLY = 201;
/** What ssh2 sends as VERSION: length 5, type VERSION, version 3. */
const PLAIN_VERSION_PACKET = Buffer.from([0, 0, 0, 5, SSH_FXP_VERSION, 0, 0, 0, 3]);

function sshString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function versionPacket(extensions: Record<string, string>): Buffer {
  const body = Buffer.concat([
    Buffer.from([SSH_FXP_VERSION, 0, 0, 0, 3]),
    ...Object.entries(extensions).flatMap(([name, data]) => [sshString(name), sshString(data)]),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/**
 * Must be called right after accepting the SFTP channel, before the client's INIT arrives: the
 * first VERSION packet ssh2 writes on this channel is swapped for one naming `extensions`, as
 * OpenSSH's sftp-server does. Only this channel's data is touched; the window ssh2 charged for
 * the short packet is charged for the difference too.
 */
export function advertiseExtensions(sftp: SFTPWrapper, extensions: Record<string, string>): void {
  const internals = sftp as unknown as SftpInternals;
  const protocol = internals._protocol;
  const channelId = internals.outgoing.id;
  let versionSent = false;
  const replacement = versionPacket(extensions);
  internals._protocol = new Proxy(protocol, {
    get(target, property, receiver) {
      if (property === 'channelData') {
        return (id: number, data: Buffer) => {
          if (!versionSent && id === channelId && data.equals(PLAIN_VERSION_PACKET)) {
            versionSent = true;
            internals.outgoing.window -= replacement.length - data.length;
            target.channelData(id, replacement);
            return;
          }
          target.channelData(id, data);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const WINDOW_RETRY_MS = 10;
const WINDOW_RETRY_LIMIT = 500;

/**
 * Sends SSH_FXP_EXTENDED_REPLY with `body` (the reply's fields after the request id). The reply
 * waits for channel window the same way ssh2's own replies do, and is dropped when the channel
 * has closed.
 */
export function sendExtendedReply(sftp: SFTPWrapper, requestId: number, body: Buffer): void {
  const internals = sftp as unknown as SftpInternals;
  const header = Buffer.alloc(9);
  header.writeUInt32BE(5 + body.length, 0);
  header[4] = SSH_FXP_EXTENDED_REPLY;
  header.writeUInt32BE(requestId, 5);
  const packet = Buffer.concat([header, body]);
  let tries = 0;
  const attempt = (): void => {
    const outgoing = internals.outgoing;
    if (outgoing.state !== 'open') return;
    // Keep the window above zero: at zero ssh2 expects its own queue to be waiting for it.
    if (internals._buffer.length === 0 && outgoing.window > packet.length && packet.length <= outgoing.packetSize) {
      outgoing.window -= packet.length;
      internals._protocol.channelData(outgoing.id, packet);
    } else if ((tries += 1) < WINDOW_RETRY_LIMIT) {
      setTimeout(attempt, WINDOW_RETRY_MS);
    }
  };
  attempt();
}

/** The statvfs@openssh.com reply: eleven uint64 fields, as struct statvfs. */
export function statvfsReplyBody(fields: {
  blockSize: number;
  blocks: number;
  freeBlocks: number;
  availableBlocks: number;
  files: number;
  freeFiles: number;
  nameMax: number;
}): Buffer {
  const values = [
    fields.blockSize, // f_bsize
    fields.blockSize, // f_frsize
    fields.blocks,
    fields.freeBlocks,
    fields.availableBlocks,
    fields.files,
    fields.freeFiles,
    fields.freeFiles, // f_favail
    0, // f_fsid
    0, // f_flag
    fields.nameMax,
  ];
  const body = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => body.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(value))), i * 8));
  return body;
}
