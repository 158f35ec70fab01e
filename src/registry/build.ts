// The Registry the rest of prep-push consumes, built from a file that passed every check.
import { dirname, resolve } from 'node:path';

import { DEFAULT_PORT, DEFAULT_SMTP_PORT, normalizeUrl, type RegistryFile } from './schema.js';
import type { Difusor, Registry } from './types.js';
import { parsePinnedHostKey } from './host-key.js';
import type { PinnedHostKey } from './types.js';


/** The registry fields of notifications, notices and the public list (see CONTRACT "People and the public"). */
export function addPeopleAndPublic(registry: Registry, data: RegistryFile, noticeHtml: string | undefined): void {
  const registryDir = dirname(registry.file);
  const defaults = data.defaults ?? {};
  data.difusores.forEach((entry, index) => {
    const url = entry.url ?? defaults.url;
    const contacts = entry.contacts ?? defaults.contacts;
    if (url !== undefined) registry.difusores[index].url = normalizeUrl(url);
    if (contacts !== undefined) registry.difusores[index].contacts = contacts.map((c) => ({ ...c }));
  });
  if (data.institute_name !== undefined) registry.instituteName = data.institute_name;
  if (data.notify !== undefined) {
    const n = data.notify;
    registry.notify = { timeoutS: n.timeout_s };
    if (n.email !== undefined) {
      const smtp = n.email.smtp;
      registry.notify.email = {
        smtp: { host: smtp.host, port: smtp.port ?? DEFAULT_SMTP_PORT[smtp.tls], tls: smtp.tls },
        from: n.email.from,
        to: [...n.email.to],
        difusorContacts: n.email.difusor_contacts,
      };
      if (smtp.username !== undefined) registry.notify.email.smtp.username = smtp.username;
      if (smtp.password_env !== undefined) registry.notify.email.smtp.passwordEnv = smtp.password_env;
    }
    if (n.webhook !== undefined) registry.notify.webhook = { url: n.webhook.url };
    if (n.command !== undefined) registry.notify.command = [...n.command];
  }
  if (data.public_list !== undefined) registry.publicList = { dir: resolve(registryDir, data.public_list.dir) };
  if (data.public_list?.url !== undefined) registry.publicList!.url = data.public_list.url;
  if (data.public_list?.blocked !== undefined) registry.publicList!.blocked = data.public_list.blocked;
  data.difusores.forEach((entry, index) => {
    const logo = entry.logo ?? defaults.logo;
    if (logo !== undefined) registry.difusores[index].logo = resolve(registryDir, logo);
  });
  if (data.timezone_label !== undefined) registry.timezoneLabel = data.timezone_label;
  if (data.institute_url !== undefined) registry.instituteUrl = data.institute_url;
  if (data.contact !== undefined) registry.contact = { ...data.contact };
  if (data.publication !== undefined) registry.publication = { ...data.publication };
  if (data.notice !== undefined && noticeHtml !== undefined) {
    registry.notice = { template: resolve(registryDir, data.notice.template), html: noticeHtml };
  }
}

export function buildRegistry(data: RegistryFile, absoluteFile: string): Registry {
  const registryDir = dirname(absoluteFile);
  const defaults = data.defaults ?? {};
  const difusores = data.difusores.map((entry): Difusor => {
    // Only fields actually written override: an absent optional must not erase a default.
    const merged = { ...defaults };
    for (const [key, value] of Object.entries(entry)) if (value !== undefined) Object.assign(merged, { [key]: value });
    const m = merged as typeof defaults & { id: string };
    const difusor: Difusor = {
      id: m.id,
      name: m.name ?? m.id,
      // Presence of these four was checked after merging; validation fails before this otherwise.
      host: m.host as string,
      port: m.port ?? DEFAULT_PORT,
      username: m.username as string,
      hostKey: pinsOf(m.host_key)[0].fingerprint,
      remoteDir: m.remote_dir as string,
      enabled: m.enabled ?? true,
    };
    // A list, or an entry that names its type: every pin kept (a plain fingerprint is just hostKey).
    if (Array.isArray(m.host_key) || pinsOf(m.host_key)[0].type !== undefined) difusor.hostKeys = pinsOf(m.host_key);
    if (m.private_key !== undefined) difusor.privateKey = resolve(registryDir, m.private_key);
    if (m.private_key_passphrase_env !== undefined) difusor.privateKeyPassphraseEnv = m.private_key_passphrase_env;
    if (m.password_env !== undefined) difusor.passwordEnv = m.password_env;
    if (m.url !== undefined) difusor.url = normalizeUrl(m.url);
    if (m.apply_dir !== undefined) difusor.applyDir = m.apply_dir;
    if (m.apply_keep_releases !== undefined) difusor.applyKeepReleases = m.apply_keep_releases;
    if (m.delivery !== undefined) difusor.delivery = m.delivery;
    return difusor;
  });
  const registry: Registry = {
    file: absoluteFile,
    institute: data.institute,
    timezone: data.timezone,
    blockAfterMisses: data.block_after_misses,
    package: { name: data.package.name, format: data.package.format },
    push: {
      concurrency: data.push.concurrency,
      connectTimeoutS: data.push.connect_timeout_s,
      transferTimeoutS: data.push.transfer_timeout_s,
      retries: data.push.retries,
    },
    publish: { keepReleases: data.publish.keep_releases },
    difusores,
    requirements: {
      minFreeGb: data.requirements.min_free_gb,
      minUploadMbS: data.requirements.min_upload_mb_s,
      probeMb: data.requirements.probe_mb,
    },
  };
  if (data.state_dir !== undefined) registry.stateDir = resolve(registryDir, data.state_dir);
  registry.maxFutureMinutes = data.max_future_minutes;
  if (data.audit !== undefined) {
    registry.audit = {
      countsAsMiss: data.audit.counts_as_miss,
      sample: data.audit.sample,
      timeoutS: data.audit.timeout_s,
      concurrency: data.audit.concurrency,
      maxRequests: data.audit.max_requests,
    };
    if (data.audit.ca_file !== undefined) registry.audit.caFile = resolve(registryDir, data.audit.ca_file);
  }
  if (data.package.delta) registry.package.delta = true;
  if (data.signing_key !== undefined) {
    registry.signing = { keyPath: resolve(registryDir, data.signing_key) };
    if (data.signing_key_passphrase_env !== undefined) registry.signing.passphraseEnv = data.signing_key_passphrase_env;
  }
  return registry;
}

/** `host_key` as written: one entry, or a list (rotation, several key types). */
export function hostKeyEntries(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** The validated `host_key` entries as pins (validation refused anything unparsable before this). */
export function pinsOf(value: unknown): PinnedHostKey[] {
  return (hostKeyEntries(value) ?? []).map((entry) => parsePinnedHostKey(entry) ?? { fingerprint: entry });
}
