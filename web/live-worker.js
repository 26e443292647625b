// The live view's model, off the page's thread: the page posts one frame's z (and y) as the sound arrives, this
// worker runs the bundle's model.onnx on it and posts back the RGBA frame at the model's size. The page runs a
// few of these side by side (one frame each at a time), so a model slower than a frame still keeps up.
import { loadBundle, toRGBA } from "./ganimate.js";

let bundle = null, runtime = null;

// The onnxruntime-web build for a backend: WebGPU's (it also carries WASM) or the plain WASM one.
async function runtimeFor(backend, threads) {
  const module = backend === "webgpu" ? await import("./vendor/ort.webgpu.min.mjs") : await import("./vendor/ort.wasm.min.mjs");
  module.env.wasm.wasmPaths = new URL("./vendor/", import.meta.url).href;
  // Threads need SharedArrayBuffer, which only a cross-origin isolated page has (web/serve.py sends the headers).
  module.env.wasm.numThreads = self.crossOriginIsolated ? threads : 1;
  return module;
}

async function load({ url, backend, threads }) {
  runtime = await runtimeFor(backend, threads);
  bundle = await loadBundle(url, { runtime, providers: [backend] });
  const feed = warmFeed(bundle.config);
  await bundle.session.run(feed); // the first run compiles kernels: not a live frame's cost
  return { config: bundle.config, threads: runtime.env.wasm.numThreads, backend };
}

function warmFeed(config) {
  const feed = { z: new runtime.Tensor("float32", new Float32Array(config.latent_dim), [1, config.latent_dim]) };
  if (config.num_classes) feed.y = new runtime.Tensor("float32", new Float32Array(config.num_classes), [1, config.num_classes]);
  return feed;
}

async function frame({ z, y }) {
  const { config, session } = bundle, [h, w] = config.image_size;
  const feed = { z: new runtime.Tensor("float32", z, [1, config.latent_dim]) };
  if (config.num_classes) feed.y = new runtime.Tensor("float32", y, [1, config.num_classes]);
  const started = performance.now();
  const out = await session.run(feed);
  const rgba = toRGBA(out.images.data, 0, h, w, config.channels);
  const ms = performance.now() - started;
  return { rgba, ms };
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "load") self.postMessage({ type: "ready", ...(await load(data)) });
    else if (data.type === "frame") {
      const result = await frame(data);
      self.postMessage({ type: "frame", id: data.id, ...result }, [result.rgba.buffer]);
    }
  } catch (err) {
    self.postMessage({ type: "error", id: data.id, message: String(err.message || err) });
  }
};
