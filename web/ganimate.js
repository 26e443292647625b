// ganimate in the browser: the portable z(seed), the keyframe paths and the render loop of serving/, in plain
// JavaScript, running a bundle's model.onnx with onnxruntime-web (vendored in ./vendor by `npm run build`).
// The frames match `serving.rendering.render.render_frames` for the same recipe within 1/255 per pixel (tested).

import * as ort from "./vendor/ort.wasm.min.mjs";

ort.env.wasm.wasmPaths = new URL("./vendor/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // no SharedArrayBuffer needed: any static host works

// ---- seeds: splitmix64-boxmuller-v1 (DESIGN.md) ----
const MASK = (1n << 64n) - 1n;

export function splitmix64(seed, count) {
  const out = [];
  for (let i = 1n; i <= BigInt(count); i++) {
    let x = (BigInt(seed) + i * 0x9e3779b97f4a7c15n) & MASK;
    x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK;
    x ^= x >> 31n;
    out.push(x);
  }
  return out;
}

export function zFromSeed(seed, dim) {
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new Error(`seed ${seed} is out of range 0..4294967295`);
  const pairs = Math.ceil(dim / 2);
  const u = splitmix64(seed, 2 * pairs).map((x) => (Number(x >> 11n) + 0.5) * 2 ** -53);
  const z = new Float64Array(2 * pairs);
  for (let p = 0; p < pairs; p++) {
    const r = Math.sqrt(-2 * Math.log(u[2 * p]));
    z[2 * p] = r * Math.cos(2 * Math.PI * u[2 * p + 1]);
    z[2 * p + 1] = r * Math.sin(2 * Math.PI * u[2 * p + 1]);
  }
  return Float32Array.from(z.subarray(0, dim));
}

// The Space's caps (serving/rendering/recipe.py, serving/rendering/budget.py), so one link cannot freeze a visitor's tab.
export const MAX_KEYFRAMES = 64, MAX_FRAMES_PER_TRANSITION = 240, MAX_TOTAL_FRAMES = 2048;

export function parseList(text, what, max) {
  const out = [];
  for (const part of String(text).replace(/\s/g, "").split(",").filter(Boolean)) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new Error(`cannot read ${JSON.stringify(part)} as a ${what} or a range like 3-9`);
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > hi || hi > max) throw new Error(`${what} ${part} is out of range 0..${max}`);
    if (out.length + hi - lo + 1 > 256) throw new Error(`at most 256 ${what}s`);
    for (let v = lo; v <= hi; v++) out.push(v);
  }
  if (!out.length) throw new Error(`the ${what} list is empty`);
  return out;
}

// Classes by number or by name (as the CLI and the Space take them): "3,8" or "rose,julia".
export function parseClasses(text, classNames) {
  const names = (classNames || []).map((n) => String(n).toLowerCase());
  const parts = String(text).split(",").map((p) => p.trim()).filter(Boolean);
  if (parts.length && parts.every((p) => names.includes(p.toLowerCase()))) return parts.map((p) => names.indexOf(p.toLowerCase()));
  for (const p of parts) {
    if (!/^\d+(-\d+)?$/.test(p)) throw new Error(`cannot read ${JSON.stringify(p)} as a class: give numbers or names (${names.slice(0, 10).join(", ")})`);
  }
  return parseList(text, "class", Math.max(names.length - 1, 0));
}

// A number field, finite and in [lo, hi], or one clear line.
export function parseNumber(text, what, lo, hi) {
  const x = Number(String(text).trim());
  if (String(text).trim() === "" || !Number.isFinite(x)) throw new Error(`${what} must be a number in ${lo}..${hi}, got ${JSON.stringify(String(text).slice(0, 40))}`);
  if (x < lo || x > hi) throw new Error(`${what} must be in ${lo}..${hi}, got ${x}`);
  return x;
}

// ---- paths: serving/latent/paths.py keyframe paths (lerp, slerp, cubic), loop and easing ----
const ease = (t, easing) => (easing === "ease-in-out" ? 0.5 - 0.5 * Math.cos(Math.PI * t) : t);

function segments(k, frames, loop, easing) {
  const transitions = loop ? k : k - 1;
  const seg = [], ts = [];
  for (let j = 0; j < transitions * frames; j++) {
    seg.push(Math.floor(j / frames));
    ts.push(ease((j % frames) / frames, easing));
  }
  if (!loop) { seg.push(k - 2); ts.push(ease(1, easing)); }
  return [seg, ts];
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function slerp(a, b, t) {
  const na = norm(a), nb = norm(b);
  const ua = a.map((x) => x / Math.max(na, 1e-12)), ub = b.map((x) => x / Math.max(nb, 1e-12));
  const dot = Math.min(1, Math.max(-1, ua.reduce((s, x, i) => s + x * ub[i], 0)));
  const omega = Math.acos(dot), so = Math.sin(omega);
  const near = so < 1e-6;
  const wa = near ? 1 - t : Math.sin((1 - t) * omega) / so, wb = near ? t : Math.sin(t * omega) / so;
  const dir = ua.map((x, i) => wa * x + wb * ub[i]);
  const nd = Math.max(norm(dir), 1e-12), scale = (1 - t) * na + t * nb;
  return dir.map((x) => (x / nd) * scale);
}

function catmullRom(keys, seg, t, loop) {
  const k = keys.length;
  const at = (i) => keys[loop ? ((i % k) + k) % k : Math.min(Math.max(i, 0), k - 1)];
  const [p0, p1, p2, p3] = [at(seg - 1), at(seg), at(seg + 1), at(seg + 2)];
  const t2 = t * t, t3 = t2 * t;
  return p1.map((_, d) => 0.5 * (2 * p1[d] + (-p0[d] + p2[d]) * t + (2 * p0[d] - 5 * p1[d] + 4 * p2[d] - p3[d]) * t2
    + (-p0[d] + 3 * p1[d] - 3 * p2[d] + p3[d]) * t3));
}

// Generator inputs for every frame: z [n, dim] and, for conditional models, y [n, classes] (Float32Array).
export function buildInputs(recipe, config) {
  const dim = config.latent_dim, nc = config.num_classes || 0;
  const seeds = recipe.seeds, k = Math.max(seeds.length, (recipe.classes || []).length);
  const keySeeds = seeds.length === 1 ? Array(k).fill(seeds[0]) : seeds;
  if (k < 2) throw new Error("give at least two keyframes (seeds or classes)");
  if (k > MAX_KEYFRAMES) throw new Error(`at most ${MAX_KEYFRAMES} keyframes, got ${k}`);
  if (!Number.isInteger(recipe.frames) || recipe.frames < 1 || recipe.frames > MAX_FRAMES_PER_TRANSITION) {
    throw new Error(`frames per transition must be in 1..${MAX_FRAMES_PER_TRANSITION}`);
  }
  const total = (recipe.loop ? k : k - 1) * recipe.frames + (recipe.loop ? 0 : 1);
  if (total > MAX_TOTAL_FRAMES) {
    throw new Error(`${total} frames (${k} keyframes x ${recipe.frames}) is over the page's ${MAX_TOTAL_FRAMES}: use fewer keyframes or frames`);
  }
  if (!Number.isFinite(recipe.truncation) || recipe.truncation < 0 || recipe.truncation > 2) {
    throw new Error("truncation must be a number in 0..2");
  }
  let classes = recipe.classes && recipe.classes.length ? recipe.classes : keySeeds.map((s) => s % Math.max(nc, 1));
  if (classes.length === 1) classes = Array(k).fill(classes[0]);
  const keys = keySeeds.map((s) => Array.from(zFromSeed(s, dim), Number));
  const [seg, ts] = segments(k, recipe.frames, recipe.loop, recipe.easing);
  const n = seg.length, psi = recipe.truncation;
  const z = new Float32Array(n * dim), y = nc ? new Float32Array(n * nc) : null;
  for (let f = 0; f < n; f++) {
    const a = keys[seg[f]], b = keys[(seg[f] + 1) % k], t = ts[f];
    const v = recipe.path === "slerp" ? slerp(a, b, t)
      : recipe.path === "cubic" ? catmullRom(keys, seg[f], t, recipe.loop)
      : a.map((x, i) => (1 - t) * x + t * b[i]);
    for (let d = 0; d < dim; d++) z[f * dim + d] = v[d] * psi;
    if (y) { y[f * nc + classes[seg[f]]] += 1 - t; y[f * nc + classes[(seg[f] + 1) % k]] += t; }
  }
  return { z, y, n };
}

// ---- model ----
// A bundle is trusted no further than the Python loader trusts it: model.onnx must have the sha256 its
// config.json names, and the config's sizes must be within the same bounds (serving/bundle/config.py).
// `runtime`: the onnxruntime-web module to run it with (the live view's worker picks a WebGPU build or the WASM
// one); `providers`: its execution providers.
export async function loadBundle(url, { runtime = ort, providers = ["wasm"] } = {}) {
  const base = url.endsWith("/") ? url : url + "/";
  const got = async (name) => {
    const r = await fetch(base + name);
    if (!r.ok) throw new Error(`cannot load ${base + name}: HTTP ${r.status}`);
    return r;
  };
  const config = await (await got("config.json")).json();
  const [h, w] = config.image_size || [];
  const ok = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!ok(config.latent_dim, 1, 4096) || !ok(h, 1, 4096) || !ok(w, 1, 4096) || ![1, 3].includes(config.channels)
      || !ok(config.num_classes || 0, 0, 10000) || !/^[0-9a-f]{64}$/.test(config.sha256 || "")) {
    throw new Error(`${base}config.json is not a bundle config this page can use`);
  }
  const bytes = await readCapped(await got("model.onnx"), MAX_MODEL_BYTES, `${base}model.onnx`);
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  if (digest !== config.sha256) {
    throw new Error(`${base}model.onnx has sha256 ${digest.slice(0, 12)}…, not the ${config.sha256.slice(0, 12)}… its config.json names: refusing it`);
  }
  const refused = controlFlow(bytes);
  if (refused) {
    throw new Error(`${base}model.onnx uses ${refused}, control flow whose cost its input decides: refusing it`);
  }
  const session = await runtime.InferenceSession.create(bytes, { executionProviders: providers });
  return { config, session };
}

// The most bytes a model.onnx may have here: a stranger's link must not make the page read gigabytes before
// it can say no (the shipped models are a few MB).
export const MAX_MODEL_BYTES = 128 * 2 ** 20;

// The body of `response`, refused as soon as it passes `cap` bytes (its declared length first, then as it comes).
async function readCapped(response, cap, what) {
  const declared = Number(response.headers.get("content-length") || 0);
  if (declared > cap) throw new Error(`${what} is ${(declared / 2 ** 20).toFixed(0)} MB; at most ${cap / 2 ** 20} MB is read here`);
  const reader = response.body.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > cap) {
      await reader.cancel();
      throw new Error(`${what} is over ${cap / 2 ** 20} MB; at most that is read here`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

// The first control-flow operator (Loop, Scan, If) among the nodes of the model's graph and its functions, or
// null: the same rule as the Python loader (serving/bundle/bundle_checks.py REFUSED_OPS), read from the protobuf
// fields directly (ModelProto.graph = 7, .functions = 25; GraphProto/FunctionProto.node = 1/5; NodeProto.op_type = 4).
export function controlFlow(bytes) {
  const REFUSED = new Set(["Loop", "Scan", "If"]);
  const text = new TextDecoder();
  // [field number, start, end] of each length-delimited field of the message in bytes[start, end)
  function* fields(start, end) {
    let at = start;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do {
        if (at >= end) throw new Error("model.onnx is not a well-formed ONNX file");
        byte = bytes[at++];
        value += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte & 0x80);
      return value;
    };
    while (at < end) {
      const key = varint(), wire = key % 8, field = Math.floor(key / 8);
      if (wire === 0) varint();
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) { const n = varint(); yield [field, at, at + n]; at += n; }
      else throw new Error("model.onnx is not a well-formed ONNX file");
    }
  }
  const opOf = (start, end) => {
    for (const [f, s, e] of fields(start, end)) if (f === 4) return text.decode(bytes.subarray(s, e));
    return "";
  };
  const inNodes = (start, end, nodeField) => {
    for (const [f, s, e] of fields(start, end)) {
      if (f === nodeField && REFUSED.has(opOf(s, e))) return opOf(s, e);
    }
    return null;
  };
  for (const [f, s, e] of fields(0, bytes.length)) {
    const found = f === 7 ? inNodes(s, e, 1) : f === 25 ? inNodes(s, e, 5) : null;
    if (found) return found;
  }
  return null;
}

// One RGBA frame (Uint8ClampedArray) from images [batch, h, w, c] in 0..1: frame `i` of the batch.
export function toRGBA(images, i, h, w, c) {
  const rgba = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = images[(i * h * w + p) * c + (c === 1 ? 0 : ch)];
      rgba[p * 4 + ch] = Math.floor(Math.min(1, Math.max(0, v)) * 255 + 0.5); // serving.files.grid.to_uint8
    }
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

// RGBA frames (Uint8ClampedArray each) at the model's own resolution, generated in batches of 32.
export async function renderFrames(bundle, recipe, onProgress = () => {}) {
  const { config, session } = bundle;
  const { z, y, n } = buildInputs(recipe, config);
  const [h, w] = config.image_size, c = config.channels, dim = config.latent_dim, nc = config.num_classes || 0;
  const frames = [];
  for (let start = 0; start < n; start += 32) {
    const b = Math.min(32, n - start);
    const feed = { z: new ort.Tensor("float32", z.slice(start * dim, (start + b) * dim), [b, dim]) };
    if (nc) feed.y = new ort.Tensor("float32", y.slice(start * nc, (start + b) * nc), [b, nc]);
    const images = (await session.run(feed)).images.data;
    for (let i = 0; i < b; i++) frames.push(toRGBA(images, i, h, w, c));
    onProgress(Math.min(n, start + b), n);
  }
  return frames;
}

if (typeof window !== "undefined") window.ganimate = { zFromSeed, splitmix64, parseList, parseClasses, parseNumber, buildInputs, loadBundle, renderFrames, controlFlow };
