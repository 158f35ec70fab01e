// The notice a blocked difusor's portal shows instead of results: the Spanish default (with links to
// the institute's PREP and the official list when the registry gives them) and the renderer that
// fills a template (the registry's `notice.template`). Every value is HTML-escaped.
import { addressInWords } from '../words/address.js';
import { escapeHtml } from '../words/html.js';
import { PLACEHOLDER, type NoticePlaceholder, type NoticeValues } from '../registry/notice-placeholders.js';

/** Fills a template; every value is HTML-escaped (a reason typed at `block` is text, not markup). */
export function fillNoticeTemplate(template: string, values: NoticeValues): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    name in values ? escapeHtml(values[name as NoticePlaceholder]) : whole,
  );
}

/** What the default notice says beyond the placeholders. */
export interface NoticeWords {
  /** "Instituto Electoral de Michoacán (IEM)" */
  instituteTitle: string;
  /** "el Instituto Electoral de Michoacán (IEM)" */
  instituteInFull: string;
  /** The public reason, one sentence ending with its full stop. */
  reasonSentence: string;
}

/** The built-in notice, in Spanish; `notice.template` in the registry replaces it. */
export function defaultNotice(v: NoticeValues, words: NoticeWords): string {
  const h = escapeHtml;
  const links = [
    v.institute_url ? `<li><a href="${h(v.institute_url)}">Sitio oficial del PREP del ${h(v.institute_short)}</a> <span class="dir">${h(addressInWords(v.institute_url))}</span></li>` : '',
    v.list_url ? `<li><a href="${h(v.list_url)}">Lista de difusores oficiales del PREP</a> <span class="dir">${h(addressInWords(v.list_url))}</span></li>` : '',
  ].filter(Boolean);
  const where = links.length
    ? `<h2>Dónde consultar los resultados</h2>\n<ul>\n${links.join('\n')}\n</ul>`
    : `<p>Consulte los resultados en el sitio oficial del PREP del ${h(v.institute_short)} o con los difusores oficiales que publica el ${h(v.institute_short)}.</p>`;
  return `<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Cache-Control" content="no-cache, no-store, must-revalidate">
<meta name="robots" content="noindex">
<title>Aviso del ${h(v.institute_short)}: ${h(v.difusor)} ya no es un difusor válido del PREP</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1a1a1a; overflow-wrap: anywhere; }
  .emisor { color: #444; font-size: 0.95rem; margin-bottom: 0.25rem; }
  h1 { font-size: 1.6rem; line-height: 1.25; margin-top: 0.25rem; }
  h2 { font-size: 1.15rem; margin-top: 1.5rem; }
  .aviso { border-left: 0.4rem solid #b00020; padding: 0.5rem 1rem; background: #fdf2f3; }
  .dir { color: #555; font-size: 0.9rem; }
  a { color: #0b4f8a; }
</style>
</head>
<body>
<main>
<p class="emisor">${h(words.instituteTitle)} · Programa de Resultados Electorales Preliminares (PREP)</p>
<h1>Aviso: este sitio ya no es un difusor válido del PREP</h1>
<div class="aviso" role="alert">
<p>Desde el ${h(v.since)}, ${h(words.instituteInFull)} dejó de enviar los resultados preliminares a <strong>${h(v.difusor)}</strong>.</p>
<p><strong>Motivo:</strong> ${h(words.reasonSentence)}</p>
</div>
<p>Este sitio <strong>no muestra resultados del PREP</strong>. Las cifras que haya visto aquí antes pueden no estar actualizadas.</p>
${where}
</main>
</body>
</html>
`;
}
