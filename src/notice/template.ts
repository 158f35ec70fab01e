// The notice a blocked difusor's portal shows instead of results: its placeholders, the Spanish
// default text, and the renderer that fills a template (the registry's `notice.template` or the default).
import { escapeHtml } from '../words/html.js';
import { PLACEHOLDER, type NoticePlaceholder, type NoticeValues } from '../registry/notice-placeholders.js';

/** Fills a template; every value is HTML-escaped (a reason typed at `block` is text, not markup). */
export function fillNoticeTemplate(template: string, values: NoticeValues): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    name in values ? escapeHtml(values[name as NoticePlaceholder]) : whole,
  );
}

/** The built-in notice, in Spanish; `notice.template` in the registry replaces it. */
export const DEFAULT_NOTICE_TEMPLATE = `<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Cache-Control" content="no-cache, no-store, must-revalidate">
<title>Aviso: publicación del PREP suspendida en {{difusor}}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; color: #1a1a1a; }
  h1 { font-size: 1.6rem; }
  .aviso { border-left: 0.4rem solid #b00020; padding: 0.5rem 1rem; background: #fdf2f3; }
</style>
</head>
<body>
<main>
<h1>Aviso: la publicación del PREP en este sitio está suspendida</h1>
<div class="aviso" role="alert">
<p>El <strong>{{institute}}</strong> interrumpió la transmisión de los resultados preliminares (PREP) a <strong>{{difusor}}</strong> desde el {{since}}.</p>
<p>Motivo: {{reason}}.</p>
</div>
<p>Este sitio <strong>no muestra resultados</strong> mientras dure la suspensión. Los resultados que se hayan visto aquí antes pueden no estar actualizados.</p>
<p>Consulte los resultados en el sitio oficial del PREP del {{institute}} o con los difusores vigentes que publica el Instituto.</p>
</main>
</body>
</html>
`;
