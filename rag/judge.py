"""The local model as a judge of each claim (in the style of MiniCheck): "Question: ... Sentence of your answer:
'...' As an answer to this question, is the sentence stated in passage [2]? Reply yes or no.", read as P(yes)
from the next token's probabilities.

The question continues the chat that produced the answer, so llama.cpp reuses the prompt it has cached and
evaluates only the new tail: ~40 tokens a claim instead of a ~400-token prompt. It runs after the rules of
``rag.cite``, on the claims they let through, and can only withdraw one: a claim the model itself says "no" to
(P(yes) < 0.5) is not shown. Where the backend gives no token probabilities (an endpoint without
``logprobs``) the claim keeps the rules' verdict and its reason says the judge was unavailable.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from core.records import SentenceVerdict
from rag.llm import Verdict

JUDGE_MIN = 0.5

Ask = Callable[[str, int], Verdict]  # (claim, passage number) -> the model's verdict


def judge_messages(messages: list[dict], draft: str, question: str, claim: str, marker: int) -> list[dict]:
    """The answer's chat, its answer as written, then the yes/no question about one claim. The question is
    repeated: a terse claim ("Six elephants.") is judged as the answer to it, not as a bare fact."""
    return [*messages, {"role": "assistant", "content": draft},
            {"role": "user", "content": f"Question: {question}\nSentence of your answer: \"{claim}\"\n"
                                        f"As an answer to this question, is the sentence stated in passage "
                                        f"[{marker}]? Reply yes or no."}]


def apply(verdicts: Sequence[SentenceVerdict], ask: Ask) -> list[SentenceVerdict]:
    """Each claim the rules let through is put to the judge against its first cited passage; "no" withdraws it.
    (Restoring with a "yes" the claims the rules refused for their wording was measured and dropped: the model
    said yes at p 0.6-0.7 to "Six elephants were sent by Russia" as to true claims.)"""
    out = []
    for v in verdicts:
        if not (v.claim and v.supported and v.markers):
            out.append(v)
            continue
        j = ask(v.text, v.markers[0])
        if j.p_yes is None:
            out.append(replace(v, reason=f"{v.reason}; judge unavailable: {j.why_none}"))
        elif j.p_yes < JUDGE_MIN:
            out.append(replace(v, supported=False, reason=f"judge: no (p={j.p_yes:.2f})"))
        else:
            out.append(replace(v, reason=f"{v.reason}; judge: yes (p={j.p_yes:.2f})"))
    return out
