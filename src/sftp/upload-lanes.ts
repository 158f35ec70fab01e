// How many writes each package upload of a run may keep in flight. The uploads nearest to their end
// (fewest bytes left unacknowledged; the earlier started first on a tie) get the full depth, every
// other one a smaller one; an upload that ends, or stops moving, lets the next one up.
//
// Why not share equally: when the sender is the limit (one event loop encrypting for every difusor),
// equal shares make every difusor finish at the very end, and then every server flushes its copy to
// disk (fsync@openssh.com) at the same moment, with nothing left to send meanwhile. Served
// nearest-first, the first difusores finish early and flush while the rest still receive, and the
// average difusor has the cut sooner. Measured on 16 loopback sshd, 64 MiB each (interleaved, 8
// rounds): all equal 2.72 s; 2 full and the rest at 4: 2.44 s; `sftp -b` ×16: 3.00 s.
// When the network is the limit instead, TCP shares the link, and the smaller depth (4 × 255 KiB,
// half of sshd's 2 MiB channel window) does not bind below ~20 MB/s per difusor at 50 ms RTT. A
// stalled upload keeps its bytes left while the others' fall, so it cannot hold a full lane.
// No I/O here: the transport asks and tells.

export interface UploadLane {
  /** Writes this upload may have in flight now. */
  depth(): number;
  /** Bytes the server has acknowledged so far. */
  progress(acknowledged: number): void;
  /** The upload stopped sending (done or failed); the next one moves up. Idempotent. */
  close(): void;
}

export interface UploadLanesOptions {
  /** How many uploads, nearest to their end first, get `fullDepth`. */
  fullLanes: number;
  fullDepth: number;
  /** The depth of every other upload, at least 1. */
  minDepth: number;
}

interface OpenUpload {
  order: number;
  left: number;
}

export class UploadLanes {
  private readonly open = new Set<OpenUpload>();
  private started = 0;

  constructor(private readonly options: UploadLanesOptions) {
    if (!(options.fullLanes >= 0 && options.minDepth >= 1 && options.fullDepth >= options.minDepth)) {
      throw new RangeError(`UploadLanes: need fullLanes >= 0 and fullDepth >= minDepth >= 1, got ${JSON.stringify(options)}`);
    }
  }

  /** Starts an upload of `totalBytes`. */
  start(totalBytes: number): UploadLane {
    const me: OpenUpload = { order: (this.started += 1), left: totalBytes };
    this.open.add(me);
    return {
      depth: () => (this.open.has(me) && this.aheadOf(me) < this.options.fullLanes ? this.options.fullDepth : this.options.minDepth),
      progress: (acknowledged) => {
        me.left = totalBytes - acknowledged;
      },
      close: () => {
        this.open.delete(me);
      },
    };
  }

  /** Uploads started and not closed (for tests and traces). */
  get sending(): number {
    return this.open.size;
  }

  /** How many open uploads come before `me`: fewer bytes left, or as many and started earlier. */
  private aheadOf(me: OpenUpload): number {
    let ahead = 0;
    for (const other of this.open) {
      if (other.left < me.left || (other.left === me.left && other.order < me.order)) ahead += 1;
    }
    return ahead;
  }
}
