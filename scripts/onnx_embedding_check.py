"""Would onnxruntime embed faster than sentence-transformers (PyTorch) with the same vectors? (issue #12)

Exports the packaged all-MiniLM-L6-v2 weights to ONNX here (nothing downloaded), quantises them to int8
(onnxruntime's dynamic quantisation, three variants), and compares with PyTorch on the seeds' passages x4, in one
run: passages/s (2 threads) and per-passage cosine to the PyTorch vectors (the bar is >= 0.99 for every passage).

    .venv/bin/pip install onnxruntime onnx && .venv/bin/python scripts/onnx_embedding_check.py
"""
import tempfile
import time
from pathlib import Path

import numpy as np

from core.settings import Settings
from embeddings.chunking import chunk_text
from embeddings.embedder import embed_texts, embedder_path, load_embedder
from embeddings.reader import read_corpus


def export(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class Hidden(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    model = Hidden(AutoModel.from_pretrained(str(model_dir))).eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    names = ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
    with torch.no_grad():
        torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(out), input_names=names[:3],
                          output_names=names[3:], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names})


class OnnxEmbedder:
    """``encode`` as sentence-transformers does it: mean pooling over the mask, unit length, 256 tokens."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int = 2):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(256)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts, **_):
        enc = self.tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    s = Settings.load()
    docs, _ = read_corpus(s.corpus_dirs)
    texts = [c.text for d in docs for c in chunk_text(d, s.chunk_chars, s.chunk_overlap)] * 4
    model_dir = embedder_path()
    tmp = Path(tempfile.mkdtemp())
    export(model_dir, tmp / "fp32.onnx")
    variants = {"int8 (QInt8)": dict(), "int8 per channel, MatMul only": dict(per_channel=True, op_types_to_quantize=["MatMul"]),
                "uint8 per channel": dict(per_channel=True, weight_type=QuantType.QUInt8)}
    for i, (name, kw) in enumerate(variants.items()):
        quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / f"q{i}.onnx"), **({"weight_type": QuantType.QInt8} | kw))
    models = {"PyTorch (sentence-transformers)": load_embedder(), "ONNX fp32": OnnxEmbedder(model_dir, tmp / "fp32.onnx")}
    models |= {f"ONNX {name}": OnnxEmbedder(model_dir, tmp / f"q{i}.onnx") for i, name in enumerate(variants)}
    ref = embed_texts(models["PyTorch (sentence-transformers)"], texts)
    for name, m in models.items():
        embed_texts(m, texts[:64])
        rates = []
        for _ in range(2):
            t = time.perf_counter()
            v = embed_texts(m, texts)
            rates.append(len(texts) / (time.perf_counter() - t))
        cos = (v * ref).sum(1)
        print(f"{name}: {max(rates):.0f} passages/s, cosine to PyTorch min {cos.min():.4f} "
              f"mean {cos.mean():.4f}", flush=True)


if __name__ == "__main__":
    main()
