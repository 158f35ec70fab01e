// Pure tar (ustar + PAX) header encoding. Written by hand rather than through tar-stream so the
// builder can lay headers straight into its output blocks without a stream per entry; every field
// that could vary between machines (owner, mtime, modes) is fixed by the caller.

export const TAR_BLOCK = 512;
/** Two zero blocks end a tar archive. */
export const TAR_END = Buffer.alloc(TAR_BLOCK * 2);

const NAME_FIELD = 100;
// 11 octal digits is the largest size a classic header holds (8 GiB - 1); past it PAX carries it.
const MAX_OCTAL_SIZE = 0o77777777777;

export interface TarEntryHeader {
  /** POSIX relative path; directories end with `/`. */
  path: string;
  type: 'file' | 'directory';
  size: number;
  /** Seconds since the epoch. */
  mtimeSeconds: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  // width - 1 digits, then NUL, the form GNU tar and bsdtar both write.
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

function writeString(block: Buffer, offset: number, width: number, value: string): void {
  Buffer.from(value, 'utf8').copy(block, offset, 0, width);
}

function isPlainAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** One PAX record: `<len> <key>=<value>\n`, where len counts the whole record including itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return Buffer.from(`${length}${body}`, 'utf8');
}

interface HeaderTemplate {
  block: Buffer;
  /** Byte sum of the template, checksum field counted as spaces. */
  sum: number;
}

// Every header of a package shares all fields but name, size and checksum; building those once per
// kind of entry and summing only what changes halves the builder's per-file header cost.
const templates = new Map<string, HeaderTemplate>();

function templateFor(header: TarEntryHeader, typeFlag: string): HeaderTemplate {
  const key = [header.mode, header.uid, header.gid, header.mtimeSeconds, header.uname, header.gname, typeFlag].join('|');
  let template = templates.get(key);
  if (!template) {
    const block = Buffer.alloc(TAR_BLOCK);
    writeOctal(block, 100, 8, header.mode);
    writeOctal(block, 108, 8, header.uid);
    writeOctal(block, 116, 8, header.gid);
    writeOctal(block, 136, 12, header.mtimeSeconds);
    block.write(typeFlag, 156, 1, 'ascii');
    block.write('ustar\x0000', 257, 8, 'ascii');
    writeString(block, 265, 32, header.uname);
    writeString(block, 297, 32, header.gname);
    writeOctal(block, 329, 8, 0);
    writeOctal(block, 337, 8, 0);
    // The checksum is computed with its own field read as eight spaces.
    block.fill(0x20, 148, 156);
    template = { block, sum: block.reduce((a, b) => a + b, 0) };
    if (templates.size > 64) templates.clear();
    templates.set(key, template);
  }
  return template;
}

function ustarBlock(header: TarEntryHeader, name: string, size: number, typeFlag: string): Buffer {
  const template = templateFor(header, typeFlag);
  // allocUnsafe draws from Node's small-buffer pool (one header per file adds up); the copy fills it.
  const block = Buffer.allocUnsafe(TAR_BLOCK);
  template.block.copy(block);
  let sum = template.sum;
  const nameBytes = block.write(name, 0, NAME_FIELD, 'utf8');
  for (let i = 0; i < nameBytes; i += 1) sum += block[i];
  block.write(size.toString(8).padStart(11, '0'), 124, 11, 'ascii');
  for (let i = 124; i < 135; i += 1) sum += block[i];
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/**
 * Lays the one-block headers of a package straight into the caller's buffer: with the file and
 * folder templates built once per package, a header costs a name copy and two sums, and no Buffer
 * or key string per entry. Gives the same bytes as `encodeTarHeader` for the same entry.
 */
export class TarHeaderWriter {
  private readonly file: HeaderTemplate;
  private readonly folder: HeaderTemplate;

  constructor(fixed: Omit<TarEntryHeader, 'path' | 'type' | 'size' | 'mode'>) {
    this.file = templateFor({ ...fixed, path: '', type: 'file', size: 0, mode: 0o644 }, '0');
    this.folder = templateFor({ ...fixed, path: '', type: 'directory', size: 0, mode: 0o755 }, '5');
  }

  /** Whether the header of `path` is one plain ustar block: a short path of printable ASCII. */
  isPlain(path: string, isFolder: boolean): boolean {
    if (path.length + (isFolder ? 1 : 0) > NAME_FIELD) return false;
    for (let i = 0; i < path.length; i += 1) {
      const code = path.charCodeAt(i);
      if (code < 0x20 || code > 0x7e) return false;
    }
    return true;
  }

  /**
   * Writes the header of a file (`size` bytes) or a folder (`size` -1, `path` without its trailing
   * slash) at `target[offset]`, when it is one plain ustar block and fits; returns false otherwise
   * (a long or non-ASCII path, or too little room), and the caller uses `encodeTarHeader`.
   */
  tryWrite(target: Buffer, offset: number, path: string, size: number): boolean {
    const isFolder = size < 0;
    if (target.length - offset < TAR_BLOCK || size > MAX_OCTAL_SIZE || !this.isPlain(path, isFolder)) return false;
    this.write(target, offset, path, size);
    return true;
  }

  /** `tryWrite` for a caller that has checked `isPlain`, the room and the size itself. */
  write(target: Buffer, offset: number, path: string, size: number): void {
    const isFolder = size < 0;
    const template = isFolder ? this.folder : this.file;
    template.block.copy(target, offset);
    target.write(path, offset, path.length, 'latin1');
    let sum = 0;
    for (let i = 0; i < path.length; i += 1) sum += path.charCodeAt(i);
    if (isFolder) {
      target[offset + path.length] = 0x2f;
      sum += 0x2f;
    }
    const sizeDigits = (isFolder ? 0 : size).toString(8).padStart(11, '0');
    target.write(sizeDigits, offset + 124, 11, 'latin1');
    for (let i = 0; i < 11; i += 1) sum += sizeDigits.charCodeAt(i);
    target.write((template.sum + sum).toString(8).padStart(6, '0') + '\0 ', offset + 148, 8, 'latin1');
  }
}

/** Zero bytes that pad `size` bytes of entry data up to the next 512-byte boundary. */
export function tarPadding(size: number): number {
  const rest = size % TAR_BLOCK;
  return rest === 0 ? 0 : TAR_BLOCK - rest;
}

/**
 * The header bytes for one entry: a bare ustar block when the path is short ASCII, otherwise a PAX
 * extended header (path in UTF-8, size when huge) followed by the ustar block. PAX rather than the
 * ustar prefix field because it handles any length and any character in one rule.
 */
export function encodeTarHeader(header: TarEntryHeader): Buffer {
  const typeFlag = header.type === 'directory' ? '5' : '0';
  const size = header.type === 'directory' ? 0 : header.size;
  const pathBytes = Buffer.byteLength(header.path, 'utf8');
  const needsPaxPath = pathBytes > NAME_FIELD || !isPlainAscii(header.path);
  const needsPaxSize = size > MAX_OCTAL_SIZE;
  if (!needsPaxPath && !needsPaxSize) return ustarBlock(header, header.path, size, typeFlag);

  const records: Buffer[] = [];
  if (needsPaxPath) records.push(paxRecord('path', header.path));
  if (needsPaxSize) records.push(paxRecord('size', String(size)));
  const paxData = Buffer.concat(records);
  // The fallback name readers without PAX would see: ASCII only, cut to fit.
  const fallbackName = header.path.replace(/[^\x20-\x7e]/g, '_').slice(-NAME_FIELD);
  const paxHeader = ustarBlock(
    { ...header, mode: 0o644 },
    'PaxHeaders/' + fallbackName.slice(-(NAME_FIELD - 'PaxHeaders/'.length)),
    paxData.length,
    'x',
  );
  return Buffer.concat([
    paxHeader,
    paxData,
    Buffer.alloc(tarPadding(paxData.length)),
    ustarBlock(header, fallbackName, needsPaxSize ? 0 : size, typeFlag),
  ]);
}
