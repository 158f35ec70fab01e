// What a notice template may use (`{{institute}}`, …): checked when the registry is validated, filled
// by src/notice/template.ts.

/** What a template may use; anything else in `{{...}}` is refused when the registry is validated. */
// `reason` is the public reason (never the internal one), without its final full stop; `aviso` the
// whole notice in one paragraph (as json/main.json carries it); the two URLs are empty when not set.
export const NOTICE_PLACEHOLDERS = ['institute', 'institute_short', 'difusor', 'difusor_id', 'url', 'since', 'reason', 'cut', 'institute_url', 'list_url', 'aviso'] as const;
export type NoticePlaceholder = (typeof NOTICE_PLACEHOLDERS)[number];
export type NoticeValues = Record<NoticePlaceholder, string>;

/** `{{ name }}` in a template. */
export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The `{{names}}` a template uses that are not placeholders, in order of appearance, once each. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(NOTICE_PLACEHOLDERS);
  const unknown = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((name) => !known.has(name));
  return [...new Set(unknown)];
}
