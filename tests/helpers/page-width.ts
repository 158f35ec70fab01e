// A page as a phone shows it: headless Chromium keeps its window at least 500 px wide, so the page is
// framed in an <iframe> of the width asked (its own viewport: media queries and innerWidth are that
// width) and reports its layout to the frame's parent, which Chromium's DOM dump then carries.
// Also takes a screenshot of that width (for the docs), cropped from the window.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM, decodePng, HEADLESS_FLAGS } from './chromium.js';
import { encodePng } from './logos.js';

export interface PageLayout {
  /** document.documentElement.scrollWidth: wider than `width` means a horizontal scroll. */
  scroll: number;
  /** innerWidth of the page's viewport. */
  width: number;
  /** Whether each <img> loaded (naturalWidth > 0), in document order. */
  images: boolean[];
}

const REPORTER =
  '<script>addEventListener("load", () => parent.postMessage({ scroll: document.documentElement.scrollWidth, width: innerWidth, ' +
  'images: [...document.images].map((i) => i.naturalWidth > 0) }, "*"));</script>';

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM!, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Lays `htmlFile` out at `width` × `height` px: its layout and, when `screenshot` names a file, a PNG
 * of exactly that size. The page is copied beside itself (so relative links resolve) with a reporter.
 */
export async function layoutAtWidth(htmlFile: string, width: number, height: number, screenshot?: string): Promise<PageLayout> {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium)');
  const profile = await mkdtemp(path.join(tmpdir(), 'prep-push-width-'));
  const copy = path.join(path.dirname(htmlFile), `.medida-${path.basename(profile)}.html`);
  const wrapper = path.join(profile, 'marco.html');
  try {
    await writeFile(copy, (await readFile(htmlFile, 'utf8')).replace('</body>', `${REPORTER}</body>`));
    await writeFile(
      wrapper,
      '<!doctype html><html><head><style>html,body{margin:0;padding:0;background:#fff}iframe{border:0;display:block}</style></head><body>' +
        `<iframe src="${pathToFileURL(copy).href}" width="${width}" height="${height}"></iframe>` +
        '<script>addEventListener("message", (e) => { document.body.dataset.medida = JSON.stringify(e.data); });</script></body></html>',
    );
    const common = [
      ...HEADLESS_FLAGS,
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      `--window-size=${Math.max(width, 500)},${height}`,
      '--virtual-time-budget=5000',
    ];
    const dom = await run([...common, '--dump-dom', pathToFileURL(wrapper).href]);
    const found = /data-medida="([^"]*)"/.exec(dom);
    if (!found) throw new Error(`the page did not report its layout:\n${dom.slice(0, 2000)}`);
    const layout = JSON.parse(found[1].replace(/&quot;/g, '"')) as PageLayout;
    if (screenshot !== undefined) {
      const shot = path.join(profile, 'shot.png');
      await run([...common, `--screenshot=${shot}`, pathToFileURL(wrapper).href]);
      const full = decodePng(await readFile(shot));
      await writeFile(screenshot, encodePng(Math.min(width, full.width), Math.min(height, full.height), (x, y) => full.pixel(x, y).slice(0, 3) as [number, number, number]));
    }
    return layout;
  } finally {
    await rm(copy, { force: true });
    await rm(profile, { recursive: true, force: true });
  }
}
