// The printed memoria técnica keeps every cut: a 72-cut night's report.html, printed to PDF by headless
// Chromium (Letter, its default, and A4, the narrower), has every cut's column label in the PDF's text,
// each grid block whole on one page.
//
// Read with pdftotext (poppler-utils), which keeps only text inside a page's box, so a column clipped
// off the paper's edge is missing from the text. How this check can be wrong: text drawn on the page
// but hidden under something else still counts (nothing in the grid overlaps); a PDF whose fonts lack
// a ToUnicode map, or a pdftotext that splits rotated labels differently, would fail it falsely.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIncidentReport, type IncidentReport } from '../../src/report/model.js';
import { renderHtml } from '../../src/report/render-html.js';
import { gridBlocks } from '../../src/report/render-text.js';
import { cutLabel } from '../../src/report/words.js';
import { pdfPages, printToPdf } from '../helpers/chromium.js';
import { electionNightInput } from '../helpers/report-night.js';

let dir: string;
let report: IncidentReport;
let html: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'prep-push-report-print-'));
  report = buildIncidentReport(electionNightInput(72));
  html = renderHtml(report);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const election = () => report.cuts.filter((c) => !c.withdrawn && !c.drill);

async function printed(paper: 'Letter' | 'A4'): Promise<string[]> {
  const file = path.join(dir, `memoria-${paper}.html`);
  // Chromium prints on Letter unless the page asks otherwise; A4 is asked for as a reader's settings would.
  await writeFile(file, paper === 'A4' ? html.replace('</head>', '<style>@page { size: A4; }</style>\n</head>') : html);
  const pdf = path.join(dir, `memoria-${paper}.pdf`);
  await printToPdf(file, pdf);
  return pdfPages(pdf);
}

test('the night has 72 election cuts, plus drills and a withdrawn cut shown apart', () => {
  expect(election()).toHaveLength(72);
  expect(report.cuts.filter((c) => c.drill)).toHaveLength(3);
  expect(report.cuts.filter((c) => c.withdrawn).map((c) => c.id)).toEqual(['20271125_1730']);
});

test.each(['Letter', 'A4'] as const)('printed on %s: every cut of the grid is on paper, each block of columns whole on one page', async (paper) => {
  const pages = await printed(paper);
  const text = pages.join('\n');
  const missing = report.cuts.map((c) => cutLabel(c.id)).filter((label) => !text.includes(label));
  expect(missing).toEqual([]);
  // The last cut of the night, the one a one-table grid lost first.
  expect(text).toContain('03/06 07:50');

  const blocks = gridBlocks(election());
  expect(blocks).toHaveLength(4);
  blocks.forEach((block, i) => {
    const page = pages.findIndex((p) => p.includes(`Cortes de la elección, parte ${i + 1} de ${blocks.length}`));
    expect(page).toBeGreaterThanOrEqual(0);
    expect(block.map((c) => cutLabel(c.id)).filter((label) => !pages[page].includes(label))).toEqual([]);
  });
}, 120_000);
