#!/usr/bin/python3
"""The Python side of the whole-captioner benchmark: ReCap's captioning of a folder of
images, as `recap-caption --run RUN --clip CLIP --lm T5 --images DIR` does it with the
settings of configs/coco.json (configs/recap_lm_caption.json has the same ones), written
the way a researcher would write it with PyTorch eager and numpy (Debian's python3-torch,
python3-numpy, python3-pil and python3-sentencepiece):

  1. CLIP image embeddings: OpenAI's PIL preprocessing and model (clip_reference.py),
     a batch of images per call;
  2. alignment: normalize(normalize(x) @ W) with the run's mapping.npy;
  3. exact top-k retrieval with numpy over the run's datastore/embeddings.npy;
  4. the prompt: the template with {captions} = the k captions joined by the separator;
  5. FLAN-T5 (t5_reference.py: the same transcription, key/value cache) generates the
     candidates of every prompt of the batch in one call per decoding: beam search
     (Hugging Face 5's algorithm: 2 x beams candidates a step, finished hypotheses scored
     sum log p / length ^ length_penalty, the early_stopping=False heuristic) and nucleus
     sampling (Hugging Face's TopPLogitsWarper, then torch.multinomial); rows stop at
     end-of-sequence, the batch at max_new_tokens or when every row has ended;
  6. candidates decoded with sentencepiece (special and sentinel ids skipped), duplicates
     removed as recap removes them, CLIP text embeddings of all candidates of the batch in
     one call (a BPE transcription of CLIP's tokenizer; rows padded to the batch's longest,
     as Hugging Face's padding="longest" does), and the candidate with the highest cosine
     to the aligned image embedding is the caption.

  caption_pipeline_reference.py --run RUN --clip DIR --lm DIR --images DIR --out R.json
      [--details D.jsonl] [--config configs/coco.json] [--max-new-tokens N] [--batch-size 16]
      [--threads 2]
  Prints one JSON line: images, seconds, images/s, the time of each phase, decoder rows and
  steps, tokens generated. Sampling is seeded (--seed) but torch's random streams are not
  recap's, so sampled candidates differ from recap's; beam candidates and retrieved
  captions are comparable.
"""
import argparse, html, json, os, re, sys, time

import numpy as np
import sentencepiece
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_reference  # noqa: E402
import t5_reference  # noqa: E402
from safetensors_mmap import read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))




def load_clip(folder):
    model = clip_reference.Clip()
    model.load_state_dict(read_safetensors(os.path.join(folder, "openai_vitb32.safetensors")))
    return model.eval()


# ---- CLIP's byte-level BPE (OpenAI's simple_tokenizer, on Hugging Face's vocab.json/merges.txt)
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ClipTokenizer:
    # OpenAI's pattern uses the regex module's \p{L} / \p{N} (not packaged for this); with re,
    # [^\W\d_] is a letter and \d a digit: the same on ASCII text, which the candidates are.
    PATTERN = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""",
                         re.IGNORECASE)

    def __init__(self, folder):
        self.encoder = json.load(open(os.path.join(folder, "vocab.json"), encoding="utf-8"))
        merges = open(os.path.join(folder, "merges.txt"), encoding="utf-8").read().split("\n")[1:]
        self.ranks = {tuple(m.split()): i for i, m in enumerate(m for m in merges if m.strip())}
        self.byte_encoder = bytes_to_unicode()
        self.start, self.end = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            first, second = best
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        self.cache[token] = word
        return word

    def encode(self, text):
        text = re.sub(r"\s+", " ", html.unescape(html.unescape(text)).strip()).strip().lower()
        ids = []
        for token in self.PATTERN.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self.bpe(token))
        return ids

    def tokenize(self, texts, context=77):
        """[start] ids [end], cut as OpenAI's clip.tokenize(truncate=True), padded with 0 to the longest row."""
        rows = []
        for t in texts:
            ids = [self.start] + self.encode(t)[:context - 2] + [self.end]
            rows.append(ids)
        out = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int64)
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return torch.from_numpy(out)


def encode_text(model, ids):
    """clip_reference's encode_text on rows trimmed to their longest (positions and causal mask cut to match)."""
    n = ids.shape[1]
    x = (model.token_embedding(ids) + model.positional_embedding[:n]).permute(1, 0, 2)
    mask = torch.full((n, n), float("-inf")).triu_(1)
    for block in model.transformer.resblocks:
        y = block.ln_1(x)
        x = x + block.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        x = x + block.mlp(block.ln_2(x))
    x = model.ln_final(x.permute(1, 0, 2))
    return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ model.text_projection


# ---- T5 decoding, batched over the prompts -----------------------------------------------
def repeat_cache(cache, times):
    """Each prompt's cross-attention keys/values and mask, once per beam or sample (rows of a
    prompt consecutive). t5_reference.repeat_cache does this with repeat_interleave, whose
    index_select copies slice by slice in this PyTorch (1.13): 0.35 s a tensor for 72 rows."""
    def rep(t):
        return t[:, None].expand(t.shape[0], times, *t.shape[1:]).reshape(t.shape[0] * times, *t.shape[1:])
    cache["cross"] = [(rep(k), rep(v)) for k, v in cache["cross"]]
    cache["cross_bias"] = rep(cache["cross_bias"])


STATS = {"decoder_rows": 0, "decoder_steps": 0, "decoder_row_steps": 0}


def step(model, tokens, cache):
    STATS["decoder_rows"] = max(STATS["decoder_rows"], tokens.shape[0])
    STATS["decoder_steps"] += 1
    STATS["decoder_row_steps"] += tokens.shape[0]
    return model.step(tokens, cache).float()


def beam_search(model, ids, mask, beams, max_new_tokens, length_penalty=1.0):
    """Hugging Face 5's beam search (early_stopping=False): num_beams sequences per prompt, best first."""
    cfg = model.cfg
    batch, eos, dead = ids.shape[0], cfg["eos_token_id"], -1.0e9
    cache = model.start(model.encode(ids, mask), mask)
    repeat_cache(cache, beams)
    running = torch.full((batch * beams, 1), cfg["decoder_start_token_id"], dtype=torch.long)
    scores = torch.full((batch, beams), dead)
    scores[:, 0] = 0
    finished = [[] for _ in range(batch)]
    improvable = [True] * batch
    cur_len, max_length = 1, 1 + max_new_tokens
    while cur_len < max_length:
        logp = torch.log_softmax(step(model, running[:, -1], cache), -1)
        vocab = logp.shape[1]
        top_v, top_i = (logp + scores.view(-1, 1)).view(batch, beams * vocab).topk(2 * beams, 1)
        beam, token = top_i // vocab, top_i % vocab
        last = cur_len + 1 >= max_length
        hit = (token == eos) | last
        run_score = torch.where(hit, top_v + dead, top_v)
        source, next_tokens, next_scores = [], [], []
        for b in range(batch):
            if improvable[b]:
                norm = float(cur_len) ** length_penalty
                for c in range(beams):
                    if hit[b, c]:
                        seq = running[b * beams + beam[b, c]].tolist() + [int(token[b, c])]
                        finished[b].append((float(top_v[b, c]) / norm, seq))
                finished[b] = sorted(finished[b], key=lambda h: -h[0])[:beams]  # stable, as recap's
            order = sorted(range(2 * beams), key=lambda c: -float(run_score[b, c]))[:beams]
            source += [b * beams + int(beam[b, c]) for c in order]
            next_tokens += [int(token[b, c]) for c in order]
            next_scores += [float(run_score[b, c]) for c in order]
        source = torch.tensor(source)
        model.reorder(cache, source)
        running = torch.cat([running[source], torch.tensor(next_tokens)[:, None]], 1)
        scores = torch.tensor(next_scores).view(batch, beams)
        cur_len += 1
        for b in range(batch):
            worst = finished[b][-1][0] if len(finished[b]) >= beams else dead
            improvable[b] = improvable[b] and float(scores[b, 0]) / float(cur_len - 1) ** length_penalty > worst
        if not any(improvable) or bool(hit.all()):
            break
    return [[seq for _, seq in finished[b][:beams]] for b in range(batch)]


def nucleus(model, ids, mask, samples, max_new_tokens, top_p, temperature, generator):
    """`samples` sequences per prompt: Hugging Face's TopPLogitsWarper then torch.multinomial."""
    cfg = model.cfg
    eos, pad = cfg["eos_token_id"], cfg["pad_token_id"]
    cache = model.start(model.encode(ids, mask), mask)
    repeat_cache(cache, samples)
    tokens = torch.full((ids.shape[0] * samples,), cfg["decoder_start_token_id"], dtype=torch.long)
    done = torch.zeros_like(tokens, dtype=torch.bool)
    history = [tokens]
    for _ in range(max_new_tokens):
        logits = step(model, tokens, cache) / temperature
        sorted_logits, order = logits.sort(-1)
        remove = sorted_logits.softmax(-1).cumsum(-1) <= 1 - top_p
        remove[:, -1] = False
        logits = logits.scatter(1, order, sorted_logits.masked_fill(remove, -float("inf")))
        tokens = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
        tokens = torch.where(done, torch.full_like(tokens, pad), tokens)
        done |= tokens == eos
        history.append(tokens)
        if bool(done.all()):
            break
    seqs = torch.stack(history, 1).tolist()
    return [seqs[i * samples:(i + 1) * samples] for i in range(ids.shape[0])]


def until_eos(seq, eos):
    seq = seq[1:]  # the decoder start
    return seq[:seq.index(eos) + 1] if eos in seq else seq


def decode(sp, seq, eos):
    """recap's T5Tokenizer::decode with skip_special: pad, </s>, <unk> and sentinels dropped."""
    pieces = sp.get_piece_size()
    return sp.decode([i for i in until_eos(seq, eos) if i < pieces and not sp.is_control(i) and not sp.is_unknown(i)])


def dedupe(candidates):
    """recap's dedupe_candidates: whitespace collapsed, empty dropped, duplicates by lower case less trailing dots/spaces."""
    out, seen = [], set()
    for text, source in candidates:
        text = " ".join(text.split())
        key = text.lower().rstrip(". ")
        if key and key not in seen:
            seen.add(key)
            out.append((text, source))
    return out


def image_id(path):
    m = re.search(r"(\d+)$", os.path.splitext(os.path.basename(path))[0])
    return int(m.group(1)) if m else os.path.basename(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--clip", required=True, help="folder of openai_vitb32.safetensors, vocab.json, merges.txt")
    ap.add_argument("--lm", required=True, help="folder of config.json, model.safetensors, spiece.model")
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--details")
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "coco.json"))
    ap.add_argument("--max-new-tokens", type=int, help="default: the config's")
    ap.add_argument("--batch-size", type=int, help="images per batch (default: the config's)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(a.threads)
    c = json.load(open(a.config))["caption"]
    max_new = a.max_new_tokens or c["max-new-tokens"]
    batch_size = a.batch_size or c["batch-size"]
    assert c.get("sampling", "nucleus") == "nucleus" and c.get("top-k", 0) == 0, "only nucleus sampling is written here"
    timings = dict.fromkeys(["load", "clip_images", "retrieval", "t5_beam", "t5_sample", "clip_texts"], 0.0)

    def timed(name, t0):
        timings[name] += time.perf_counter() - t0
        return time.perf_counter()

    t0 = time.perf_counter()
    clip = load_clip(a.clip)
    clip_tok = ClipTokenizer(a.clip)
    lm = t5_reference.T5(a.lm)
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(a.lm, "spiece.model"))
    w = np.load(os.path.join(a.run, "mapping.npy")).astype(np.float32)
    store = np.load(os.path.join(a.run, "datastore", "embeddings.npy"), mmap_mode="r")
    captions = open(os.path.join(a.run, "datastore", "captions.jsonl"), encoding="utf-8").read().splitlines()
    files = clip_reference.image_files(a.images)
    generator = torch.Generator().manual_seed(c["seed"])
    eos = lm.cfg["eos_token_id"]
    t0 = timed("load", t0)

    results, details, tokens_generated = [], [], 0
    with torch.inference_mode():
        for first in range(0, len(files), batch_size):
            batch = files[first:first + batch_size]
            x = clip.encode_image(torch.stack([clip_reference.preprocess(f) for f in batch])).numpy()
            t0 = timed("clip_images", t0)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            aligned = x @ w
            aligned /= np.linalg.norm(aligned, axis=1, keepdims=True)
            sims = aligned @ store.T
            top = np.argpartition(-sims, c["k"] - 1, axis=1)[:, :c["k"]]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, 1), 1, kind="stable"), 1)
            retrieved = [[(int(j), json.loads(captions[j])["caption"], float(sims[i, j])) for j in row]
                         for i, row in enumerate(top)]
            prompts = [c["prompt-template"].replace("{captions}", c["separator"].join(r[1] for r in rs))
                       for rs in retrieved]
            t0 = timed("retrieval", t0)
            limit = c["max-input-tokens"]
            rows = [(sp.encode(p) + [eos])[:limit] for p in prompts]
            rows = [r[:-1] + [eos] if len(r) == limit else r for r in rows]
            ids = torch.zeros((len(rows), max(map(len, rows))), dtype=torch.long)
            for i, r in enumerate(rows):
                ids[i, :len(r)] = torch.tensor(r)
            mask = (ids != lm.cfg["pad_token_id"]).long()
            cands = [[] for _ in batch]
            if c["candidate-beams"] > 0:
                for i, seqs in enumerate(beam_search(lm, ids, mask, c["candidate-beams"], max_new, c.get("length-penalty", 1.0))):
                    cands[i] += [(s, "beam") for s in seqs]
                t0 = timed("t5_beam", t0)
            if c["candidate-samples"] > 0:
                for i, seqs in enumerate(nucleus(lm, ids, mask, c["candidate-samples"], max_new, c["top-p"],
                                                 c["temperature"], generator)):
                    cands[i] += [(s, "sample") for s in seqs]
                t0 = timed("t5_sample", t0)
            tokens_generated += sum(len(until_eos(s, eos)) for cs in cands for s, _ in cs)
            texts = [dedupe([(decode(sp, s, eos), source) for s, source in cs]) for cs in cands]
            flat = [t for ts in texts for t, _ in ts]
            emb = encode_text(clip, clip_tok.tokenize(flat)).numpy().astype(np.float64)
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
            t0 = timed("clip_texts", t0)
            row = 0
            for i, f in enumerate(batch):
                scores = emb[row:row + len(texts[i])] @ aligned[i].astype(np.float64)
                row += len(texts[i])
                best = int(np.argmax(scores))
                results.append({"image_id": image_id(f), "caption": texts[i][best][0]})
                details.append({"image_id": image_id(f), "file": os.path.relpath(f, a.images), "prompt": prompts[i],
                                "retrieved": [{"index": j, "caption": t, "similarity": s} for j, t, s in retrieved[i]],
                                "candidates": [{"text": t, "source": src, "score": float(s)}
                                               for (t, src), s in zip(texts[i], scores)],
                                "caption": texts[i][best][0], "score": float(scores[best]), "chosen": best})
    json.dump(results, open(a.out, "w"))
    if a.details:
        with open(a.details, "w") as out:
            out.writelines(json.dumps(d) + "\n" for d in details)
    seconds = time.perf_counter() - start
    print(json.dumps({"images": len(files), "seconds": seconds, "images_per_s": len(files) / seconds,
                      "max_new_tokens": max_new, "candidates": sum(len(d["candidates"]) for d in details),
                      "tokens_generated": tokens_generated, **STATS,
                      "phases_s": {k: round(v, 3) for k, v in timings.items()}}))


if __name__ == "__main__":
    main()
