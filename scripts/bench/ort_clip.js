// ONNX Runtime (onnxruntime-node) side of the CLIP benchmark: the same preprocessed
// pixels or token ids recap-embed reads, the model alone, 2 intra-op threads and graph
// optimisation "all". Texts are sorted by length and each batch trimmed to its longest
// row, as recap does. Prints one JSON line {"rate", "seconds", "items"}; writes the
// embeddings (.npy) with --out for the comparison of outputs.
//   node ort_clip.js --ort DIR --model image.onnx --pixels P.npy [--batch 32] [--threads 2] [--out E.npy]
//   node ort_clip.js --ort DIR --model text.onnx --token-ids T.npy [--batch 64] ...
const fs = require("fs");
const path = require("path");

function args() {
  const a = { batch: 32, threads: 2 };
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "").replace(/-/g, "_")] = process.argv[i + 1];
  a.batch = Number(a.batch);
  a.threads = Number(a.threads);
  return a;
}

// A C-order .npy of float32 or int64 (what recap-embed writes).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLength = buf.readUInt16LE(8);
  const header = buf.toString("latin1", 10, 10 + headerLength);
  const descr = /'descr': *'([^']+)'/.exec(header)[1];
  const shape = /'shape': *\(([^)]*)\)/.exec(header)[1].split(",").filter((s) => s.trim()).map(Number);
  const data = buf.subarray(10 + headerLength);
  const copy = Buffer.from(data);
  const values = descr === "<f4" ? new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4)
               : descr === "<i8" ? new BigInt64Array(copy.buffer, copy.byteOffset, copy.length / 8)
               : null;
  if (!values) throw new Error(`${file}: unsupported dtype ${descr}`);
  return { shape, values };
}

function writeNpy(file, rows, cols, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const prefix = Buffer.alloc(10);
  prefix.write("\x93NUMPY", 0, "latin1");
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(values.buffer)]));
}

async function main() {
  const a = args();
  const ort = require(path.join(a.ort, "node_modules", "onnxruntime-node"));
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential",
  });
  const out = [];
  let items = 0, seconds = 0, dim = 0;
  if (a.pixels) {
    const { shape, values } = readNpy(a.pixels);
    const per = shape[1] * shape[2] * shape[3];
    for (let s = 0; s < shape[0]; s += a.batch) {
      const n = Math.min(a.batch, shape[0] - s);
      const input = new ort.Tensor("float32", values.subarray(s * per, (s + n) * per), [n, shape[1], shape[2], shape[3]]);
      const start = process.hrtime.bigint();
      const result = await session.run({ pixels: input });
      seconds += Number(process.hrtime.bigint() - start) / 1e9;
      dim = result.embeddings.dims[1];
      out.push(result.embeddings.data);
      items += n;
    }
  } else {
    const { shape, values } = readNpy(a.token_ids);
    const [rows, context] = shape;
    const lengths = [];
    for (let r = 0; r < rows; ++r) {
      let eot = 0;  // the end-of-text token has the largest id: the row's length is up to it
      for (let c = 0; c < context; ++c) if (values[r * context + c] > values[r * context + eot]) eot = c;
      lengths.push(eot + 1);
    }
    const order = [...Array(rows).keys()].sort((x, y) => lengths[x] - lengths[y]);
    const byRow = new Array(rows);
    for (let s = 0; s < rows; s += a.batch) {
      const batch = order.slice(s, s + a.batch);
      const length = Math.max(...batch.map((r) => lengths[r]));
      const ids = new BigInt64Array(batch.length * length);
      batch.forEach((r, i) => ids.set(values.subarray(r * context, r * context + length), i * length));
      const start = process.hrtime.bigint();
      const result = await session.run({ ids: new ort.Tensor("int64", ids, [batch.length, length]) });
      seconds += Number(process.hrtime.bigint() - start) / 1e9;
      dim = result.embeddings.dims[1];
      batch.forEach((r, i) => (byRow[r] = result.embeddings.data.subarray(i * dim, (i + 1) * dim)));
      items += batch.length;
    }
    out.push(...byRow);
  }
  if (a.out) {
    const all = new Float32Array(items * dim);
    let at = 0;
    for (const chunk of out) { all.set(chunk, at); at += chunk.length; }
    writeNpy(a.out, items, dim, all);
  }
  console.log(JSON.stringify({ rate: items / seconds, seconds, items }));
}

main().catch((e) => { console.error(`ort_clip.js: ${e.message}`); process.exit(1); });
