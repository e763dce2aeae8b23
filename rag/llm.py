"""LLM backends: llama.cpp in this process, or an OpenAI-compatible HTTP endpoint.

``stream`` yields the answer's text pieces as generated and then one ``Usage``: token counts travel with the
stream, so two overlapping generations never share state.
"""
from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Iterator, Protocol

from core.errors import GenerationError, Hint, ModelError
from core.settings import Settings
from core.text import estimate_tokens


@dataclass(frozen=True)
class Usage:
    """Tokens of one generation; ``timed_out`` when it stopped at its time limit."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    timed_out: bool = False
    stopped: bool = False  # the caller's stop event ended it
    evaluated_tokens: int = 0  # prompt tokens processed now; prompt_tokens - evaluated_tokens came from the cache
    prompt_rate: float | None = None  # tokens/s as llama.cpp measured them (None through an endpoint)
    generation_rate: float | None = None


@dataclass(frozen=True)
class Verdict:
    """A yes/no question put to the model: P(yes) among yes and no (None: no token probabilities to read), and
    the prompt tokens it evaluated (the rest came from llama.cpp's cache)."""

    p_yes: float | None
    evaluated_tokens: int = 0
    why_none: str = ""


def _p_yes(yes: float, no: float) -> float:
    """Two log-probabilities (or logits) -> P(yes) among the two: (0.0, -2.0) -> 0.88."""
    return 1.0 / (1.0 + math.exp(max(-50.0, min(50.0, no - yes))))


class LLM(Protocol):
    """What the pipeline needs of a model: a name, streamed chat completion, a token count."""

    name: str

    def stream(self, messages: list[dict], max_tokens: int, temperature: float,
               timeout_s: float, stop: threading.Event | None = None) -> Iterator[str | Usage]:
        """Yield text pieces as generated, then one ``Usage``; ``stop`` set ends the generation at once."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in this model's vocabulary (an estimate for endpoints)."""

    def yes_probability(self, messages: list[dict], timeout_s: float) -> Verdict:
        """How likely the assistant's next word is "yes" rather than "no" (None: the backend cannot say)."""


class LlamaCppLLM:
    """One llama.cpp model shared by all callers; a lock serialises generations."""

    def __init__(self, path: Path, settings: Settings):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError("llama-cpp-python is not installed. Run the install command in the README.") from exc
        self.name = Path(path).name
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seed = settings.seed
        try:
            self._llm = Llama(model_path=str(path), n_ctx=settings.n_ctx, n_threads=settings.threads,
                              seed=settings.seed, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"The model file {path} could not be loaded; it may be truncated or damaged ({exc}). "
                             f"Replace the file, or delete it to re-join the default model.") from exc
        self._stop = threading.Event()  # the running generation's stop event, swapped in under the lock
        self._abort = _abort_callback(self)
        self._watching = False

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages, max_tokens, temperature, timeout_s, stop=None) -> Iterator[str | Usage]:
        with self._lock:
            self._stop = stop or threading.Event()
            deadline = time.monotonic() + timeout_s
            try:
                self._perf(reset=True)
                self._watch(True)
                parts = self._llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                         temperature=temperature, seed=self._seed, stream=True)
                for item in _metered(parts, deadline, self._stop):
                    self._watch(False)
                    if isinstance(item, Usage):  # llama.cpp reports no usage when streaming: count the context
                        item = replace(item, prompt_tokens=max(0, self._llm.n_tokens - item.completion_tokens),
                                       **self._perf())
                    yield item
            except (RuntimeError, ValueError) as exc:
                if not self._stop.is_set():
                    raise GenerationError(f"The model failed while answering ({exc}). Try a shorter question.") from exc
                yield Usage(stopped=True, **self._perf())  # aborted inside llama_decode ("returned 2")
            finally:
                self._stop = threading.Event()
                self._watch(False)

    def yes_probability(self, messages, timeout_s) -> Verdict:
        """One token of the answer, and the logits llama.cpp computed for it: the prompt shares its start with
        the last generation's, so only the new tail is evaluated (~40 tokens for a claim check)."""
        import numpy as np

        with self._lock:
            self._perf(reset=True)
            try:
                self._llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, seed=self._seed)
            except (RuntimeError, ValueError) as exc:
                return Verdict(None, 0, f"the model failed ({exc})")
            logits = np.ctypeslib.as_array(self._llm._ctx.get_logits_ith(-1), shape=(self._llm.n_vocab(),))
            yes, no = (max(float(logits[t]) for t in ids) for ids in self._yes_no)
            return Verdict(_p_yes(yes, no), self._perf().get("evaluated_tokens", 0))

    @cached_property
    def _yes_no(self) -> tuple[set[int], set[int]]:
        """The first token of each spelling of yes and of no in this vocabulary."""
        def first(words):
            return {self._llm.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words}

        return first(["yes", "Yes", " yes", " Yes", "YES"]), first(["no", "No", " no", " No", "NO"])

    def _watch(self, on: bool) -> None:
        """While the prompt is processed, llama.cpp asks ``_abort`` between graph nodes (a 600-token prompt
        stops ~40 ms after Stop instead of ~10 s); once tokens flow, ``_metered`` checks the stop event between
        them instead, as asking per node slows generation ~15% (14 vs 17 tokens/s)."""
        import llama_cpp

        if on != self._watching:
            callback = self._abort if on else llama_cpp.ggml_abort_callback()
            llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, callback, None)
            self._watching = on


    def _perf(self, reset: bool = False) -> dict:
        """llama.cpp's own counters since the last reset: prompt tokens evaluated and both rates."""
        import llama_cpp

        ctx = self._llm._ctx.ctx
        if reset:
            llama_cpp.llama_perf_context_reset(ctx)
            return {}
        d = llama_cpp.llama_perf_context(ctx)
        return {"evaluated_tokens": d.n_p_eval,
                "prompt_rate": 1000 * d.n_p_eval / d.t_p_eval_ms if d.t_p_eval_ms > 0 else None,
                "generation_rate": 1000 * d.n_eval / d.t_eval_ms if d.t_eval_ms > 0 else None}


class OpenAICompatLLM:
    """Chat completions from a server such as llama.cpp's llama-server, vLLM or llama_cpp.server."""

    def __init__(self, url: str, model: str = "local"):
        base = url.rstrip("/")
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.name = f"{model} @ {url}"
        self.model = model

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)  # the server's tokenizer is not at hand

    def stream(self, messages, max_tokens, temperature, timeout_s, stop=None) -> Iterator[str | Usage]:
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": max_tokens,
                           "temperature": temperature, "stream": True, "seed": 0}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + timeout_s
        resp = self._open(req, timeout_s)
        try:
            with resp:
                yield from _metered(_sse_events(resp), deadline, stop)
        except (TimeoutError, OSError) as exc:
            raise GenerationError(f"The LLM server at {self.url} stopped answering ({exc}). "
                                  f"Check the server, or raise the generation time limit.", Hint.RAISE_TIMEOUT) from exc
        except ValueError as exc:
            raise GenerationError(f"The LLM server at {self.url} sent something that is not JSON ({exc}).") from exc

    def yes_probability(self, messages, timeout_s) -> Verdict:
        """One token with its top log-probabilities (``logprobs``), where the server gives them; None where not."""
        body = json.dumps({"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
                           "logprobs": True, "top_logprobs": 10, "seed": 0}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with self._open(req, timeout_s) as resp:
                data = json.loads(resp.read())
            top = data["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError, ValueError):
            return Verdict(None, 0, "the endpoint gives no token probabilities")
        except (ModelError, GenerationError, OSError) as exc:
            return Verdict(None, 0, f"the endpoint failed ({exc})")
        best = {}
        for t in top:
            word = str(t.get("token", "")).strip().lower()
            if word in ("yes", "no"):
                best[word] = max(best.get(word, -1e9), float(t.get("logprob", -1e9)))
        if not best:
            return Verdict(None, 0, "the endpoint's likeliest tokens hold neither yes nor no")
        return Verdict(_p_yes(best.get("yes", -30.0), best.get("no", -30.0)),
                       int((data.get("usage") or {}).get("prompt_tokens", 0)))

    def _open(self, req: urllib.request.Request, timeout_s: float):
        try:
            return urllib.request.urlopen(req, timeout=timeout_s)
        except urllib.error.HTTPError as exc:
            raise ModelError(f"The LLM server at {self.url} answered HTTP {exc.code}: {exc.read()[:200]!r}.") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
                raise GenerationError(f"The LLM server at {self.url} did not answer within {timeout_s:.0f} s. "
                                      f"Check the server, or raise the generation time limit.",
                                      Hint.RAISE_TIMEOUT) from exc
            raise ModelError(f"Cannot reach the LLM server at {self.url} ({reason}). Start the server, or use "
                             f"the local model instead.", Hint.LOCAL_MODEL) from exc


def _sse_events(lines) -> Iterator[dict]:
    """Server-sent events ("data: {...}" lines, ending with "data: [DONE]") -> JSON objects."""
    for raw in lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


def _abort_callback(llm: LlamaCppLLM):
    """llama.cpp's abort callback: true while the running generation's stop event is set."""
    import llama_cpp

    return llama_cpp.ggml_abort_callback(lambda _data: llm._stop.is_set())


def _metered(events, deadline: float, stop: threading.Event | None = None) -> Iterator[str | Usage]:
    """OpenAI-style stream chunks -> text pieces, ending at the deadline or ``stop``, then their ``Usage``."""
    prompt_tokens = completion_tokens = 0
    timed_out = False
    for event in events:
        if stop is not None and stop.is_set():
            yield Usage(prompt_tokens, completion_tokens, stopped=True)
            return
        if event.get("usage"):
            prompt_tokens = event["usage"].get("prompt_tokens", 0)
        choices = event.get("choices") or [{}]
        piece = (choices[0].get("delta") or {}).get("content")
        if piece:
            completion_tokens += 1
            yield piece
        if time.monotonic() > deadline:
            timed_out = True
            break
    yield Usage(prompt_tokens, completion_tokens, timed_out)


_cache: dict[tuple, LLM] = {}
_cache_lock = threading.Lock()


def load_llm(settings: Settings) -> LLM:
    """The LLM named by ``settings``: the endpoint when ``llm_url`` is set, else a GGUF. Loaded once per process."""
    if settings.llm_url:
        return OpenAICompatLLM(settings.llm_url, settings.llm_api_model)
    from rag.models import resolve_model

    path = resolve_model(settings)
    key = (str(path), settings.n_ctx, settings.threads, settings.seed)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = LlamaCppLLM(path, settings)
        return _cache[key]
