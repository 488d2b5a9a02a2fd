"""Inputs the benchmark scripts share (scripts/bench_all.py, scripts/bench_reproduce.py):
ViT-B/32-shaped random CLIP weights with CLIP's real BPE vocabulary, COCO-sized JPEGs and
real captions, all made from the repository's own fixtures (tests/data)."""
import json, os, shutil, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
BUILD = os.environ.get("RECAP_BUILD_DIR", os.path.join(ROOT, "build"))
PY = "/usr/bin/python3"
THREADS = "2"  # each side of every comparison


def clip_weights(models):
    """models/vitb32/openai_vitb32.safetensors (made once with scripts/bench/clip_reference.py)."""
    clip = os.path.join(models, "vitb32")
    weights = os.path.join(clip, "openai_vitb32.safetensors")
    if not os.path.exists(weights):
        subprocess.run([PY, os.path.join(ROOT, "scripts/bench/clip_reference.py"), "make", "--out", clip], check=True,
                       capture_output=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(DATA, "golden/clip/tiny-vit/hf", name), clip)
    return weights


def coco_images(folder, count):
    """`count` COCO-sized JPEGs: the golden preprocessing photos under distinct names."""
    if not os.path.isdir(folder):
        source = sorted(f for f in os.listdir(os.path.join(DATA, "golden/preprocess/images")) if f.startswith("COCO_"))
        os.makedirs(folder + ".tmp", exist_ok=True)
        for i in range(count):
            shutil.copy(os.path.join(DATA, "golden/preprocess/images", source[i % len(source)]),
                        os.path.join(folder + ".tmp", f"{i:05d}.jpg"))
        os.rename(folder + ".tmp", folder)
    return folder


def captions(path, count):
    """The first `count` Flickr30k test captions, one per line."""
    notes = json.load(open(os.path.join(DATA, "flickr30k-test/annotations.json")))["annotations"]
    with open(path, "w") as f:
        f.writelines(" ".join(n["caption"].split()) + "\n" for n in notes[:count])
    return path
