// The one HTML escaper for every page people read (report, notice, public list): text, never markup.

export function escapeHtml(text: string | number | null): string {
  return String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
