// Vendor onnxruntime-web into web/vendor/ so the page loads nothing from a CDN: the single-threaded WASM
// build (no SharedArrayBuffer, so any static host works without cross-origin isolation headers).
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "onnxruntime-web", "dist");
const vendor = join(here, "vendor");
const files = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

if (!existsSync(dist)) {
  console.error("error: node_modules/onnxruntime-web is missing; run `npm ci` in web/ first");
  process.exit(2);
}
mkdirSync(vendor, { recursive: true });
for (const f of files) copyFileSync(join(dist, f), join(vendor, f));
console.log(`vendored ${files.length} onnxruntime-web files into web/vendor/`);
