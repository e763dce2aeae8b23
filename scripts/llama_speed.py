"""Prompt-processing and generation speed of llama.cpp itself on this machine (default model, 2 threads)."""
import time

from llama_cpp import Llama

from rag.models import default_model_path

llm = Llama(model_path=str(default_model_path()), n_ctx=2048, verbose=False)
tokens = llm.tokenize(open("seeds/000_33c356039679306b.txt", encoding="utf-8").read().encode())[:500]
llm.reset()
t = time.perf_counter()
llm.eval(tokens)
pp = len(tokens) / (time.perf_counter() - t)
t = time.perf_counter()
n = 0
for _ in llm.generate(tokens[:50], temp=0.0, reset=True):
    n += 1
    if n == 64:
        break
print(f"prompt processing {pp:.0f} tokens/s; generation {64 / (time.perf_counter() - t):.0f} tokens/s (incl. 50-token prompt)")
