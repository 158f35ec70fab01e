// Compliance probes (`prep-push probe`): what was measured on a difusor's server, and the pure
// verdict against the registry's requirements — problems, capabilities, and the delivery modes they allow.
import { DEFAULT_REQUIREMENTS } from '../registry/schema.js';
import type { Registry, Requirements } from '../registry/types.js';

/** The registry's requirements, or the calls' defaults for a registry built without them. */
export function requirementsOf(registry: Pick<Registry, 'requirements'>): Requirements {
  return (
    registry.requirements ?? {
      minFreeGb: DEFAULT_REQUIREMENTS.min_free_gb,
      minUploadMbS: DEFAULT_REQUIREMENTS.min_upload_mb_s,
      probeMb: DEFAULT_REQUIREMENTS.probe_mb,
    }
  );
}

/** An error seen while probing, classified like a delivery failure. */
export interface ProbeError {
  code: string;
  message: string;
}

/** What probing one difusor saw; null: the step was not reached. */
export interface ProbeMeasurements {
  id: string;
  /** Null when the connection (host key, authentication, SFTP) succeeded. */
  connectError: ProbeError | null;
  /** `.prep-push-probe*` entries an earlier, interrupted probe left, removed now. */
  leftoversRemoved: string[];
  /** Writing, reading back and removing a small test file. */
  writeTest: { ok: true } | { ok: false; step: 'write' | 'read' | 'remove'; error: ProbeError } | null;
  /** Free bytes where remote_dir lives; undefined: the server does not answer statvfs. */
  freeBytes: number | undefined | null;
  upload: { bytes: number; seconds: number; completed: boolean; deadlineS: number } | { error: ProbeError } | null;
  /** SFTP extensions the server advertised (name → version). */
  extensions: Record<string, string>;
  /** Tried: a symlink created and read back. */
  symlink: boolean | null;
  /** Tried: a hard link created (only when the server advertises hardlink@openssh.com). */
  hardlink: boolean | null;
  /** Tried: a symlink replaced by renaming another over it (how site mode switches `current`). */
  symlinkSwap: boolean | null;
  /** A step that failed unexpectedly (the connection lost mid-probe), ending the probe there. */
  interrupted: { step: string; error: ProbeError } | null;
  /** Scratch entries the probe could not remove (swept by the next probe). */
  leftBehind: string[];
  seconds: number;
}

export interface ProbeCapabilities {
  hardlink: boolean;
  posix_rename: boolean;
  symlink: boolean;
  fsync: boolean;
  statvfs: boolean;
  /** `current` can be switched by one atomic rename of a symlink over another. */
  atomic_symlink_swap: boolean;
}

export type DeliveryModeName = 'package' | 'site';

/** One entry of `probe --json`'s `results` (the contract's fields first). */
export interface ProbeResult {
  id: string;
  ok: boolean;
  free_gb: number | null;
  upload_mb_s: number | null;
  capabilities: ProbeCapabilities;
  /** Delivery modes this server allows. */
  modes: DeliveryModeName[];
  /** Why `ok` is false: each breaks a requirement or shows a fault. */
  problems: string[];
  /** Worth knowing, not failing: fallbacks, free space the server cannot report, leftovers swept. */
  notes: string[];
  seconds: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The verdict on one difusor. Pure. */
export function judgeProbe(m: ProbeMeasurements, req: Requirements): ProbeResult {
  const problems: string[] = [];
  const notes: string[] = [];
  const ext = m.extensions;
  const capabilities: ProbeCapabilities = {
    hardlink: m.hardlink === true,
    posix_rename: 'posix-rename@openssh.com' in ext,
    symlink: m.symlink === true,
    fsync: 'fsync@openssh.com' in ext,
    statvfs: 'statvfs@openssh.com' in ext && m.freeBytes !== undefined && m.freeBytes !== null,
    atomic_symlink_swap: m.symlinkSwap === true,
  };

  if (m.connectError) problems.push(`cannot connect: ${m.connectError.code}: ${m.connectError.message}`);
  if (m.leftoversRemoved.length) notes.push(`removed ${m.leftoversRemoved.length} leftover(s) of an interrupted earlier probe`);

  const writable = m.writeTest?.ok === true;
  if (m.writeTest && !m.writeTest.ok) {
    problems.push(`cannot ${m.writeTest.step} a test file in remote_dir: ${m.writeTest.error.code}: ${m.writeTest.error.message}`);
  }

  let freeGb: number | null = null;
  if (typeof m.freeBytes === 'number') {
    freeGb = round2(m.freeBytes / 1e9);
    if (freeGb < req.minFreeGb) problems.push(`free space ${freeGb} GB is below the required ${req.minFreeGb} GB`);
  } else if (m.freeBytes === undefined) {
    notes.push(`free space unknown: the server does not answer statvfs@openssh.com; ask the difusor to confirm at least ${req.minFreeGb} GB free`);
  }

  let uploadMbS: number | null = null;
  if (m.upload && 'error' in m.upload) {
    problems.push(`upload test failed: ${m.upload.error.code}: ${m.upload.error.message}`);
  } else if (m.upload) {
    uploadMbS = m.upload.seconds > 0 ? round2(m.upload.bytes / m.upload.seconds / 1e6) : null;
    const measured = uploadMbS === null ? 'no rate measured' : `${uploadMbS} MB/s`;
    if (!m.upload.completed) {
      problems.push(`upload of ${req.probeMb} MB did not finish within ${m.upload.deadlineS} s (${measured}); required ${req.minUploadMbS} MB/s`);
    } else if (uploadMbS !== null && uploadMbS < req.minUploadMbS) {
      problems.push(`upload rate ${uploadMbS} MB/s is below the required ${req.minUploadMbS} MB/s`);
    }
  }

  if (m.interrupted) problems.push(`probe stopped at ${m.interrupted.step}: ${m.interrupted.error.code}: ${m.interrupted.error.message}`);
  if (m.leftBehind.length) {
    problems.push(`could not remove ${m.leftBehind.join(', ')} (the next probe removes it)`);
  }

  const modes: DeliveryModeName[] = [];
  if (writable) {
    modes.push('package');
    if (!capabilities.posix_rename) notes.push('package: no posix-rename@openssh.com, so LATEST is replaced by remove-then-rename (a moment without LATEST)');
    if (!capabilities.fsync) notes.push('no fsync@openssh.com: files cannot be flushed to the difusor’s disk before their rename');
    if (capabilities.symlink) {
      modes.push('site');
      if (!capabilities.hardlink) notes.push('site: no hard links, so unchanged files are uploaded again every cut');
      if (!capabilities.atomic_symlink_swap) notes.push('site: `current` cannot be switched by one atomic rename here; the site mode’s fallback applies');
    } else if (m.symlink === false) {
      notes.push('site: not possible, the server does not create symlinks (needed for `current`); use package mode with the kit');
    }
  }

  return {
    id: m.id,
    ok: problems.length === 0,
    free_gb: freeGb,
    upload_mb_s: uploadMbS,
    capabilities,
    modes,
    problems,
    notes,
    seconds: m.seconds,
  };
}

/** 0 when every probed difusor meets the requirements, else 1. */
export function exitCodeOfProbe(results: readonly ProbeResult[]): 0 | 1 {
  return results.every((r) => r.ok) ? 0 : 1;
}

/**
 * How long the upload test may take: three times what the minimum rate needs (at least 10 s),
 * never more than the registry's transfer deadline. Slower than a third of the minimum fails anyway.
 */
export function uploadDeadlineSeconds(req: Requirements, transferTimeoutS: number): number {
  const atMinimum = req.minUploadMbS > 0 ? req.probeMb / req.minUploadMbS : transferTimeoutS;
  return Math.min(transferTimeoutS, Math.max(10, Math.ceil(3 * atMinimum)));
}
