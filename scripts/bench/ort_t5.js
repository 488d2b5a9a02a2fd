// ONNX Runtime (onnxruntime-node) side of the T5 benchmark: the decoding of
// scripts/bench/t5_reference.py's bench mode on the graphs of scripts/bench/onnx_t5.py
// (encoder once per prompt, then one decoder_step run per position for all rows: prompts x
// beams or prompts x samples), 2 intra-op threads and graph optimisation "all", as the CLIP
// anchor runs. Beam search: log-softmax, end-of-sequence forbidden (min_new_tokens =
// max_new_tokens), the best `beams` of beams x vocabulary per prompt, the cache's rows
// gathered to follow their beams, length penalty 1. Nucleus sampling: softmax without
// end-of-sequence, the smallest most-probable set reaching top_p, one draw from it. The
// softmax runs in the graph (its "probs" output); the rest here, on typed arrays.
// Generation alone is timed (sessions are created first), as t5_reference.py times it;
// prints one JSON line with beam_seconds, sample_seconds, decoder_tokens_per_s (rows x new
// tokens / both seconds, rows = prompts x (beams + samples)) and run_seconds (inside
// session.run; the rest is this script's own work between steps).
//   node ort_t5.js --ort DIR --model ONNX_DIR --ids I.npy [--threads 2] [--beams 4] [--samples 36]
//                  [--new-tokens 30] [--top-p 0.9] [--seed 0] [--beams-out S.npy]
//   node ort_t5.js --ort DIR --model ONNX_DIR --ids I.npy --decoder-ids D.npy --logits-out L.npy
//        teacher-forced logits [rows, steps, vocab] for D's rows (prompts x R, R rows per prompt)
const fs = require("fs");
const path = require("path");

function args() {
  const a = { threads: 2, beams: 4, samples: 36, new_tokens: 30, top_p: 0.9, seed: 0 };
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "").replace(/-/g, "_")] = process.argv[i + 1];
  for (const k of ["threads", "beams", "samples", "new_tokens", "top_p", "seed"]) a[k] = Number(a[k]);
  return a;
}

// A C-order int64 .npy (the prompts and decoder ids bench_all.py and onnx_t5.py write).
function readInt64Npy(file) {
  const buf = fs.readFileSync(file);
  const headerLength = buf.readUInt16LE(8);
  const header = buf.toString("latin1", 10, 10 + headerLength);
  if (!/'descr': *'<i8'/.test(header) || /'fortran_order': *True/.test(header)) throw new Error(`${file}: not a C-order int64 array`);
  const shape = /'shape': *\(([^)]*)\)/.exec(header)[1].split(",").filter((s) => s.trim()).map(Number);
  const data = Buffer.from(buf.subarray(10 + headerLength));  // a copy, aligned for the typed array
  return { shape, values: new BigInt64Array(data.buffer, data.byteOffset, data.length / 8) };
}

function writeNpy(file, descr, shape, values) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const prefix = Buffer.alloc(10);
  prefix.write("\x93NUMPY", 0, "latin1");
  prefix.writeUInt8(1, 6);
  prefix.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

// Uniform doubles in [0, 1) from a seeded 32-bit counter hashed with murmur3's finaliser:
// reproducible runs; PyTorch's generator cannot be reproduced here, so samples differ.
function uniform(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

class T5Sessions {
  static async create(ort, folder, threads) {
    const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" };
    const s = new T5Sessions();
    s.ort = ort;
    s.encoder = await ort.InferenceSession.create(path.join(folder, "encoder.onnx"), options);
    s.step = await ort.InferenceSession.create(path.join(folder, "decoder_step.onnx"), options);
    s.cacheNames = s.step.inputNames.filter((n) => n.startsWith("past_"));  // past_key_0, past_value_0, ...
    s.presentNames = s.cacheNames.map((n) => n.replace("past_", "present_"));
    s.runSeconds = 0;
    return s;
  }

  async run(session, feeds, fetches) {
    const start = process.hrtime.bigint();
    const out = await (fetches ? session.run(feeds, fetches) : session.run(feeds));
    this.runSeconds += Number(process.hrtime.bigint() - start) / 1e9;
    return out;
  }

  // The cross-attention keys/values and padding bias of the prompts, once per prompt, and an
  // empty self cache for `rows` decoder rows.
  async start(ids, rows) {
    const [prompts, length] = ids.shape;
    const cross = await this.run(this.encoder, { input_ids: new this.ort.Tensor("int64", ids.values, [prompts, length]) });
    const [, heads, , dkv] = cross.cross_key_0.dims;
    const feeds = { ...cross };
    for (const name of this.cacheNames) feeds[name] = new this.ort.Tensor("float32", new Float32Array(0), [rows, heads, 0, dkv]);
    return feeds;
  }

  // One position for every row: its `output` ("probs" for decoding, "logits" for the check;
  // only what is fetched is copied out); the present cache becomes the next step's past.
  async advance(feeds, tokens, output = "probs") {
    feeds.tokens = new this.ort.Tensor("int64", tokens, [tokens.length, 1]);
    const out = await this.run(this.step, feeds, [output, ...this.presentNames]);
    for (let i = 0; i < this.cacheNames.length; ++i) feeds[this.cacheNames[i]] = out[this.presentNames[i]];
    return out[output].data;
  }

  // Row r of every cache tensor becomes the old row source[r] (beams that continue another's).
  reorder(feeds, source) {
    let identity = true;
    for (let r = 0; r < source.length; ++r) identity &&= source[r] === r;
    if (identity) return;
    for (const name of this.cacheNames) {
      const old = feeds[name].data, dims = feeds[name].dims, row = old.length / source.length;
      const moved = new Float32Array(old.length);
      for (let r = 0; r < source.length; ++r) moved.set(old.subarray(source[r] * row, (source[r] + 1) * row), r * row);
      feeds[name] = new this.ort.Tensor("float32", moved, dims);
    }
  }
}

// Beam search as t5_reference.beam_search: per prompt the best `beams` continuations of all
// beams x vocabulary by summed log-probability (only beam 0 live at the start), end of
// sequence never chosen, final scores divided by the new tokens (length penalty 1).
async function beamSearch(t5, ids, beams, newTokens, eos, startToken) {
  const prompts = ids.shape[0], rows = prompts * beams;
  const feeds = await t5.start(ids, rows);
  let tokens = new BigInt64Array(rows).fill(BigInt(startToken));
  let scores = new Float32Array(rows).fill(-1e9);
  for (let b = 0; b < prompts; ++b) scores[b * beams] = 0;
  let history = new Int32Array(rows * (newTokens + 1)).fill(startToken);
  const width = newTokens + 1;
  const bestScore = new Float64Array(beams), bestRow = new Int32Array(beams), bestToken = new Int32Array(beams);
  for (let step = 0; step < newTokens; ++step) {
    const probs = await t5.advance(feeds, tokens);
    const vocab = probs.length / rows;
    const nextScores = new Float32Array(rows), source = new Int32Array(rows), nextTokens = new BigInt64Array(rows);
    for (let b = 0; b < prompts; ++b) {
      bestScore.fill(-Infinity);
      for (let j = 0; j < beams; ++j) {
        const row = b * beams + j, p = probs.subarray(row * vocab, (row + 1) * vocab), score = scores[row];
        // log(p) + score beats the worst kept candidate only if p > exp(worst - score): the
        // logarithm is taken for the few that pass (the bound is loosened by 1e-6 so that
        // rounding cannot drop one; the decision itself is made on log(p) + score).
        let bound = Math.exp(bestScore[beams - 1] - score) * (1 - 1e-6);
        for (let v = 0; v < vocab; ++v) {
          if (!(p[v] > bound) || v === eos) continue;  // log-probabilities of the whole vocabulary, then EOS removed
          const total = Math.log(p[v]) + score;
          if (!(total > bestScore[beams - 1])) continue;
          let k = beams - 1;  // insertion into the sorted best list
          for (; k > 0 && bestScore[k - 1] < total; --k) {
            bestScore[k] = bestScore[k - 1]; bestRow[k] = bestRow[k - 1]; bestToken[k] = bestToken[k - 1];
          }
          bestScore[k] = total; bestRow[k] = row; bestToken[k] = v;
          bound = Math.exp(bestScore[beams - 1] - score) * (1 - 1e-6);
        }
      }
      for (let k = 0; k < beams; ++k) {
        const r = b * beams + k;
        nextScores[r] = bestScore[k];
        source[r] = bestRow[k];
        nextTokens[r] = BigInt(bestToken[k]);
      }
    }
    t5.reorder(feeds, source);
    const moved = new Int32Array(history.length);
    for (let r = 0; r < rows; ++r) {
      moved.set(history.subarray(source[r] * width, source[r] * width + step + 1), r * width);
      moved[r * width + step + 1] = Number(nextTokens[r]);
    }
    history = moved;
    scores = nextScores;
    tokens = nextTokens;
  }
  return { history, scores: scores.map((s) => s / newTokens) };
}

// One nucleus draw per row, as t5_reference.nucleus's: in descending order of probability,
// every token whose predecessors' mass is at most top_p x the row's mass is kept, and one is
// drawn in proportion to its probability. Without sorting the vocabulary: the probabilities
// (float32, in [0, 1]) are binned by their top 13 bits (exponent and 4 mantissa bits, so the
// bins are ordered like the values), and the bins' masses locate the bin the cut falls in.
// A first draw treats that bin as kept whole: a token above it (the usual case) is taken
// after one partial pass; a token in it is kept only if it is among the bin's kept ones,
// which are then found by sorting that bin alone, and otherwise the draw is redone among
// exactly the kept tokens. Drawn either way, a token's chance is its probability over the
// kept mass. The cut bin held ~400 of the 32,128 tokens in the runs tried, so this is one
// pass over the row plus about half of one, where the reference sorts the whole row.
class NucleusSampler {
  constructor(vocab) {
    this.mass = new Float64Array(2048);  // 1.0f is 0x3F800000: bin 2032
    this.ids = new Int32Array(vocab);
  }

  // The token at mass `target` of bin `bin`, in vocabulary order (the last one if rounding
  // leaves target unreached).
  walk(p, bits, bin, target) {
    let last = -1;
    for (let v = 0; v < p.length; ++v) {
      if (bits[v] >>> 19 !== bin) continue;
      last = v;
      if ((target -= p[v]) < 0) break;
    }
    return last;
  }

  // p: one row's probabilities, EOS's zeroed; bits: the same memory as Uint32Array; random()
  // gives uniform doubles in [0, 1).
  draw(p, bits, topP, random) {
    const mass = this.mass, n = p.length;
    mass.fill(0);
    for (let v = 0; v < n; ++v) mass[bits[v] >>> 19] += p[v];
    let total = 0;
    for (let b = 0; b < 2048; ++b) total += mass[b];
    const limit = topP * total;
    let above = 0, cut = 2047;  // every bin above `cut` is kept whole
    for (; cut > 0 && above + mass[cut] <= limit; --cut) above += mass[cut];
    let target = random() * (above + mass[cut]), bin = 2047;
    for (; bin > cut && target >= mass[bin]; --bin) target -= mass[bin];
    if (bin > cut) return this.walk(p, bits, bin, target);
    // In the cut bin: its tokens in descending order, kept while their predecessors' mass <= limit.
    let m = 0;
    for (let v = 0; v < n; ++v) if (bits[v] >>> 19 === cut) this.ids[m++] = v;
    const inCut = this.ids.subarray(0, m).sort((x, y) => p[y] - p[x]);
    let kept = above, keep = 0;
    while (keep < m && kept <= limit) kept += p[inCut[keep++]];
    let i = 0;
    for (; i < keep && target >= p[inCut[i]]; ++i) target -= p[inCut[i]];
    if (i === keep) {  // past the kept ones: drawn again among the kept tokens only
      target = random() * kept;
      for (bin = 2047; bin > cut && target >= mass[bin]; --bin) target -= mass[bin];
      if (bin > cut) return this.walk(p, bits, bin, target);
      for (i = 0; i < keep - 1 && target >= p[inCut[i]]; ++i) target -= p[inCut[i]];
    }
    return inCut[i];
  }
}

// Nucleus sampling as t5_reference.nucleus: `samples` rows per prompt, one draw per row and step.
async function nucleus(t5, ids, samples, newTokens, topP, eos, startToken, seed) {
  const prompts = ids.shape[0], rows = prompts * samples;
  const feeds = await t5.start(ids, rows);
  const random = uniform(seed);
  let tokens = new BigInt64Array(rows).fill(BigInt(startToken));
  const history = new Int32Array(rows * (newTokens + 1)).fill(startToken);
  let sampler = null;
  for (let step = 0; step < newTokens; ++step) {
    const probs = await t5.advance(feeds, tokens);
    const vocab = probs.length / rows;
    sampler ??= new NucleusSampler(vocab);
    const bits = new Uint32Array(probs.buffer, probs.byteOffset, probs.length);
    const next = new BigInt64Array(rows);
    for (let r = 0; r < rows; ++r) {
      // The softmax without EOS is the softmax with EOS's probability zeroed and the rest
      // renormalised; the sampler scales its cut by the row's mass instead.
      probs[r * vocab + eos] = 0;
      const choice = sampler.draw(probs.subarray(r * vocab, (r + 1) * vocab), bits.subarray(r * vocab, (r + 1) * vocab),
                                  topP, random);
      next[r] = BigInt(choice);
      history[r * (newTokens + 1) + step + 1] = choice;
    }
    tokens = next;
  }
  return history;
}

// Teacher-forced logits of decoderIds' rows (R consecutive rows per prompt) for the check.
async function teacherForced(t5, ids, decoderIds) {
  const [rows, steps] = decoderIds.shape;
  const feeds = await t5.start(ids, rows);
  let out = null, vocab = 0;
  for (let step = 0; step < steps; ++step) {
    const tokens = new BigInt64Array(rows);
    for (let r = 0; r < rows; ++r) tokens[r] = decoderIds.values[r * steps + step];
    const logits = await t5.advance(feeds, tokens, "logits");
    if (!out) { vocab = logits.length / rows; out = new Float32Array(rows * steps * vocab); }
    for (let r = 0; r < rows; ++r) out.set(logits.subarray(r * vocab, (r + 1) * vocab), (r * steps + step) * vocab);
  }
  return { shape: [rows, steps, vocab], values: out };
}

async function main() {
  const a = args();
  const ort = require(path.join(a.ort, "node_modules", "onnxruntime-node"));
  const config = JSON.parse(fs.readFileSync(path.join(a.model, "config.json"), "utf8"));
  const t5 = await T5Sessions.create(ort, a.model, a.threads);
  const ids = readInt64Npy(a.ids);
  if (a.decoder_ids) {
    const { shape, values } = await teacherForced(t5, ids, readInt64Npy(a.decoder_ids));
    writeNpy(a.logits_out, "<f4", shape, values);
    return;
  }
  const eos = config.eos_token_id, startToken = config.decoder_start_token_id;
  let start = process.hrtime.bigint();
  let beam = null;
  if (a.beams > 0) beam = await beamSearch(t5, ids, a.beams, a.new_tokens, eos, startToken);
  const beamSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  start = process.hrtime.bigint();
  if (a.samples > 0) await nucleus(t5, ids, a.samples, a.new_tokens, a.top_p, eos, startToken, a.seed);
  const sampleSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (a.beams_out && beam) {
    writeNpy(a.beams_out, "<i8", [ids.shape[0] * a.beams, a.new_tokens + 1], BigInt64Array.from(beam.history, BigInt));
    writeNpy(a.beams_out.replace(/\.npy$/, "") + ".scores.npy", "<f4", [ids.shape[0], a.beams], beam.scores);
  }
  const rows = ids.shape[0] * (a.beams + a.samples);
  console.log(JSON.stringify({
    beam_seconds: beamSeconds, sample_seconds: sampleSeconds, seconds: beamSeconds + sampleSeconds,
    decoder_tokens_per_s: rows * a.new_tokens / (beamSeconds + sampleSeconds), run_seconds: t5.runSeconds,
  }));
}

main().catch((e) => { console.error(`ort_t5.js: ${e.stack || e.message}`); process.exit(1); });
