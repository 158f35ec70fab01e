// public/: the official list of difusores the institute's PREP site serves — a pure model from the
// registry and the ledger (this file), rendered as difusores.json and an accessible Spanish page
// where each difusor's logo is its link (as the calls ask), readable on a phone without scrolling sideways.
import { addressInWords } from '../words/address.js';
import { escapeHtml } from '../words/html.js';
import { formatTime } from '../words/time.js';
import type { LedgerState } from '../ledger/types.js';
import type { Registry } from '../registry/types.js';

export interface PublicDifusor {
  id: string;
  name: string;
  /** Its registered public address (the registry's `url`). */
  url: string | null;
  state: 'active' | 'blocked';
  /** The address to link: its url while active, null otherwise ("inhabilitar la liga"). */
  link: string | null;
  /** Its logo, relative to the list's folder (`logos/el-sol.png`), or null. */
  logo: string | null;
}

export interface PublicList {
  institute: string;
  /** When the list last changed (ISO 8601 UTC). */
  updated: string;
  difusores: PublicDifusor[];
}

/** The difusores the list shows: enabled ones, without the blocked ones under `blocked: remove`. */
export function listedDifusores(registry: Registry, ledger: LedgerState): Registry['difusores'] {
  const remove = registry.publicList?.blocked === 'remove';
  return registry.difusores.filter((d) => d.enabled && !(remove && ledger.difusores[d.id]?.blocked));
}

/**
 * Enabled difusores in registry order; disabled ones are not part of the official list, and blocked
 * ones are listed as suspended (default) or left out (`public_list.blocked: remove`). `logos` maps a
 * difusor id to its logo's path in the list's folder (only logos that were copied there).
 */
export function publicListOf(registry: Registry, ledger: LedgerState, updated: string, logos: ReadonlyMap<string, string> = new Map()): PublicList {
  return {
    institute: registry.instituteName ?? registry.institute,
    updated,
    difusores: listedDifusores(registry, ledger).map((d) => {
      const state = ledger.difusores[d.id]?.blocked ? 'blocked' : 'active';
      const url = d.url ?? null;
      return { id: d.id, name: d.name, url, state, link: state === 'active' ? url : null, logo: logos.get(d.id) ?? null };
    }),
  };
}

export function renderPublicJson(list: PublicList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

function row(d: PublicDifusor): string {
  const name = escapeHtml(d.name);
  const img = d.logo === null ? '' : `<img src="${escapeHtml(d.logo)}" alt="${name}" loading="lazy">`;
  const logo = img === '' ? '' : d.link === null ? `<span class="logo">${img}</span>` : `<a class="logo" href="${escapeHtml(d.link)}">${img}</a>`;
  const who = `<td class="difusor" data-label="Difusor">${logo}<span class="nombre">${name}</span></td>`;
  if (d.state === 'blocked') {
    return `<tr class="suspendido">${who}<td data-label="Estado">Suspendido</td><td data-label="Sitio">Sin enlace mientras dure la suspensión</td></tr>`;
  }
  const site = d.link ? `<a href="${escapeHtml(d.link)}">${escapeHtml(addressInWords(d.link))}</a>` : 'Sin dirección registrada';
  return `<tr class="activo">${who}<td data-label="Estado">Activo</td><td data-label="Sitio">${site}</td></tr>`;
}

export function renderPublicHtml(list: PublicList, zone: Pick<Registry, 'timezone' | 'timezoneLabel'>, blocked: 'suspend' | 'remove' = 'suspend'): string {
  const institute = escapeHtml(list.institute);
  const active = list.difusores.filter((d) => d.state === 'active').length;
  const suspended = list.difusores.length - active;
  const counts =
    `${active} ${active === 1 ? 'difusor activo' : 'difusores activos'}` +
    (suspended ? `, ${suspended} ${suspended === 1 ? 'suspendido' : 'suspendidos'}` : '') +
    '.';
  const rule =
    blocked === 'remove'
      ? 'Un difusor que deja de cumplir la convocatoria se retira de esta lista.'
      : 'Los difusores suspendidos no reciben resultados y no se enlazan.';
  return `<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Difusores oficiales del PREP — ${institute}</title>
<style>
  *, *::before, *::after { box-sizing: border-box; }
  body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1a1a1a; }
  h1 { font-size: 1.7rem; line-height: 1.25; }
  table { border-collapse: collapse; width: 100%; }
  caption { text-align: left; font-weight: 600; padding-bottom: 0.5rem; }
  th, td { text-align: left; padding: 0.6rem; border-bottom: 1px solid #ccc; vertical-align: middle; overflow-wrap: anywhere; }
  th { border-bottom: 2px solid #555; }
  .logo { display: inline-block; margin-bottom: 0.3rem; }
  /* One height for every logo, whatever its own size; never wider than its cell, never distorted. */
  .logo img { display: block; height: 3rem; width: auto; max-width: min(14rem, 100%); object-fit: contain; object-position: left center; }
  .nombre { display: block; font-weight: 600; }
  a { color: #0b4f8a; }
  tr.suspendido td { color: #6b0010; }
  tr.suspendido img { filter: grayscale(1); opacity: 0.55; }
  @media (max-width: 40rem) {
    body { margin: 1rem auto; }
    thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    table, caption, tbody, tr, td { display: block; width: 100%; }
    tr { border-bottom: 1px solid #ccc; padding: 0.6rem 0; }
    td { border: 0; padding: 0.15rem 0; }
    td:not(.difusor)::before { content: attr(data-label) ": "; font-weight: 600; color: #1a1a1a; }
  }
</style>
</head>
<body>
<main>
<h1>Difusores oficiales del PREP</h1>
<p>${institute}. Actualizado el ${escapeHtml(formatTime(list.updated, zone))}.</p>
<p>${counts} ${rule} Para ir al sitio de un difusor, elija ${list.difusores.some((d) => d.logo !== null) ? 'su logotipo o su dirección' : 'su dirección'}.</p>
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
