// Writes the pictures of the incident report that docs/operations.md shows (docs/img/): the report of
// a 72-cut night (tests/helpers/report-night.ts) at 1280 and 390 px, and each page of its printed PDF.
// Run after `npm run build`: node dist/tests/helpers/report-images.js [OUT_DIR]   (needs chromium, pdftoppm)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIncidentReport } from '../../src/report/model.js';
import { renderHtml } from '../../src/report/render-html.js';
import { CHROMIUM, printToPdf, screenshotFullPage } from './chromium.js';
import { electionNightInput } from './report-night.js';

async function main(): Promise<void> {
  if (!CHROMIUM) throw new Error('chromium is not installed');
  const out = path.resolve(process.argv[2] ?? 'docs/img');
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), 'prep-push-report-images-'));
  try {
    const html = path.join(work, 'memoria.html');
    writeFileSync(html, renderHtml(buildIncidentReport(electionNightInput())));
    await screenshotFullPage(html, path.join(out, 'report-1280.png'), 1280);
    await screenshotFullPage(html, path.join(out, 'report-390.png'), 390);
    const pdf = path.join(work, 'memoria.pdf');
    await printToPdf(html, pdf);
    for (const old of readdirSync(out).filter((f) => /^report-print-\d+\.png$/.test(f))) rmSync(path.join(out, old));
    execFileSync('pdftoppm', ['-png', '-r', '72', pdf, path.join(work, 'page')]);
    for (const page of readdirSync(work).filter((f) => /^page-\d+\.png$/.test(f)).sort()) {
      renameSync(path.join(work, page), path.join(out, `report-print-${page.replace(/^page-0*/, '')}`));
    }
    console.log(`wrote ${readdirSync(out).filter((f) => f.startsWith('report-')).join(', ')} in ${out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
