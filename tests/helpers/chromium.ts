// Headless Chromium for tests of the HTML prep-push writes: the DOM after rendering, a screenshot
// decoded to pixels, and a count of every network request the page tried (sent to a counting proxy).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * Chromium's own background calls (component updates, clock check, account service), made whatever
 * the page is; they never carry the page's content. The control test shows the page's own are caught.
 */
const BROWSER_SERVICES = /^(CONNECT|GET|POST) (https?:\/\/)?(update\.googleapis\.com|clients\d*\.google\.com|accounts\.google\.com|[\w.-]+\.gvt1\.com)[:/]/;

export interface RenderedPage {
  dom: string;
  screenshot: DecodedPng;
  /** Requests that reached the proxy: anything the page tried to fetch over the network. */
  networkRequests: string[];
}

/** Renders `htmlFile` twice (DOM dump, screenshot) with every network request routed to a counting proxy. */
export async function renderInChromium(htmlFile: string, size = { width: 1400, height: 1400 }): Promise<RenderedPage> {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium)');
  const networkRequests: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (data) => {
      const line = data.toString('latin1').split('\r\n')[0];
      if (!BROWSER_SERVICES.test(line)) networkRequests.push(line);
      socket.destroy();
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  const profile = await mkdtemp(join(tmpdir(), 'prep-push-chromium-'));
  const shot = join(profile, 'shot.png');
  const common = [
    ...HEADLESS_FLAGS,
    '--disable-default-apps',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--no-pings',
    `--user-data-dir=${profile}`,
    // Every request, loopback included, goes to the counting proxy; no DNS resolves.
    `--proxy-server=http://127.0.0.1:${port}`,
    '--proxy-bypass-list=<-loopback>',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    `--window-size=${size.width},${size.height}`,
    '--hide-scrollbars',
  ];
  const url = pathToFileURL(htmlFile).href;
  try {
    const dom = await run(CHROMIUM, [...common, '--dump-dom', url]);
    await run(CHROMIUM, [...common, `--screenshot=${shot}`, url]);
    return { dom, screenshot: decodePng(await readFile(shot)), networkRequests };
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await rm(profile, { recursive: true, force: true });
  }
}

/** Headless Chromium that fetches nothing of its own (updates, sync, extensions): shared by every page test. */
export const HEADLESS_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-extensions',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Flags for a run that needs no proxy count: no network at all (every request goes to a closed port). */
function offlineArgs(profile: string, width: number, height: number): string[] {
  return [
    ...HEADLESS_FLAGS,
    '--no-pings',
    `--user-data-dir=${profile}`,
    '--proxy-server=http://127.0.0.1:9',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    `--window-size=${width},${height}`,
    '--hide-scrollbars',
  ];
}

/**
 * Prints `htmlFile` to `pdfFile` as a person would with "Print → Save as PDF": the page's print
 * stylesheet and `@page` rules apply; no header or footer is added. Chromium's default paper is Letter.
 */
export async function printToPdf(htmlFile: string, pdfFile: string): Promise<void> {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium)');
  const profile = await mkdtemp(join(tmpdir(), 'prep-push-chromium-'));
  try {
    await run(CHROMIUM, [...offlineArgs(profile, 1280, 1000), '--no-pdf-header-footer', `--print-to-pdf=${pdfFile}`, pathToFileURL(htmlFile).href]);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The PDF's text, page by page, as `pdftotext -layout` reads it (poppler-utils). Text outside a page's box is not read. */
export async function pdfPages(pdfFile: string): Promise<string[]> {
  const text = await run('pdftotext', ['-layout', '-enc', 'UTF-8', pdfFile, '-']);
  return text.split('\f').slice(0, -1);
}

/**
 * A screenshot of the whole page at `width` CSS pixels (a window `maxHeight` tall, its blank bottom
 * trimmed), written as PNG: for the pictures in docs/.
 */
export async function screenshotFullPage(htmlFile: string, pngFile: string, width: number, maxHeight = 16000): Promise<void> {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium)');
  const profile = await mkdtemp(join(tmpdir(), 'prep-push-chromium-'));
  const shot = join(profile, 'shot.png');
  try {
    await run(CHROMIUM, [...offlineArgs(profile, width, maxHeight), `--screenshot=${shot}`, pathToFileURL(htmlFile).href]);
    const png = decodePng(await readFile(shot));
    let last = png.height - 1;
    const white = (y: number) => {
      for (let x = 0; x < png.width; x += 1) {
        const [r, g, b] = png.pixel(x, y);
        if (r < 250 || g < 250 || b < 250) return false;
      }
      return true;
    };
    while (last > 0 && white(last)) last -= 1;
    await writeFile(pngFile, encodePng(png, Math.min(png.height, last + 24)));
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** An RGB PNG of the first `height` rows of a decoded image. */
function encodePng(image: DecodedPng, height: number): Buffer {
  const raw = Buffer.alloc(height * (image.width * 3 + 1));
  for (let y = 0; y < height; y += 1) {
    const row = y * (image.width * 3 + 1);
    for (let x = 0; x < image.width; x += 1) {
      const [r, g, b] = image.pixel(x, y);
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.slice(-2).join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA of pixel (x, y). */
  pixel(x: number, y: number): [number, number, number, number];
}

/** Decodes the 8-bit RGB/RGBA, non-interlaced PNGs Chromium writes (filters 0-4). */
export function decodePng(png: Buffer): DecodedPng {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colourType, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || (colourType !== 2 && colourType !== 6)) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colourType}, interlace ${interlace})`);
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x += 1) {
      const left = x >= channels ? pixels[y * stride + x - channels] : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels] : 0;
      let value = line[x];
      if (filter === 1) value += left;
      else if (filter === 2) value += up;
      else if (filter === 3) value += (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - upLeft);
        value += pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = value & 0xff;
    }
  }
  return {
    width,
    height,
    pixel(x, y) {
      const i = y * stride + x * channels;
      return [pixels[i], pixels[i + 1], pixels[i + 2], channels === 4 ? pixels[i + 3] : 255];
    },
  };
}
