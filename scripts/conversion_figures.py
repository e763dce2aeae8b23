"""Conversion time and accuracy on pages and PDFs made from the five shipped articles.

Each seed article is wrapped in three page layouts (news site, blog with sidebars, adverts between paragraphs)
and rendered to a PDF (reportlab, wrapped lines). Accuracy: the share of the article's sentences found in the
extracted text (kept), and the share of boilerplate lines absent from it (dropped), whitespace-normalised.

    .venv/bin/python scripts/conversion_figures.py
"""
import io
import statistics
import textwrap
from pathlib import Path

from core.text import sentence_spans
from embeddings.convert import convert

ROOT = Path(__file__).resolve().parents[1]
BOILER = ["Subscribe to our newsletter for the latest updates", "Sign in to join the conversation below",
          "Most read this week: ten photos from the festival", "We use cookies to improve your experience",
          "Advertisement: best travel deals of the season", "Share this story on social media",
          "Related: markets close higher on Friday", "Copyright Daily News. All rights reserved"]


def norm(s: str) -> str:
    return " ".join(s.split())


def layouts(title: str, paras: list[str]) -> list[str]:
    body = "".join(f"<p>{p}</p>" for p in paras)
    ads = "".join(f"<p>{p}</p>" + (f'<div class="ad"><p>{BOILER[4]}</p></div>' if i % 3 == 2 else "")
                  for i, p in enumerate(paras))
    head = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title} | Daily News</title></head><body>"
    nav = f"<header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><p>{BOILER[3]}</p></header>"
    foot = (f"<section class='comments'><h3>Comments</h3><p>{BOILER[1]}</p></section>"
            f"<footer><p>{BOILER[0]}</p><p>{BOILER[7]}</p></footer></body></html>")
    side = (f"<aside class='sidebar'><h3>Most read</h3><ul><li><a href='/a'>{BOILER[2]}</a></li>"
            f"<li><a href='/b'>{BOILER[6]}</a></li></ul><p>{BOILER[5]}</p></aside>")
    return [head + nav + f"<main><article><h1>{title}</h1>{body}</article></main>" + foot,
            head + nav + f"<div class='wrap'>{side}<div class='post'><h2>{title}</h2><div class='entry-content'>"
                         f"{body}</div></div></div>" + foot,
            head + nav + f"<article><h1>{title}</h1><div class='story'>{ads}</div></article>{side}" + foot]


def pdf(title: str, paras: list[str]) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setTitle(title)
    y = 800
    for line in [title, ""] + [w for p in paras for w in textwrap.wrap(p, 95) + [""]]:
        if y < 60:
            c.showPage()
            y = 800
        c.drawString(40, y, line)
        y -= 14
    c.save()
    return buf.getvalue()


def score(text: str, paras: list[str]) -> tuple[float, float]:
    got = norm(text)
    sents = [norm(p[a:b]) for p in paras for a, b in sentence_spans(p)]
    kept = sum(s in got for s in sents) / len(sents)
    dropped = sum(b not in got for b in BOILER) / len(BOILER)
    return kept, dropped


def main() -> None:
    import json

    catalog = {a["file"]: a for a in json.loads((ROOT / "seeds/catalog.json").read_text())["articles"]}
    rows = {"html": [], "pdf": []}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        paras = [norm(p) for p in path.read_text().split("\n") if len(p.split()) >= 5]
        title = catalog[path.name]["title"]
        for page in layouts(title, paras):
            c = convert("page.html", page.encode())
            rows["html"].append((c.seconds, *score(c.text, paras)))
        c = convert("article.pdf", pdf(title, paras))
        rows["pdf"].append((c.seconds, score(c.text, paras)[0], None))
    for kind, r in rows.items():
        t = [x[0] for x in r]
        kept = statistics.mean(x[1] for x in r)
        dropped = [x[2] for x in r if x[2] is not None]
        print(f"{kind}: {len(r)} files, conversion p50 {1000 * statistics.median(t):.0f} ms, max {1000 * max(t):.0f} ms; "
              f"article sentences kept {kept:.3f}"
              + (f"; boilerplate lines dropped {statistics.mean(dropped):.3f}" if dropped else ""))


if __name__ == "__main__":
    main()
