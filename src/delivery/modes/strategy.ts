// Each way of delivering to a difusor (package files, the published site, a notice package) is a
// strategy behind one small interface, run on the connection the delivery loop opened; the loop
// does not learn about modes.
import type { LocalRelease } from '../../publish/release.js';
import type { DeliveryMode } from '../../registry/types.js';
import type { SftpSession } from '../../sftp/transport.js';
import type { PublishSummary } from '../types.js';
import type { DifusorDelivery } from '../upload.js';
import { packageStrategy } from './package.js';
import { siteStrategy } from './site.js';

/** What a strategy may use besides the session: the deadline, the step named in failures, temps to clean. */
export interface StrategyContext {
  delivery: DifusorDelivery;
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
  /** The package strategy: bytes of the package it sent (a delta is smaller than the full one). */
  sentBytes?: number;
}

export interface DeliveryStrategy {
  readonly name: 'package' | 'site' | 'notice-package';
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
}

/** The strategies of a difusor's `delivery`, in the order they run on one connection. */
export function strategiesFor(mode: DeliveryMode | undefined): DeliveryStrategy[] {
  if (mode === 'site') return [siteStrategy];
  if (mode === 'both') return [packageStrategy, siteStrategy];
  return [packageStrategy];
}

export function usesSite(mode: DeliveryMode | undefined): boolean {
  return mode === 'site' || mode === 'both';
}
