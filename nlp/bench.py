"""The benchmark (`make bench`): posts per second through the whole classifier set, and peak
memory, per tier.

Each tier runs in its own process so that peak memory is that tier's alone. Posts are the
sample corpus, repeated with a counter so no two texts are identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

TIERS = {
    "fast (m2v)": ("sentiment.m2v.v1", "intent.m2v.v1", 20_000),
    "transformer (minilm)": ("sentiment.minilm.v1", "intent.minilm.v1", 3_000),
}
# Targets on a 2-core machine: (posts per second at least, peak MB below).
TARGETS = {"fast (m2v)": (2_000, 1_500), "transformer (minilm)": (150, 2_500)}


def machine() -> str:
    """The CPU the figures were measured on: they move a lot between CPUs (see README)."""
    import os
    import platform

    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    return f"{model}, {os.cpu_count()} cores" + (f", {' '.join(isa)}" if isa else "")


def run_encoders(n: int) -> dict[str, float]:
    """The MiniLM runtimes on the same texts, one after the other: texts per second of the
    PyTorch int8 reference and of the ONNX Runtime export the tier uses (a ratio within one
    run holds across machines better than either figure), and their cosine to float32."""
    import warnings

    import numpy as np

    from core.config import load_config
    from nlp.encoders import (
        ONNX_MODEL_DIR,
        TUNED_MODEL_DIR,
        Encoder,
        MiniLMEncoder,
        OnnxMiniLMEncoder,
    )
    from nlp.samples import sample_examples

    warnings.simplefilter("ignore")
    config = load_config()
    texts = [text for text, _ in sample_examples(config.base_dir / "samples")]
    texts = [f"{texts[i % len(texts)]} #{i}" for i in range(n)]
    runtimes: dict[str, Encoder] = {
        "pytorch float32": MiniLMEncoder(path=config.models_dir / TUNED_MODEL_DIR, int8=False),
        "pytorch int8": MiniLMEncoder(path=config.models_dir / TUNED_MODEL_DIR, int8=True),
        "onnx runtime int8": OnnxMiniLMEncoder(path=config.models_dir / ONNX_MODEL_DIR),
    }
    out: dict[str, float] = {}
    vectors = {}
    for name, encoder in runtimes.items():
        encoder.encode(texts[:64])  # load first
        started = time.perf_counter()
        vectors[name] = encoder.encode(texts)
        out[name] = round(n / (time.perf_counter() - started))
    reference = vectors["pytorch float32"]
    for name in ("pytorch int8", "onnx runtime int8"):
        out[f"{name} cosine"] = round(float(np.mean((vectors[name] * reference).sum(1))), 4)
    return out


def run_tier(sentiment: str, intent: str, n: int) -> dict[str, float]:
    import resource
    from datetime import UTC, datetime

    from core.config import load_config
    from core.models import Author, Post
    from nlp.pipeline import ClassifierPipeline, classifier_options
    from nlp.registry import get_classifier
    from nlp.samples import sample_examples

    config = load_config()
    names = {**config.classifiers, "sentiment": sentiment, "intent": intent}
    options = classifier_options(config)
    pipeline = ClassifierPipeline(
        {task: get_classifier(name, **options) for task, name in names.items()}
    )
    texts = [text for text, _ in sample_examples(config.base_dir / "samples")]
    author = Author(id="bench", handle="bench")
    now = datetime.now(UTC)
    posts = [
        Post(
            id=f"b:{i}",
            source="x",
            url="",
            author=author,
            text=f"{texts[i % len(texts)]} #{i}",
            created_at=now,
        )
        for i in range(n)
    ]
    pipeline.run(posts[:64])  # load models first: this measures steady-state throughput
    started = time.perf_counter()
    for start in range(0, n, 1000):
        pipeline.run(posts[start : start + 1000])
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "posts": n,
        "seconds": round(elapsed, 2),
        "posts_per_second": round(n / elapsed),
        "peak_mb": round(peak_mb),
    }


ENCODER_TEXTS = 2_000


def main() -> None:
    if len(sys.argv) == 4:  # child: one tier
        print(json.dumps(run_tier(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
        return
    if sys.argv[1:] == ["encoders"]:  # child: the MiniLM runtimes
        print(json.dumps(run_encoders(ENCODER_TEXTS)))
        return
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
    print("classifier set: language, spam, sentiment, PII, intent, public-to-private")
    for label, (sentiment, intent, n) in TIERS.items():
        print(f"{label}: classifying {n} posts ...", flush=True)
        out = subprocess.run(
            [sys.executable, "-m", "nlp.bench", sentiment, intent, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        speed, memory = TARGETS[label]
        print(
            f"  {result['posts_per_second']:>7} posts/s"
            f"  ({result['posts']} posts in {result['seconds']} s)"
            f"   peak memory {result['peak_mb']} MB"
        )
        print(
            f"  target: at least {speed:,} posts/s"
            f" ({'met' if result['posts_per_second'] >= speed else 'MISSED'}),"
            f" peak under {memory:,} MB ({'met' if result['peak_mb'] < memory else 'MISSED'})"
        )
    print(f"MiniLM runtimes, {ENCODER_TEXTS} texts each (encoding only) ...", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "nlp.bench", "encoders"], capture_output=True, text=True, check=True
    )
    speeds = json.loads(out.stdout.strip().splitlines()[-1])
    base = speeds["pytorch float32"]
    for name in ("pytorch float32", "pytorch int8", "onnx runtime int8"):
        cosine = speeds.get(f"{name} cosine", 1.0)
        print(
            f"  {name:<18} {speeds[name]:>5} texts/s  ({speeds[name] / base:.2f} x float32)"
            f"  cosine to float32 {cosine:.4f}"
        )


if __name__ == "__main__":
    main()
