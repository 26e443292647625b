// Vendor onnxruntime-web into web/vendor/ so the page loads nothing from a CDN: the WASM build (one thread on any
// static host; several where the host sends the cross-origin isolation headers) and the WebGPU build with its
// WASM (asyncify) files, which the live view's worker can pick with ?backend=webgpu.
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "onnxruntime-web", "dist");
const vendor = join(here, "vendor");
const files = [
  "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
  "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm",
];

if (!existsSync(dist)) {
  console.error("error: node_modules/onnxruntime-web is missing; run `npm ci` in web/ first");
  process.exit(2);
}
mkdirSync(vendor, { recursive: true });
for (const f of files) copyFileSync(join(dist, f), join(vendor, f));
console.log(`vendored ${files.length} onnxruntime-web files into web/vendor/`);
