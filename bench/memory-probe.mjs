// Peak RSS of one package build: node bench/memory-probe.mjs SOURCE_DIR STORE_DIR tar.gz|zip (after npm run build).
import { buildPackage } from '../dist/src/package/build-package.js';
import { cutAt } from '../dist/src/core/cut.js';
const [src, store, format] = process.argv.slice(2);
const t = performance.now();
const pkg = await buildPackage({ sourceDir: src, cut: cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City'), institute: 'IEM', nameTemplate: 'MEM_{cut}', format, storeDir: store });
console.log(JSON.stringify({ format, bytes: pkg.bytes, files: pkg.fileCount, seconds: ((performance.now() - t) / 1000).toFixed(1), maxRssMB: (process.resourceUsage().maxRSS / 1024).toFixed(0) }));
