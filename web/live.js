// The performer's view: a full-screen canvas whose picture follows the sound as it plays (microphone, a file, a
// track URL), the way serving.music maps a song: onsets move the walk, loudness breathes, every N beats the next
// keyframe. The sound is tapped by an AudioWorklet (live-worklet.js) and measured here as it arrives
// (music.js LiveAnalyser); each video frame's z goes to the model in a Web Worker (live-worker.js), so the page
// never waits for it. Frames are timed by the audio clock: frame f covers the sound's hops of
// [f/fps, (f+1)/fps) and is made as soon as they are measured. Keys: see KEYS. Measurements: window.ganimateLive.

import { parseClasses, parseList, parseNumber, zFromSeed } from "./ganimate.js";
import { HOP_RATE, LiveAnalyser, LiveWalk, latentAt, react, roundEven } from "./music.js";

export const KEYS = {
  "→ / ←": "skip to the next keyframe / back to the one before",
  "0-9": "the class of every keyframe from the next one on (conditional models); - : the link's classes again",
  "space": "tap the tempo (two taps or more); a: back to the beats the sound gives",
  "r": "record: start / stop (saves a WebM with the sound, the sound as WAV and the recipe JSON)",
  "o": "open a sound file (or drop one on the page)",
  "f": "full screen",
};
const REACTS = ["truncation", "none"];
const QUEUE = 2; // frames that may wait for a worker

// The live options from the page's URL parameters, each checked (one clear line for a bad one).
export function liveOptions(params) {
  const get = (k, d) => (params.has(k) && params.get(k) !== "" ? params.get(k) : d);
  const whole = (k, d, lo, hi) => {
    const v = parseNumber(get(k, d), k, lo, hi);
    if (!Number.isInteger(v)) throw new Error(`${k} must be a whole number`);
    return v;
  };
  const choice = (k, d, all) => {
    const v = get(k, d);
    if (!all.includes(v)) throw new Error(`${k} must be one of ${all.join(", ")}, got ${JSON.stringify(v.slice(0, 40))}`);
    return v;
  };
  return {
    bundle: get("bundle", "../exported/mnist-cdcgan/"),
    seeds: parseList(get("seeds", "1,2,3,4"), "seed", 2 ** 32 - 1),
    classes: get("classes", ""),
    path: choice("path", "slerp", ["lerp", "slerp", "cubic"]),
    easing: choice("easing", "linear", ["linear", "ease-in-out"]),
    fps: whole("fps", "30", 1, 60),
    size: whole("size", "256", 16, 1024), // the recipe's bounds (serving/rendering/recipe.py), so a recording renders again
    beatsPerKey: whole("beats", "4", 1, 64),
    react: get("react", "truncation"),
    band: choice("band", "all", ["all"]), // the live loudness is of the whole band
    amount: parseNumber(get("amount", "0.5"), "amount", -2, 2),
    truncation: parseNumber(get("truncation", "1"), "truncation", 0, 2),
    audio: get("audio", "mic"),
    backend: choice("backend", "wasm", ["wasm", "webgpu"]),
    // One single-threaded model per core, up to 4, measured faster here than one model on several threads
    // (python -m bench.live).
    workers: whole("workers", String(Math.min(4, navigator.hardwareConcurrency || 1)), 1, 8),
    threads: whole("threads", "1", 1, 16),
  };
}

// A PCM WAV (16-bit, mono) of Float32 sample chunks: what the recipe's audio sha256 names.
export function wavBytes(chunks, rate) {
  const n = chunks.reduce((s, c) => s + c.length, 0), out = new DataView(new ArrayBuffer(44 + 2 * n));
  const text = (at, s) => [...s].forEach((ch, i) => out.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF"); out.setUint32(4, 36 + 2 * n, true); text(8, "WAVEfmt "); out.setUint32(16, 16, true);
  out.setUint16(20, 1, true); out.setUint16(22, 1, true); out.setUint32(24, rate, true); out.setUint32(28, 2 * rate, true);
  out.setUint16(32, 2, true); out.setUint16(34, 16, true); text(36, "data"); out.setUint32(40, 2 * n, true);
  let at = 44;
  for (const c of chunks) for (const v of c) { out.setInt16(at, Math.round(Math.max(-1, Math.min(1, v)) * 32767), true); at += 2; }
  return new Uint8Array(out.buffer);
}

async function sha256(bytes) {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

// Start the live view on `canvas`; `say(text)` shows one line (errors, the start hint), `file` an optional sound.
export async function startLive(options, canvas, say, file = null) {
  const stats = { ready: false, drawn: 0, dropped: 0, fps: 0, frames: [], modelMs: [], tempo: 0, error: "", recording: null };
  window.ganimateLive = stats;
  // A few workers, each running one frame at a time: a model that takes longer than a frame still keeps up.
  const workers = Array.from({ length: options.workers }, () => new Worker(new URL("./live-worker.js", import.meta.url), { type: "module" }));
  const reply = (worker, type) => new Promise((resolve, reject) => {
    const on = ({ data }) => {
      if (data.type === "error") { worker.removeEventListener("message", on); reject(new Error(data.message)); }
      else if (data.type === type) { worker.removeEventListener("message", on); resolve(data); }
    };
    worker.addEventListener("message", on);
  });
  const loaded = workers.map((worker) => {
    const ready = reply(worker, "ready");
    worker.postMessage({ type: "load", url: options.bundle, backend: options.backend, threads: options.threads });
    return ready;
  });
  const { config, threads } = (await Promise.all(loaded))[0];
  Object.assign(stats, { backend: options.backend, threads, workers: workers.length, bundle: config.name });
  if (options.react !== "truncation" && options.react !== "none" && !directionOf(config, options.react)) {
    const named = ((config.extra || {}).directions || []).map((d) => d.name);
    throw new Error(`react ${JSON.stringify(options.react.slice(0, 40))} is not known: choose ${[...REACTS, ...named].join(", ")}`);
  }
  if (REACTS.includes(options.react) && !(options.amount >= 0 && options.amount <= 1)) {
    throw new Error(`amount must be in 0..1 with react ${options.react} (-2..2 along a direction), got ${options.amount}`);
  }
  const nc = config.num_classes || 0, dim = config.latent_dim, [h, w] = config.image_size;
  const linkClasses = options.classes.trim() ? parseClasses(options.classes, config.class_names) : null;
  if (linkClasses && !nc) throw new Error("this model is not conditional: leave classes empty");

  // ---- keyframes: the link's seeds in order and round again; the performer may skip or change classes ----
  const keys = []; // {seed, cls, at} of keyframe i of the walk (`at`: its place in the link's list)
  let cursor = 0, classOverride = null;
  const zCache = new Map();
  const zOf = (seed) => {
    if (!zCache.has(seed)) zCache.set(seed, Array.from(zFromSeed(seed, dim), (v) => v * options.truncation));
    return zCache.get(seed);
  };
  const keyAt = (i) => {
    while (keys.length <= i) {
      const mod = (k, n) => ((k % n) + n) % n, seed = options.seeds[mod(cursor, options.seeds.length)];
      const given = linkClasses ? linkClasses[mod(cursor, linkClasses.length)] : seed % Math.max(nc, 1);
      keys.push({ seed, cls: classOverride ?? given, at: cursor });
      cursor++;
    }
    return keys[i];
  };
  const direction = directionOf(config, options.react);
  const music = { react: options.react, amount: options.amount };

  // ---- drawing: the model's frame, scaled to the canvas (28 px digits drawn smooth at `size`) ----
  canvas.width = options.size; canvas.height = Math.round((options.size * h) / w);
  const ctx = canvas.getContext("2d"), small = new OffscreenCanvas(w, h), smallCtx = small.getContext("2d");
  ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = "high";

  // ---- the sound ----
  const audio = new AudioContext({ latencyHint: "interactive" });
  await audio.audioWorklet.addModule(new URL("./live-worklet.js", import.meta.url));
  const tap = new AudioWorkletNode(audio, "ganimate-tap", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
  const mute = audio.createGain();
  mute.gain.value = 0;
  tap.connect(mute).connect(audio.destination); // pulled by the graph, heard by no one
  const recordTo = audio.createMediaStreamDestination();
  let source = null;
  async function useSource(spec) {
    if (source) { source.disconnect(); source.mediaStream?.getTracks().forEach((t) => t.stop()); source.stop?.(); }
    if (spec === "mic") {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      source = audio.createMediaStreamSource(stream); // its .mediaStream is the stream, stopped when replaced
    } else {
      const bytes = spec instanceof Blob ? await spec.arrayBuffer() : await (async () => {
        const r = await fetch(spec);
        if (!r.ok) throw new Error(`cannot load the track ${spec}: HTTP ${r.status}`);
        return r.arrayBuffer();
      })();
      const buffer = await audio.decodeAudioData(bytes).catch(() => { throw new Error("the sound file cannot be decoded by this browser"); });
      source = audio.createBufferSource();
      source.buffer = buffer;
      source.connect(audio.destination); // a track is heard; a microphone is not played back
      source.start();
    }
    source.connect(tap);
    source.connect(recordTo);
  }
  await useSource(file || options.audio);
  if (audio.state !== "running") {
    say("click or press a key to start the sound");
    await new Promise((resolve) => {
      const go = async () => { await audio.resume(); if (audio.state === "running") { removeEventListener("pointerdown", go); removeEventListener("keydown", go); resolve(); } };
      addEventListener("pointerdown", go); addEventListener("keydown", go);
    });
    say("");
  }

  // ---- the loop: measure each block, make each finished frame, hand it to an idle worker ----
  const analyser = new LiveAnalyser(audio.sampleRate);
  const walk = new LiveWalk(options.fps, options.beatsPerKey);
  const bound = (f) => roundEven((f * HOP_RATE) / options.fps);
  let next = 0, firstDraw = 0, recorder = null, lastDrawn = -1, previous = null;
  const idle = [...workers], inFlight = new Map(), waiting = [];
  tap.port.onmessage = ({ data }) => {
    const arrived = performance.now();
    analyser.push(data, arrived);
    if (recorder) recorder.samples.push(data);
    while (analyser.hop >= bound(next + 1)) makeFrame(next++);
  };

  function makeFrame(f) {
    const a = analyser.frame(bound(f), bound(f + 1));
    const p = walk.step(a.onset, analyser.beatPeriod ? a.beat : null);
    const { z, seg, t } = latentAt((i) => zOf(keyAt(i).seed), p, options.path, options.easing);
    const moved = react(z, a.loudness, music, direction);
    let y = null;
    if (nc) {
      y = new Float32Array(nc);
      y[keyAt(seg).cls] += 1 - t; y[keyAt(seg + 1).cls] += t;
    }
    const frame = { frame: f, time: f / options.fps, onset: a.onset, beat: a.beat, loudness: a.loudness, position: p, change: null, onsetArrivedMs: a.onsetArrivedMs };
    stats.frames.push(frame);
    if (stats.frames.length > 20 * 60 * options.fps) stats.frames.splice(0, options.fps * 60);
    stats.tempo = analyser.beatPeriod ? (60 * HOP_RATE) / analyser.beatPeriod : 0;
    if (recorder) recorder.keys.add(seg).add(seg + 1);
    const job = { frame, z: Float32Array.from(moved), y };
    if (!idle.length) {
      // Every worker busy: frames wait in a short queue (audio blocks come in bursts when the machine is busy);
      // beyond it one waiting frame is dropped, so the picture never falls behind the sound: the one with the
      // weakest onset among the older ones (a hit is what the picture must show), the oldest of equals.
      waiting.push(job);
      if (waiting.length > QUEUE) {
        let weakest = 0;
        for (let i = 1; i < waiting.length - 1; i++) if (waiting[i].frame.onset < waiting[weakest].frame.onset) weakest = i;
        drop(waiting.splice(weakest, 1)[0].frame);
      }
    } else run(job);
  }

  function drop(frame) { stats.dropped++; frame.dropped = true; }

  function run(job) {
    const worker = idle.pop();
    inFlight.set(job.frame.frame, job.frame);
    worker.postMessage({ type: "frame", id: job.frame.frame, z: job.z, y: job.y }, job.y ? [job.z.buffer, job.y.buffer] : [job.z.buffer]);
  }

  // A frame back from a worker: drawn unless a later one is already on the canvas; its change is the mean absolute
  // difference (0..1) from the frame drawn before it.
  function finished(worker, data) {
    idle.push(worker);
    const frame = inFlight.get(data.id);
    inFlight.delete(data.id);
    if (data.type === "error") { stats.error = data.message; say(data.message); }
    else if (frame.frame < lastDrawn) drop(frame);
    else {
      const rgba = new Uint8ClampedArray(data.rgba);
      smallCtx.putImageData(new ImageData(rgba, w, h), 0, 0);
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
      const now = performance.now();
      let change = 0;
      if (previous) {
        for (let i = 0; i < rgba.length; i += 4) {
          change += Math.abs(rgba[i] - previous[i]) + Math.abs(rgba[i + 1] - previous[i + 1]) + Math.abs(rgba[i + 2] - previous[i + 2]);
        }
        change /= (3 * 255 * rgba.length) / 4;
      }
      previous = rgba;
      lastDrawn = frame.frame;
      Object.assign(frame, { change, drawnMs: now, latencyMs: now - frame.onsetArrivedMs });
      stats.modelMs.push(data.ms);
      if (stats.modelMs.length > 600) stats.modelMs.shift();
      stats.drawn++;
      if (!firstDraw) firstDraw = now;
      else stats.fps = ((stats.drawn - 1) * 1000) / (now - firstDraw);
    }
    if (waiting.length) run(waiting.shift());
  }
  for (const worker of workers) worker.addEventListener("message", ({ data }) => (data.type === "frame" || data.type === "error") && data.id !== undefined && finished(worker, data));
  stats.ready = true;

  // ---- the performer's keys ----
  const taps = [];
  addEventListener("keydown", async (e) => {
    // The keyframes after the one the walk left last are planned again from the link's list, from `at` on.
    const here = Math.floor(walk.p + 1e-9), current = keyAt(here), upcoming = keyAt(here + 1);
    const replan = (at) => { keys.length = here + 1; cursor = at; };
    if (e.key === "ArrowRight") replan(upcoming.at + 1); // the upcoming keyframe skipped
    else if (e.key === "ArrowLeft") replan(current.at - 1); // back to the one before
    else if (/^[0-9]$/.test(e.key) && nc && Number(e.key) < nc) { classOverride = Number(e.key); replan(upcoming.at); }
    else if (e.key === "-") { classOverride = null; replan(upcoming.at); }
    else if (e.key === " " || e.key === "t") {
      e.preventDefault();
      const now = analyser.hop;
      if (taps.length && now - taps[taps.length - 1] > 2 * HOP_RATE) taps.length = 0;
      taps.push(now);
      if (taps.length >= 2) {
        const gaps = taps.slice(1).map((v, i) => v - taps[i]).sort((x, y) => x - y);
        analyser.tap(gaps[Math.floor(gaps.length / 2)], now);
      }
    } else if (e.key === "a") { analyser.tapped = null; taps.length = 0; }
    else if (e.key === "r") recorder ? await stopRecording() : startRecording();
    else if (e.key === "o") picker.click();
    else if (e.key === "f") document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen().catch(() => {});
  });
  const picker = Object.assign(document.createElement("input"), { type: "file", accept: "audio/*", hidden: true });
  document.body.append(picker);
  picker.addEventListener("change", () => picker.files[0] && useSource(picker.files[0]).catch((err) => say(err.message)));
  addEventListener("dragover", (e) => e.preventDefault());
  addEventListener("drop", (e) => { e.preventDefault(); const f = e.dataTransfer.files[0]; if (f) useSource(f).catch((err) => say(err.message)); });

  // ---- recording: a WebM of the canvas with the sound, the sound as WAV, the recipe that renders it again ----
  function startRecording() {
    const stream = new MediaStream([...canvas.captureStream(options.fps).getVideoTracks(), ...recordTo.stream.getAudioTracks()]);
    // VP8: the lightest encoder to run beside the model on a laptop's CPU.
    const mimeType = ["video/webm;codecs=vp8,opus", "video/webm"].find((m) => MediaRecorder.isTypeSupported(m));
    const media = new MediaRecorder(stream, { mimeType });
    const chunks = [];
    media.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    media.start(1000);
    recorder = { media, chunks, samples: [], keys: new Set(), firstKey: Math.floor(walk.p + 1e-9) };
    stats.recording = { active: true };
    document.body.classList.add("recording");
  }

  async function stopRecording() {
    const rec = recorder;
    recorder = null;
    document.body.classList.remove("recording");
    await new Promise((resolve) => { rec.media.onstop = resolve; rec.media.stop(); });
    const wav = wavBytes(rec.samples, audio.sampleRate);
    const samples = (wav.length - 44) / 2;
    const last = Math.max(rec.firstKey + 1, ...rec.keys);
    const played = [];
    for (let i = rec.firstKey; i <= last && played.length < 64; i++) played.push(keyAt(i));
    const recipe = {
      seeds: played.map((k) => k.seed),
      classes: nc ? played.map((k) => k.cls) : null,
      path: options.path, easing: options.easing, truncation: options.truncation,
      size: options.size, fps: options.fps, format: "mp4",
      bundle: config.name, bundle_sha256: config.sha256, name: "ganimate live",
      audio: {
        sha256: await sha256(wav), seconds: Math.floor((samples / audio.sampleRate) * 1000) / 1000,
        beats_per_key: options.beatsPerKey, react: options.react, band: options.band, amount: options.amount,
      },
    };
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const files = {
      webm: new Blob(rec.chunks, { type: "video/webm" }),
      wav: new Blob([wav], { type: "audio/wav" }),
      recipe: new Blob([JSON.stringify(recipe, null, 2) + "\n"], { type: "application/json" }),
    };
    stats.recording = { active: false, recipe, files, names: {} };
    for (const [kind, blob] of Object.entries(files)) {
      const name = `ganimate-live-${stamp}.${kind === "recipe" ? "json" : kind}`;
      stats.recording.names[kind] = name;
      download(blob, name);
    }
  }
  stats.record = () => (recorder ? stopRecording() : startRecording());
  return stats;
}

function directionOf(config, name) {
  const d = ((config.extra || {}).directions || []).find((x) => x.name === name);
  return d ? d.vector : null;
}
