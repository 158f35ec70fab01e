// Gzip on both cores: the byte stream is cut into fixed-size blocks, each compressed as an
// independent gzip member on libuv's thread pool while the main thread reads the next files.
// Concatenated members are one valid gzip file (RFC 1952 §2.2; `gzip -t` and `tar -xzf` accept it).
// Cuts fall every `blockSize` bytes of input, whatever the files, so the output depends only on the
// input bytes and the level: rebuilding gives the same bytes.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

const gzipAsync = promisify(zlib.gzip) as (data: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

export interface ParallelGzipOptions {
  /** Input bytes per gzip member. */
  blockSize: number;
  /** Blocks being compressed or waiting to be written; bounds memory to about 2 × this × blockSize. */
  maxInFlight: number;
  level: number;
}

export const DEFAULT_PARALLEL_GZIP: ParallelGzipOptions = { blockSize: 1 << 20, maxInFlight: 6, level: 6 };

function outputRoomFor(inputBytes: number): number {
  return inputBytes + (inputBytes >> 8) + 1024;
}

interface InFlightBlock {
  result: Promise<Buffer>;
  done: boolean;
  member?: Buffer;
}

/** A writable space inside the current block, for reading file data straight into it. */
export interface BlockSpace {
  buffer: Buffer;
  offset: number;
  length: number;
}

export class ParallelGzipWriter {
  private block: Buffer;
  private used = 0;
  private readonly inFlight: InFlightBlock[] = [];
  private readonly spareBlocks: Buffer[] = [];

  constructor(
    private readonly writeMember: (member: Buffer) => void,
    private readonly options: ParallelGzipOptions = DEFAULT_PARALLEL_GZIP,
  ) {
    this.block = Buffer.allocUnsafe(options.blockSize);
  }

  /** Free room in the current block; fill some of it, then call `advance(n)`. */
  space(): BlockSpace {
    return { buffer: this.block, offset: this.used, length: this.block.length - this.used };
  }

  /** Marks `n` bytes of `space()` as filled. Returns a promise only when the caller must wait. */
  advance(n: number): Promise<void> | undefined {
    this.used += n;
    return this.used === this.block.length ? this.submitBlock() : undefined;
  }

  /** Copies `data` in. Returns a promise only when the caller must wait before appending more. */
  append(data: Buffer): Promise<void> | undefined {
    let offset = 0;
    while (offset < data.length) {
      const n = data.copy(this.block, this.used, offset);
      offset += n;
      this.used += n;
      if (this.used === this.block.length) {
        const wait = this.submitBlock();
        if (wait) return wait.then(() => this.append(data.subarray(offset)));
      }
    }
    return undefined;
  }

  /** Compresses what is left and writes every member, in order. */
  async end(): Promise<void> {
    if (this.used > 0) this.startCompressing();
    while (this.inFlight.length > 0) await this.writeOldest();
  }

  private startCompressing(): void {
    const block = this.block;
    const input = block.subarray(0, this.used);
    const entry: InFlightBlock = {
      // An output buffer that holds the whole member (deflate's worst case is input + 0.1% + a few
      // bytes) lets zlib finish in one thread-pool job; with the 16 KiB default it returns to the
      // main thread every 16 KiB, and the main thread, busy reading files, leaves the pool idle.
      result: gzipAsync(input, { level: this.options.level, chunkSize: outputRoomFor(input.length) }),
      done: false,
    };
    entry.result.then(
      (member) => {
        entry.done = true;
        entry.member = member;
        // zlib has read its input: the block can take the next bytes. Reusing blocks keeps the
        // garbage (and so the RSS between collections) small.
        if (this.spareBlocks.length < this.options.maxInFlight) this.spareBlocks.push(block);
      },
      () => {
        // the rejection is seen when this block's turn comes; this keeps it from being "unhandled"
      },
    );
    this.inFlight.push(entry);
    this.block = this.spareBlocks.pop() ?? Buffer.allocUnsafe(this.options.blockSize);
    this.used = 0;
  }

  private submitBlock(): Promise<void> | undefined {
    this.startCompressing();
    // Write whatever has finished, in order, without waiting.
    while (this.inFlight.length > 0 && this.inFlight[0].done) {
      const head = this.inFlight.shift() as InFlightBlock;
      this.writeMember(head.member as Buffer);
    }
    return this.inFlight.length >= this.options.maxInFlight ? this.writeOldest() : undefined;
  }

  private async writeOldest(): Promise<void> {
    const head = this.inFlight[0];
    const member = await head.result;
    this.inFlight.shift();
    this.writeMember(member);
  }
}
