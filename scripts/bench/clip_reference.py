#!/usr/bin/python3
"""The Python side of the CLIP benchmark: ViT-B/32-shaped random weights, and a PyTorch
reference model written after OpenAI's CLIP (model.py) with OpenAI's preprocessing in PIL,
timed the way a researcher would run it. Debian's python3-torch and python3-pil.

  make       --out DIR                      random ViT-B/32 weights (OpenAI key layout, safetensors)
  images     --model DIR --images DIR       decode + preprocess + encode_image, images/s
  preprocess --images DIR                   PIL preprocessing alone, images/s
  texts      --model DIR --token-ids T.npy  encode_text on token ids, texts/s
  pixels     --model DIR --pixels P.npy     encode_image on preprocessed pixels (N x 3 x 224 x 224), images/s
  texts and pixels take --device cpu|cuda and --dtype float32|bfloat16|float16; each batch
  goes from host memory to the device and its embeddings back, as recap-embed's model time
  counts them; on cuda one untimed batch first sets up cuBLAS and cuDNN (recap does at load),
  and float32 runs with TF32 off, as recap does.
  compare    --model DIR --images DIR --embeddings E.npy   max abs diff / cosine vs recap's embeddings
"""
import argparse, json, os, struct, sys, time

import numpy as np
import torch
from torch import nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_mmap import read_safetensors  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
VISION = dict(width=768, layers=12, heads=12, patch=32, resolution=224)
TEXT = dict(width=512, layers=12, heads=8, vocab=49408, context=77)
EMBED = 512


# ---- weights -------------------------------------------------------------------------
def random_state_dict(seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def p(name, *shape, std=0.02):
        sd[name] = torch.randn(*shape, generator=g) * std

    def blocks(prefix, width, layers):
        for i in range(layers):
            b = f"{prefix}.resblocks.{i}."
            p(b + "attn.in_proj_weight", 3 * width, width)
            p(b + "attn.in_proj_bias", 3 * width)
            p(b + "attn.out_proj.weight", width, width)
            p(b + "attn.out_proj.bias", width)
            for ln in ("ln_1", "ln_2"):
                sd[b + ln + ".weight"] = 1 + 0.1 * torch.randn(width, generator=g)
                p(b + ln + ".bias", width)
            p(b + "mlp.c_fc.weight", 4 * width, width)
            p(b + "mlp.c_fc.bias", 4 * width)
            p(b + "mlp.c_proj.weight", width, 4 * width)
            p(b + "mlp.c_proj.bias", width)

    v, t = VISION, TEXT
    grid = v["resolution"] // v["patch"]
    p("visual.conv1.weight", v["width"], 3, v["patch"], v["patch"])
    p("visual.class_embedding", v["width"])
    p("visual.positional_embedding", grid * grid + 1, v["width"])
    for ln in ("ln_pre", "ln_post"):
        sd[f"visual.{ln}.weight"] = torch.ones(v["width"])
        p(f"visual.{ln}.bias", v["width"])
    blocks("visual.transformer", v["width"], v["layers"])
    p("visual.proj", v["width"], EMBED, std=v["width"] ** -0.5)
    p("token_embedding.weight", t["vocab"], t["width"])
    p("positional_embedding", t["context"], t["width"], std=0.01)
    blocks("transformer", t["width"], t["layers"])
    sd["ln_final.weight"] = torch.ones(t["width"])
    p("ln_final.bias", t["width"])
    p("text_projection", t["width"], EMBED, std=t["width"] ** -0.5)
    sd["logit_scale"] = torch.tensor(np.log(1 / 0.07), dtype=torch.float32)
    return sd


def save_safetensors(sd, path, metadata):
    header, offset, chunks = {"__metadata__": metadata}, 0, []
    for name, tensor in sd.items():
        data = tensor.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for c in chunks:
            f.write(c)



# ---- reference model (OpenAI CLIP's ViT and text transformer) --------------------------
class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))
        self.mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        mask = None if self.mask is None else self.mask.to(x.device, x.dtype)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(width, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, v):
        super().__init__()
        grid = v["resolution"] // v["patch"]
        self.conv1 = nn.Conv2d(3, v["width"], v["patch"], v["patch"], bias=False)
        self.class_embedding = nn.Parameter(torch.empty(v["width"]))
        self.positional_embedding = nn.Parameter(torch.empty(grid * grid + 1, v["width"]))
        self.ln_pre, self.ln_post = nn.LayerNorm(v["width"]), nn.LayerNorm(v["width"])
        self.transformer = Transformer(v["width"], v["layers"], v["heads"])
        self.proj = nn.Parameter(torch.empty(v["width"], EMBED))

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        t = TEXT
        self.visual = Visual(VISION)
        mask = torch.full((t["context"], t["context"]), float("-inf")).triu_(1)
        self.transformer = Transformer(t["width"], t["layers"], t["heads"], mask)
        self.token_embedding = nn.Embedding(t["vocab"], t["width"])
        self.positional_embedding = nn.Parameter(torch.empty(t["context"], t["width"]))
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.empty(t["width"], EMBED))
        self.logit_scale = nn.Parameter(torch.ones([]))

    def encode_image(self, pixels):
        return self.visual(pixels)

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


def load_model(folder):
    model = Clip()
    model.load_state_dict(read_safetensors(os.path.join(folder, "openai_vitb32.safetensors")))
    return model.eval()


# ---- OpenAI's preprocessing in PIL -----------------------------------------------------
def preprocess(path, n=224):
    img = Image.open(path)
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = n, int(n * long / short)
    img = img.resize((new_short, new_long) if w <= h else (new_long, new_short), Image.BICUBIC)
    w, h = img.size
    top, left = int(round((h - n) / 2.0)), int(round((w - n) / 2.0))
    img = img.crop((left, top, left + n, top + n)).convert("RGB")
    x = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x.transpose(2, 0, 1).copy())


def image_files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png")))


def report(**fields):
    print(json.dumps(fields), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["make", "images", "preprocess", "texts", "pixels", "compare"])
    ap.add_argument("--out"), ap.add_argument("--model"), ap.add_argument("--images"), ap.add_argument("--token-ids")
    ap.add_argument("--embeddings"), ap.add_argument("--pixels")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    if a.command == "make":
        os.makedirs(a.out, exist_ok=True)
        save_safetensors(random_state_dict(), os.path.join(a.out, "openai_vitb32.safetensors"),
                         {"format": "pt", "vision_heads": str(VISION["heads"]), "text_heads": str(TEXT["heads"])})
        return
    if a.command == "preprocess":
        files = image_files(a.images)
        start = time.perf_counter()
        for f in files:
            preprocess(f)
        report(what="PIL preprocess", items=len(files), seconds=time.perf_counter() - start)
        return
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("clip_reference.py: --device cuda: this PyTorch sees no GPU")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dtype = getattr(torch, a.dtype)
    model = load_model(a.model).to(a.device, dtype)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    with torch.inference_mode():
        if a.command in ("texts", "pixels"):
            host = torch.from_numpy(np.load(a.token_ids).astype(np.int64) if a.command == "texts" else np.load(a.pixels))
            encode = model.encode_text if a.command == "texts" else model.encode_image

            def run(part):
                x = part.to(a.device) if a.command == "texts" else part.to(a.device, dtype)
                return encode(x).float().cpu()

            if a.device == "cuda":
                run(host[:a.batch])
                sync()
            start = time.perf_counter()
            out = [run(host[i:i + a.batch]) for i in range(0, len(host), a.batch)]
            sync()
            seconds = time.perf_counter() - start
            if a.out:
                np.save(a.out, torch.cat(out).numpy())
            report(what=f"torch encode_{'text' if a.command == 'texts' else 'image'} on {a.device} {a.dtype}",
                   items=len(host), seconds=seconds, rate=len(host) / seconds)
        elif a.command == "images":
            files = image_files(a.images)
            start = time.perf_counter()
            for i in range(0, len(files), a.batch):
                model.encode_image(torch.stack([preprocess(f) for f in files[i:i + a.batch]]))
            report(what="PIL + torch encode_image", items=len(files), seconds=time.perf_counter() - start)
        else:
            files = image_files(a.images)
            ref = torch.cat([model.encode_image(torch.stack([preprocess(f) for f in files[i:i + a.batch]]))
                             for i in range(0, len(files), a.batch)]).numpy()
            ours = np.load(a.embeddings)
            cos = (ref * ours).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(ours, axis=1)
            report(what="recap vs reference", max_abs_diff=float(np.abs(ref - ours).max()), min_cosine=float(cos.min()))


if __name__ == "__main__":
    main()
