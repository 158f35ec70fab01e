// public/: the official list of difusores the institute's PREP site serves — a pure model from the
// registry and the ledger (this file), rendered as difusores.json and an accessible Spanish page.
import { escapeHtml } from '../words/html.js';
import { formatTime } from '../words/time.js';
import type { LedgerState } from '../ledger/types.js';
import type { Registry } from '../registry/types.js';

export interface PublicDifusor {
  id: string;
  name: string;
  url: string | null;
  state: 'active' | 'blocked';
}

export interface PublicList {
  institute: string;
  /** When the list last changed (ISO 8601 UTC). */
  updated: string;
  difusores: PublicDifusor[];
}

/** Enabled difusores in registry order; disabled ones are not part of the official list. */
export function publicListOf(registry: Registry, ledger: LedgerState, updated: string): PublicList {
  return {
    institute: registry.instituteName ?? registry.institute,
    updated,
    difusores: registry.difusores
      .filter((d) => d.enabled)
      .map((d) => ({ id: d.id, name: d.name, url: d.url ?? null, state: ledger.difusores[d.id]?.blocked ? 'blocked' : 'active' })),
  };
}

export function renderPublicJson(list: PublicList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

function row(d: PublicDifusor): string {
  const name = escapeHtml(d.name);
  if (d.state === 'blocked') {
    return `<tr class="suspendido"><td>${name}</td><td>Suspendido</td><td>Sin enlace mientras dure la suspensión</td></tr>`;
  }
  const link = d.url ? `<a href="${escapeHtml(d.url)}">${escapeHtml(d.url)}</a>` : 'Sin dirección registrada';
  return `<tr class="activo"><td>${name}</td><td>Activo</td><td>${link}</td></tr>`;
}

export function renderPublicHtml(list: PublicList, timeZone: string): string {
  const institute = escapeHtml(list.institute);
  const active = list.difusores.filter((d) => d.state === 'active').length;
  const suspended = list.difusores.length - active;
  return `<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Difusores oficiales del PREP — ${institute}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1a1a1a; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid #ccc; }
  tr.suspendido td { color: #6b0010; }
</style>
</head>
<body>
<main>
<h1>Difusores oficiales del PREP</h1>
<p>${institute}. Actualizado el ${escapeHtml(formatTime(list.updated, timeZone))}.</p>
<p>${active} ${active === 1 ? 'difusor activo' : 'difusores activos'}${suspended ? `, ${suspended} ${suspended === 1 ? 'suspendido' : 'suspendidos'}` : ''}. Los difusores suspendidos no reciben resultados y no se enlazan.</p>
<table>
<caption>Difusores del Programa de Resultados Electorales Preliminares y su estado</caption>
<thead><tr><th scope="col">Difusor</th><th scope="col">Estado</th><th scope="col">Sitio</th></tr></thead>
<tbody>
${list.difusores.map(row).join('\n')}
</tbody>
</table>
</main>
</body>
</html>
`;
}
