// The music mapping of serving/music/ in plain JavaScript: the analysis of serving/music/audio.py (`analyze`, whole
// track, step for step: the same beats on the same samples) and the walk of serving/music/walk.py (`positions`,
// `glide`, `walk`: the same positions from the same analysis), then the live versions that the performer's view
// runs as the sound arrives (`LiveAnalyser`, `LiveWalk`): the same measures, computed from the past only.
// Tested against Python's numbers in headless Chromium (tests/web/test_live.py).

export const HOP_RATE = 100, SILENCE_DB = -70, RANGE_DB = 40, ONSET_FLOOR = 0.05, LOW_HZ = 200, HIGH_HZ = 2000;
export const MIN_BPM = 40, MAX_BPM = 240, PRIOR_BPM = 120, RELEASE_S = 0.05, NO_BEAT_BPM = 120, DIRECTION_SPAN = 3;

// numpy's round (and Python's): halves go to the even neighbour, which decides hop and frame boundaries.
export function roundEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const range = (n, f) => Float64Array.from({ length: n }, (_, i) => f(i));

// ---- spectra ----
// In-place radix-2 FFT of (re, im), length a power of two; the twiddles of each size computed once (the live view
// runs a hundred of these a second).
const TWIDDLES = new Map();
function fft(re, im) {
  const n = re.length;
  if (!TWIDDLES.has(n)) {
    TWIDDLES.set(n, [range(n / 2, (k) => Math.cos((-2 * Math.PI * k) / n)), range(n / 2, (k) => Math.sin((-2 * Math.PI * k) / n))]);
  }
  const [cos, sin] = TWIDDLES.get(n);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const stride = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = cos[k * stride], wi = sin[k * stride];
        const a = i + k, b = a + len / 2;
        const xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr; im[b] = im[a] - xi; re[a] += xr; im[a] += xi;
      }
    }
  }
}

export function fftSize(rate) {
  return 1 << Math.ceil(Math.log2(rate * 0.046)); // ~46 ms windows: 2048 at 44.1 and 48 kHz
}

// What one window of the analysis needs: the Hann window, the band of each bin, the low/high masks.
function spectrumPlan(rate, nFft, count = 24) {
  const window = range(nFft, (i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (nFft - 1))); // np.hanning
  const bins = nFft / 2 + 1, freqs = range(bins, (k) => (k * rate) / nFft);
  const lo = Math.log(30), hi = Math.log(Math.min(16000, freqs[bins - 1]));
  const edges = range(count + 1, (i) => Math.exp(lo + ((hi - lo) * i) / count));
  edges[0] = 30; edges[count] = Math.min(16000, freqs[bins - 1]);
  const band = new Int32Array(bins), counts = new Float64Array(count);
  for (let k = 0; k < bins; k++) {
    let b = -1;
    while (b + 1 <= count && edges[b + 1] <= freqs[k]) b++; // searchsorted(edges, f, "right") - 1
    band[k] = b >= 0 && b < count ? b : -1;
    if (band[k] >= 0) counts[band[k]]++;
  }
  return { nFft, window, freqs, band, counts: counts.map((c) => Math.max(c, 1)), count };
}

// One window centred on sample `centre` of `x` (zeros outside): magnitudes / (nFft/4), as _spectrum does.
function magnitudes(plan, x, centre) {
  const { nFft, window } = plan, re = new Float64Array(nFft), im = new Float64Array(nFft);
  const start = centre - nFft / 2;
  for (let i = 0; i < nFft; i++) {
    const s = start + i;
    re[i] = s >= 0 && s < x.length ? x[s] * window[i] : 0;
  }
  fft(re, im);
  const mag = new Float64Array(nFft / 2 + 1);
  for (let k = 0; k <= nFft / 2; k++) mag[k] = Math.hypot(re[k], im[k]) / (nFft / 4);
  return mag;
}

// log1p(1000 x band magnitude) per log-spaced band; the power below LOW_HZ and above HIGH_HZ.
function measures(plan, mag) {
  const power = new Float64Array(plan.count);
  let low = 0, high = 0;
  for (let k = 0; k < mag.length; k++) {
    const p = mag[k] * mag[k];
    if (plan.band[k] >= 0) power[plan.band[k]] += p;
    if (plan.freqs[k] < LOW_HZ) low += p;
    if (plan.freqs[k] > HIGH_HZ) high += p;
  }
  const logBands = power.map((p, b) => Math.log1p(1000 * Math.sqrt(p / plan.counts[b])));
  return { logBands, low, high };
}

function fluxOf(logBands, prev) {
  let s = 0;
  for (let b = 0; b < logBands.length; b++) s += Math.max(logBands[b] - prev[b], 0);
  return s / logBands.length;
}

function median(values) {
  const s = Float64Array.from(values).sort(), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

// ---- the whole-track analysis (serving.music.audio.analyze) ----
// `x`: mono samples (Float64Array) at `rate`; the first `seconds` of them are measured for a video at `fps`.
export function analyze(x, rate, fps, seconds = null) {
  seconds = seconds === null ? x.length / rate : Math.min(seconds, x.length / rate);
  x = x.subarray(0, Math.min(x.length, roundEven(seconds * rate)));
  const frames = Math.max(1, roundEven(seconds * fps)), hops = Math.max(1, Math.ceil(seconds * HOP_RATE));
  const plan = spectrumPlan(rate, fftSize(rate)), nFft = plan.nFft;
  const flux = new Float64Array(hops), rms = new Float64Array(hops), low = new Float64Array(hops), high = new Float64Array(hops);
  let prev = null;
  for (let h = 0; h < hops; h++) {
    const m = measures(plan, magnitudes(plan, x, roundEven((h * rate) / HOP_RATE)));
    if (prev) flux[h] = fluxOf(m.logBands, prev);
    prev = m.logBands; low[h] = m.low; high[h] = m.high;
  }
  const step = rate / HOP_RATE, sq = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) sq[i + 1] = sq[i] + x[i] * x[i];
  const edge = (h) => Math.min(roundEven(h * step), x.length);
  for (let h = 0; h < hops; h++) rms[h] = Math.sqrt(Math.max(sq[edge(h + 1)] - sq[edge(h)], 0) / Math.max(edge(h + 1) - edge(h), 1));
  const audible = rms.map((r) => (20 * Math.log10(Math.max(r, 1e-12)) > SILENCE_DB ? 1 : 0));
  const med = movingMedian(flux, HOP_RATE / 4);
  for (let h = 0; h < hops; h++) {
    const c = (h * rate) / HOP_RATE;
    flux[h] = c < nFft / 2 || c + nFft / 2 > x.length ? 0 : Math.max(flux[h] - med[h], 0) * audible[h];
  }
  const { tempo, beats } = findBeats(flux);
  const bounds = Int32Array.from({ length: frames + 1 }, (_, i) => Math.min(roundEven((i * HOP_RATE) / fps), hops));
  const onset = unit(perFrame(flux, bounds, "max"), ONSET_FLOOR);
  const envelope = (v) => dbEnvelope(perFrame(v, bounds, "mean"), bounds, audible);
  return {
    fps, seconds, onset, tempo, beatTimes: beats.map((b) => b / HOP_RATE),
    loudness: envelope(rms.map((r) => r * r)), low: envelope(low), high: envelope(high),
  };
}

function movingMedian(values, half) {
  const n = values.length, w = new Float64Array(2 * half + 1);
  return range(n, (i) => {
    for (let j = -half; j <= half; j++) w[j + half] = values[Math.min(Math.max(i + j, 0), n - 1)];
    return median(w);
  });
}

// np.maximum.reduceat / np.add.reduceat over each frame's hops, as _per_frame does it.
function perFrame(values, bounds, how) {
  const frames = bounds.length - 1, n = values.length;
  const starts = Int32Array.from({ length: frames }, (_, i) => Math.min(bounds[i], n - 1));
  return range(frames, (i) => {
    if (bounds[i + 1] <= bounds[i]) return values[starts[i]];
    const end = i + 1 < frames ? starts[i + 1] : n;
    let out = how === "max" ? -Infinity : 0;
    for (let j = starts[i]; j < (end > starts[i] ? end : starts[i] + 1); j++) out = how === "max" ? Math.max(out, values[j]) : out + values[j];
    return how === "mean" ? out / Math.max(bounds[i + 1] - bounds[i], 1) : out;
  });
}

function dbEnvelope(power, bounds, audible) {
  const heard = power.map((_, i) => {
    const s = Math.min(bounds[i], audible.length - 1), e = i + 1 < power.length ? Math.min(bounds[i + 1], audible.length - 1) : audible.length;
    let any = audible[s];
    for (let j = s; j < e; j++) any = Math.max(any, audible[j]);
    return any;
  });
  const db = power.map((p) => 10 * Math.log10(Math.max(p, 1e-20)));
  let top = -Infinity;
  db.forEach((d, i) => { if (heard[i]) top = Math.max(top, d); });
  return db.map((d, i) => (heard[i] ? Math.min(1, Math.max(0, (d - top + RANGE_DB) / RANGE_DB)) : 0));
}

function percentile(values, q) {
  const s = Float64Array.from(values).sort(), at = (q / 100) * (s.length - 1), lo = Math.floor(at);
  return lo + 1 < s.length ? s[lo] + (s[lo + 1] - s[lo]) * (at - lo) : s[lo];
}

function unit(values, floor) {
  if (!values.length) return values;
  const top = Math.max(...values), peak = percentile(values, 99);
  const scale = Math.max(peak > 0.25 * top ? peak : top, floor);
  return values.map((v) => Math.min(1, Math.max(0, v / scale)));
}

// ---- beats (serving.music.audio._beats, _period, _track) ----
export function findBeats(flux) {
  const n = flux.length, none = { tempo: 0, beats: [] };
  if (!n || Math.max(...flux) < 0.2 * ONSET_FLOOR || n < (2 * HOP_RATE * 60) / MAX_BPM) return none;
  const mean = flux.reduce((s, v) => s + v, 0) / n;
  const std = Math.sqrt(flux.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  const env = std > 0 ? flux.map((v) => v / std) : flux;
  const lag = period(env);
  if (lag === null) return none;
  let beats = track(env, lag);
  beats = beats.filter((b) => {
    let near = -Infinity;
    for (let j = Math.max(0, b - 3); j < Math.min(n, b + 4); j++) near = Math.max(near, flux[j]);
    return near >= 0.2 * ONSET_FLOOR;
  });
  return beats.length >= 2 ? { tempo: Math.round(((60 * HOP_RATE) / lag) * 100) / 100, beats, period: lag } : none;
}

export function period(env) {
  const n = env.length;
  const spread = range(n, (i) => {
    let m = -Infinity;
    for (let s = -2; s <= 2; s++) m = Math.max(m, env[(((i - s) % n) + n) % n]); // np.roll wraps round
    return m;
  });
  let best = null, bestScore = 0;
  for (let lag = (HOP_RATE * 60) / MAX_BPM; lag < (HOP_RATE * 60) / MIN_BPM + 0.25; lag += 0.5) {
    const count = Math.floor((n - 1) / lag);
    if (count < 4) break;
    let top = -Infinity;
    for (let r = 0; r < Math.ceil(lag); r++) {
      if (roundEven(r + (count - 1) * lag) >= n) continue;
      let s = 0;
      for (let c = 0; c < count; c++) s += spread[roundEven(r + c * lag)];
      top = Math.max(top, s / count);
    }
    const score = top * Math.exp(-0.5 * Math.log2((60 * HOP_RATE) / lag / PRIOR_BPM) ** 2);
    if (score > bestScore * (1 + 1e-9)) { best = lag; bestScore = score; }
  }
  return bestScore > 0 ? best : null;
}

function track(env, period, tightness = 100) {
  const n = env.length, half = Math.floor(period);
  const kernel = range(2 * half + 1, (j) => Math.exp(-0.5 * (((j - half) * 32) / period) ** 2));
  const local = range(n, (i) => {
    let s = 0;
    for (let j = 0; j < kernel.length; j++) { const at = i + half - j; if (at >= 0 && at < n) s += env[at] * kernel[j]; }
    return s;
  });
  const score = Float64Array.from(local), back = new Int32Array(n).fill(-1);
  const offsets = [];
  for (let o = -roundEven(2 * period); o <= -roundEven(period / 2); o++) offsets.push(o);
  const penalty = offsets.map((o) => -tightness * Math.log(-o / period) ** 2);
  for (let t = 0; t < n; t++) {
    let best = -Infinity, at = -1;
    for (let j = 0; j < offsets.length; j++) {
      const p = t + offsets[j];
      if (p >= 0 && score[p] + penalty[j] > best) { best = score[p] + penalty[j]; at = p; }
    }
    if (at >= 0 && best > 0) { score[t] = local[t] + best; back[t] = at; }
  }
  const tail = Math.max(0, n - roundEven(period));
  let t = tail;
  for (let i = tail; i < n; i++) if (score[i] > score[t]) t = i;
  const beats = [];
  for (; t >= 0; t = back[t]) beats.unshift(t);
  let sum = 0, cnt = 0;
  for (const v of local) if (v > 0) { sum += v * v; cnt++; }
  if (!cnt) return [];
  const floor = 0.3 * Math.sqrt(sum / cnt);
  return beats.filter((b) => local[b] > floor);
}

export function beatFrames(analysis) {
  const n = analysis.onset.length;
  const f = analysis.beatTimes.map((t) => Math.min(Math.max(roundEven(t * analysis.fps), 0), Math.max(0, n - 1)));
  return [...new Set(f)].sort((a, b) => a - b);
}

// ---- the walk (serving.music.walk) ----
export function glide(onset, fps) {
  const keep = Math.exp(-1 / (RELEASE_S * fps));
  let level = 0;
  return onset.map((v) => (level = Math.max(v, level * keep)));
}

// Where each frame is along the keyframes (k.0 is keyframe k), from onsets and beats: walk.positions, line for line.
export function positions(analysis, beatsPerKey) {
  const n = analysis.onset.length, weight = glide(Float64Array.from(analysis.onset), analysis.fps);
  const beats = beatFrames(analysis);
  let cuts = [];
  if (beats.length >= 2) cuts = beats.filter((_, i) => i % beatsPerKey === 0);
  else {
    const step = Math.max(1, roundEven(((beatsPerKey * 60) / NO_BEAT_BPM) * analysis.fps));
    for (let c = step; c < n; c += step) cuts.push(c);
  }
  cuts = [...new Set([0, ...cuts.filter((c) => c > 0 && c < n), n - 1])].sort((a, b) => a - b);
  const sum = (a, b) => { let s = 0; for (let i = a + 1; i <= b; i++) s += weight[i]; return s; };
  const sums = cuts.slice(1).map((b, i) => sum(cuts[i], b));
  const interior = (sums.length > 2 ? sums.slice(1, -1) : sums).filter((s) => s > 0);
  const typical = interior.length ? median(interior) : 0;
  const pos = new Float64Array(n);
  let p = 0;
  for (let i = 0; i < sums.length; i++) {
    const a = cuts[i], b = cuts[i + 1], total = sums[i];
    const left = Math.ceil(p) - p > 1e-9 ? Math.ceil(p) - p : 1;
    let acc = 0;
    if (i === sums.length - 1 && sums.length > 1) {
      for (let f = a + 1; f <= b; f++) { acc += weight[f]; pos[f] = p + Math.min(acc / Math.max(typical, 1e-12), 0.95) * left; }
      break;
    }
    const scale = left / Math.max(total, 0.5 * typical * left, 1e-12);
    for (let f = a + 1; f <= b; f++) { acc += weight[f] * scale; pos[f] = p + acc; }
    p = pos[b];
    if (Math.abs(p - roundEven(p)) < 1e-9) { p = roundEven(p); pos[b] = p; }
  }
  return pos;
}

const easeT = (t, easing) => (easing === "ease-in-out" ? 0.5 - 0.5 * Math.cos(Math.PI * t) : t);
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function slerp(a, b, t) {
  const na = norm(a), nb = norm(b);
  const ua = a.map((x) => x / Math.max(na, 1e-12)), ub = b.map((x) => x / Math.max(nb, 1e-12));
  const dot = Math.min(1, Math.max(-1, ua.reduce((s, x, i) => s + x * ub[i], 0)));
  const omega = Math.acos(dot), so = Math.sin(omega), near = so < 1e-6;
  const wa = near ? 1 - t : Math.sin((1 - t) * omega) / so, wb = near ? t : Math.sin(t * omega) / so;
  const dir = ua.map((x, i) => wa * x + wb * ub[i]), nd = Math.max(norm(dir), 1e-12), scale = (1 - t) * na + t * nb;
  return dir.map((x) => (x / nd) * scale);
}

// The latent at position `p` along keyframes `at(i)` (keyframe i of the walk, i >= 0; `last` clamps the spline's
// far end as walk() does for the last keyframe it reaches) and the two keyframes' mixing weights.
export function latentAt(at, p, kind, easing, last = Infinity) {
  const seg = Math.min(Math.floor(p), last - 1), t = easeT(p - seg, easing);
  const a = at(seg), b = at(seg + 1);
  let z;
  if (kind === "lerp") z = a.map((x, i) => (1 - t) * x + t * b[i]);
  else if (kind === "slerp") z = slerp(a, b, t);
  else {
    const p0 = at(Math.max(seg - 1, 0)), p3 = at(Math.min(seg + 2, last));
    const t2 = t * t, t3 = t2 * t;
    z = a.map((_, d) => 0.5 * (2 * a[d] + (-p0[d] + b[d]) * t + (2 * p0[d] - 5 * a[d] + 4 * b[d] - p3[d]) * t2
      + (-p0[d] + 3 * a[d] - 3 * b[d] + p3[d]) * t3));
  }
  return { z, seg, t };
}

// walk.walk: latents [frames][D] at `pos` along keyZ taken in order and round again.
export function walk(keyZ, pos, kind, easing) {
  const last = Math.floor(Math.max(...pos)) + 1;
  return Array.from(pos, (p) => latentAt((i) => keyZ[i % keyZ.length], p, kind, easing, last).z);
}

// walk.react: z moved by the loudness `env` (0..1).
export function react(z, env, music, direction = null) {
  if (music.react === "truncation") return z.map((v) => v * (1 - music.amount + music.amount * env));
  if (music.react === "none" || !direction) return z;
  const n = Math.max(norm(direction), 1e-12);
  return z.map((v, i) => v + music.amount * DIRECTION_SPAN * env * (direction[i] / n));
}

// ---- live: the same measures from the past only ----
// Samples arrive in blocks; each 10 ms hop is measured once the window centred on it is complete (23 ms after
// its centre at 44.1 kHz). What differs from the whole-track analysis, and why: the flux's median is of the half
// second before a hop (the future is not heard yet), and onsets and loudness are scaled by the loudest seen so
// far (decaying over a minute) instead of the whole song's; beats come from the same period and dynamic
// programming run every quarter second over the last eight seconds, then predicted one period ahead.
export class LiveAnalyser {
  constructor(rate, { keepSeconds = 8 } = {}) {
    this.rate = rate;
    this.plan = spectrumPlan(rate, fftSize(rate));
    this.buffer = new Float64Array(Math.ceil(rate * 2)); // ring of the last 2 s of samples
    this.received = 0; // samples so far
    this.blocks = []; // [samples received after the block, when it arrived] of the blocks not yet measured
    this.hop = 0; // the next hop to measure
    this.prev = null;
    this.keep = Math.round(keepSeconds * HOP_RATE);
    this.raw = []; this.flux = []; this.loud = []; this.arrival = []; // per hop (the last `keep`)
    this.firstHop = 0; // the hop index of flux[0]
    this.fluxPeak = 0; this.loudTop = -Infinity;
    this.beatPeriod = null; this.lastBeat = null; this.lastBeatSearch = 0; this.tapped = null;
  }

  // Samples (Float32Array, mono) that reached the page at `arrivedMs` (performance.now()).
  push(samples, arrivedMs) {
    const ring = this.buffer, n = ring.length;
    for (let i = 0; i < samples.length; i++) ring[(this.received + i) % n] = samples[i];
    this.received += samples.length;
    this.lastArrival = arrivedMs;
    this.blocks.push([this.received, arrivedMs]);
    const half = this.plan.nFft / 2;
    for (;;) {
      const centre = roundEven((this.hop * this.rate) / HOP_RATE);
      if (centre + half > this.received) break;
      // A hop is known when its window is complete, but it happened when the block holding its centre arrived:
      // that is the time a reaction is measured from (the window's wait is part of the reaction).
      while (this.blocks.length > 1 && this.blocks[0][0] <= centre) this.blocks.shift();
      this.measure(centre, this.blocks[0][1]);
    }
  }

  sample(i) { return i >= 0 && i < this.received && i > this.received - this.buffer.length ? this.buffer[i % this.buffer.length] : 0; }

  measure(centre, arrivedMs) {
    const { nFft, window } = this.plan, re = new Float64Array(nFft), im = new Float64Array(nFft);
    for (let i = 0; i < nFft; i++) re[i] = this.sample(centre - nFft / 2 + i) * window[i];
    fft(re, im);
    const mag = new Float64Array(nFft / 2 + 1);
    for (let k = 0; k <= nFft / 2; k++) mag[k] = Math.hypot(re[k], im[k]) / (nFft / 4);
    const m = measures(this.plan, mag);
    let power = 0;
    const a = roundEven((this.hop * this.rate) / HOP_RATE), b = roundEven(((this.hop + 1) * this.rate) / HOP_RATE);
    for (let i = a; i < b; i++) power += this.sample(i) ** 2;
    power /= Math.max(b - a, 1);
    const audible = 10 * Math.log10(Math.max(power, 1e-24)) > SILENCE_DB;
    const raw = this.prev ? fluxOf(m.logBands, this.prev) : 0;
    this.prev = m.logBands;
    this.raw.push(raw);
    const med = median(this.raw.slice(-(HOP_RATE / 2 + 1)));
    const flux = centre < nFft / 2 ? 0 : Math.max(raw - med, 0) * (audible ? 1 : 0);
    this.fluxPeak = Math.max(flux, this.fluxPeak * Math.exp(-1 / (60 * HOP_RATE)));
    const db = 10 * Math.log10(Math.max(power, 1e-20));
    if (audible) this.loudTop = Math.max(db, this.loudTop - 1 / HOP_RATE); // forgets 1 dB a second
    this.flux.push(flux);
    this.loud.push(audible ? Math.min(1, Math.max(0, (db - this.loudTop + RANGE_DB) / RANGE_DB)) : 0);
    this.arrival.push(arrivedMs);
    if (this.flux.length > this.keep) {
      this.flux.shift(); this.loud.shift(); this.arrival.shift(); this.firstHop++;
    }
    if (this.raw.length > HOP_RATE) this.raw.shift();
    this.hop++;
    if (this.hop - this.lastBeatSearch >= HOP_RATE / 4) this.searchBeats();
  }

  // The period and the last beat from the last `keep` hops (the whole-track beat search on a window).
  searchBeats() {
    this.lastBeatSearch = this.hop;
    if (this.tapped) return;
    const found = findBeats(Float64Array.from(this.flux));
    if (found.beats.length >= 4) {
      this.beatPeriod = found.period;
      this.lastBeat = this.firstHop + found.beats[found.beats.length - 1];
    } else if (Math.max(0, ...this.flux.slice(-4 * HOP_RATE)) < 0.2 * ONSET_FLOOR) {
      this.beatPeriod = null; // silence: no beat
    }
  }

  // A tempo given by tapping: beats every `periodHops` from the hop of the last tap (the beat search pauses).
  tap(periodHops, atHop) {
    this.tapped = true; this.beatPeriod = periodHops; this.lastBeat = atHop;
  }

  // Hops [from, to) summarised for one video frame: the strongest onset (0..1), the mean loudness, whether a
  // beat falls inside, and when the strongest onset's hop reached the page.
  frame(from, to) {
    const scale = Math.max(this.fluxPeak, ONSET_FLOOR);
    let onset = 0, loud = 0, at = this.lastArrival, count = 0, beat = false;
    for (let h = Math.max(from, this.firstHop); h < to; h++) {
      const v = this.flux[h - this.firstHop] / scale;
      if (v >= onset) { onset = v; at = this.arrival[h - this.firstHop]; }
      loud += this.loud[h - this.firstHop]; count++;
    }
    if (this.beatPeriod && this.lastBeat !== null) {
      const k = Math.ceil((from - this.lastBeat) / this.beatPeriod - 1e-9);
      beat = this.lastBeat + k * this.beatPeriod < to;
    }
    return { onset: Math.min(onset, 1), loudness: count ? loud / count : 0, beat, onsetArrivedMs: at };
  }
}

// The walk of walk.positions as it happens: motion is the onset glide; every `beatsPerKey` beats the walk arrives
// on the next keyframe if it went at least half the usual way since the last (the usual way is the median of the
// last stretches, as positions() takes the song's median), else it goes on; without beats, every
// beatsPerKey x 0.5 s. Before its beat a stretch stops short of the keyframe (95%), so the arrival is on the beat.
export class LiveWalk {
  constructor(fps, beatsPerKey) {
    this.fps = fps; this.beatsPerKey = beatsPerKey; this.keep = Math.exp(-1 / (RELEASE_S * fps));
    this.level = 0; this.p = 0; this.from = 0; this.moved = 0; this.beats = 0; this.frames = 0; this.sinceCut = 0;
    this.stretches = []; this.recent = [];
  }

  usual() {
    if (this.stretches.length >= 2) return median(this.stretches.slice(-8));
    // Before two stretches: the recent motion per frame times the frames of a stretch at 120 BPM.
    const perFrame = this.recent.length ? this.recent.reduce((s, v) => s + v, 0) / this.recent.length : 0;
    return perFrame * ((this.beatsPerKey * 60) / NO_BEAT_BPM) * this.fps;
  }

  // One video frame: its onset (0..1) and whether a beat falls in it (null: this sound has no beat). The position.
  step(onset, beat) {
    this.level = Math.max(onset, this.level * this.keep);
    this.recent.push(this.level);
    if (this.recent.length > 4 * this.fps) this.recent.shift();
    this.frames++; this.sinceCut++;
    const usual = this.usual();
    this.moved += this.level;
    const left = this.from + 1 - Math.floor(this.from + 1e-9) > 1e-9 ? Math.floor(this.from + 1e-9) + 1 - this.from : 1;
    this.p = this.from + Math.min((this.moved / Math.max(usual, 1e-12)) * left, 0.95 * left);
    const grid = Math.max(1, roundEven(((this.beatsPerKey * 60) / NO_BEAT_BPM) * this.fps));
    const cut = beat === null ? this.sinceCut >= grid : beat && ++this.beats % this.beatsPerKey === 0;
    if (cut) {
      if (this.moved > 0) this.stretches.push(this.moved);
      if (this.moved >= 0.5 * usual * left && this.moved > 0) this.p = this.from + left; // arrives on the beat
      this.from = this.p; this.moved = 0; this.sinceCut = 0;
      if (this.stretches.length > 16) this.stretches.shift();
    }
    return this.p;
  }
}
