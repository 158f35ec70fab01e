// Each way of delivering to a difusor (package files, the published site, a notice as a package or
// as a site release) is a strategy behind this one small interface, built by the chooser (index.ts)
// with the data it sends, and run on the connection the delivery loop opened. The loop never learns
// about modes. This file holds only the interface; each strategy has its own file.
import type { PublishSummary } from '../../ledger/types.js';
import type { CapabilityStore } from '../../publish/capability-memory.js';
import type { LocalRelease } from '../../publish/release.js';
import type { Difusor } from '../../registry/types.js';
import type { SftpSession } from '../../sftp/session.js';

/** What a strategy may use besides the session: the deadline, the step named in failures, temps to clean. */
export interface StrategyContext {
  difusor: Difusor;
  /** Races a request against the delivery's deadline. */
  within<T>(promise: Promise<T>): Promise<T>;
  /** Names what is being done, for the failure message if it fails now. */
  setStep(step: string): void;
  /** Temporary files on the server the loop removes if the attempt fails. */
  pendingTemps: Set<string>;
  /** Package bytes acknowledged so far (undefined once past the package), for timeout messages. */
  onPackageBytes(bytes: number | undefined): void;
}

export interface StrategyOutcome {
  publish?: PublishSummary;
  /** The package strategies: bytes of the package sent (a delta is smaller than the full one). */
  sentBytes?: number;
}

export interface DeliveryStrategy {
  readonly name: 'package' | 'site' | 'notice-package' | 'notice-site';
  /** Bytes this strategy needs on the server at most: how a write failure is told to be a full disk. */
  readonly bytesNeeded: number;
  deliver(session: SftpSession, context: StrategyContext): Promise<StrategyOutcome>;
}

/** The site a run publishes, shared by every site-mode difusor of the run. */
export interface SitePlan {
  release: LocalRelease;
  keepReleases: number;
  allowRollback: boolean;
  /** `cut --allow-older`: an older cut is published but `current` keeps naming the newer one. */
  allowOlder: boolean;
  /** Whether a release found on difusor `id` is one we published (see PublishOptions.isTrusted). */
  isTrusted(id: string, release: string, manifestSha256: string): boolean;
  /** Whether a file of a release on difusor `id` may be reused (false: an audit found it altered there). */
  isReusable(id: string, release: string, path: string): boolean;
  /** What each difusor's server was found to do in earlier runs (absent: probed every time). */
  capabilities?: CapabilityStore;
}
