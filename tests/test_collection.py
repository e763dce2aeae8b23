"""The collection: saved web pages and PDFs made here, duplicates and name clashes, list / remove / correct,
one index per data folder; with the real embedder and index."""
import io
import json
import re
from pathlib import Path

import pytest

from core.settings import Settings, default_index_dir
from embeddings.convert import ConversionError, convert
from rag.retrieve import retrieve
from rag.service import Service
from tests.conftest import SEEDS

ARTICLE = ["Myanmar and Laos signed a rice export agreement in Vientiane on Wednesday, the trade ministry said.",
           "The deal covers 50,000 tonnes of rice a year for three years, officials said.",
           "Traders in Yangon welcomed the agreement, saying it would steady prices before the monsoon."]
BOILERPLATE = ["Subscribe to our newsletter for daily updates", "Sign in to comment on this story",
               "Most read: celebrity wedding photos", "Cookie settings and privacy policy"]


def news_page(paragraphs=ARTICLE, title="Rice deal signed with Laos", meta_date="2025-04-02", charset="utf-8",
              dateline="") -> str:
    """A saved news page: navigation, adverts, a related-stories box, the article, comments, a footer."""
    date_meta = f'<meta property="article:published_time" content="{meta_date}T09:00:00+06:30">' if meta_date else ""
    body = "".join(f"<p>{p}</p>" for p in ([dateline] if dateline else []) + list(paragraphs))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="{charset}"><title>{title} | Daily News</title>
{date_meta}<meta name="author" content="Ann Lee"><script>window.dataLayer = [];</script></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="advert"><p>{BOILERPLATE[0]}</p></div>
<main><article><h1>{title}</h1><p class="byline">By Ann Lee</p>{body}</article>
<aside class="related"><h3>Related</h3><ul><li><a href="/x">{BOILERPLATE[2]}</a></li></ul></aside></main>
<section id="comments" class="comments"><h3>Comments</h3><p>{BOILERPLATE[1]}</p><p>First! Great read.</p></section>
<footer><p>{BOILERPLATE[3]}</p><p>Copyright 2025 Daily News</p></footer></body></html>"""


def pdf_bytes(lines, title="Port upgrade report", pages=1, encrypt=None) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setTitle(title)
    for _ in range(pages):
        y = 800
        for line in lines:
            c.drawString(40, y, line)
            y -= 16
        c.showPage()
    c.save()
    if not encrypt:
        return buf.getvalue()
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    w.encrypt(encrypt)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def scanned_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(40):  # strokes, as an image of a page would be: no text layer
        c.rect(40, 780 - 18 * i, 500, 10, fill=1)
    c.save()
    return buf.getvalue()


PDF_LINES = ["YANGON, June 12, 2025 - Russia will help upgrade the container terminal at Thilawa",
             "port, the transport ministry said on Thursday. The work is planned to take two years",
             "and to double the port's capacity."]


# ---------- conversion ----------

def test_html_keeps_the_article_and_drops_the_page_around_it():
    c = convert("rice.html", news_page().encode())
    assert all(p in c.text for p in ARTICLE)
    assert not any(b in c.text for b in BOILERPLATE) and "First! Great read" not in c.text
    assert (c.title, c.author, c.date, c.date_origin) == ("Rice deal signed with Laos", "Ann Lee", "2025-04-02",
                                                          "html metadata")


def test_html_without_date_metadata_takes_the_dateline():
    c = convert("x.html", news_page(meta_date="", dateline="VIENTIANE, April 2, 2025 (Daily News) -").encode())
    assert (c.date, c.date_origin) == ("2025-04-02", "dateline")
    assert convert("y.html", news_page(meta_date="").encode()).date is None  # undated, not guessed


def test_html_in_a_legacy_encoding_declared_in_its_meta_tag():
    page = news_page([p.replace("Traders", "Café owners") for p in ARTICLE], charset="windows-1252")
    assert "Café owners in Yangon" in convert("cafe.html", page.encode("cp1252")).text


@pytest.mark.parametrize("html", [
    "<html><body><script>" + "var x = 1;" * 2000 + "</script><a href='/'>Home</a></body></html>",
    "<html><head><title>Index</title></head><body><ul>" + "<li><a href='/a'>Link</a></li>" * 30 + "</ul></body></html>"])
def test_html_without_an_article_is_named_with_what_to_do(html):
    with pytest.raises(ConversionError, match=r"page\.html has no article text .* paste its text"):
        convert("page.html", html.encode())


def test_pdf_text_title_and_dateline():
    c = convert("port.pdf", pdf_bytes(PDF_LINES))
    assert "Russia will help upgrade the container terminal at Thilawa port, the transport ministry" in c.text
    assert (c.title, c.date, c.date_origin, c.kind) == ("Port upgrade report", "2025-06-12", "dateline", "pdf")


@pytest.mark.parametrize("make,message", [
    (scanned_pdf, "no text layer"), (lambda: pdf_bytes(PDF_LINES, encrypt="secret"), "protected by a password"),
    (lambda: pdf_bytes(PDF_LINES)[:900], "damaged or not a complete PDF"),
    (lambda: pdf_bytes(PDF_LINES, pages=200), "has 200 pages")])
def test_bad_pdfs_are_named_with_why(make, message):
    with pytest.raises(ConversionError, match=message):
        convert("report.pdf", make())


# ---------- the collection ----------

@pytest.fixture
def service(tmp_path):
    s = Settings.load(corpus_dirs=(SEEDS,), index_dir=tmp_path / "index")
    svc = Service(s, tmp_path / "data" / "articles")
    svc.start()
    return svc


def write(folder: Path, name: str, data) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_pages_and_pdfs_become_articles_with_their_originals(service, tmp_path):
    up = tmp_path / "up"
    result = service.add_files([write(up, "rice.html", news_page()), write(up, "port.pdf", pdf_bytes(PDF_LINES)),
                                write(up, "lies.pdf", news_page(ARTICLE[:2], "Lying extension")),
                                write(up, "scan.pdf", scanned_pdf())])
    assert result.added == ("rice", "port", "lies") and len(result.problems) == 1 and "scan.pdf" in result.problems[0]
    assert any("lies.pdf is really an HTML page" in n for n in result.notes)
    docs = service.documents()
    rice = docs["rice"]
    assert rice.date == "2025-04-02" and rice.date_origin == "html metadata" and Path(rice.original).read_bytes() == news_page().encode()
    assert docs["port"].date_origin == "dateline"
    rows = {r.source: r for r in service.articles()}
    assert rows["rice"].passages >= 1 and not rows["rice"].read_only and rows["000_33c356039679306b"].read_only
    hit = retrieve("How much rice does the Laos deal cover?", service.engine.index, service.engine.embedder,
                   service.settings).hits[0]
    assert hit.chunk.source in ("rice", "lies") and rice.text[hit.chunk.start:hit.chunk.end] == hit.chunk.text or \
        docs["lies"].text[hit.chunk.start:hit.chunk.end] == hit.chunk.text


def test_duplicates_and_name_clashes_never_replace_silently(service, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    first = service.add_files([write(a, "report.txt", ARTICLE[0]), write(a, "a b.txt", ARTICLE[1])])
    again = service.add_files([write(b, "report.html", news_page(ARTICLE[:1]).replace("Rice deal", "Other")),
                               write(b, "report.txt", ARTICLE[2]), write(b, "a_b.txt", "Something else entirely, "
                                                                                      "about ferries in Sittwe.")])
    assert first.added == ("report", "a_b")
    assert again.added == ("report-2", "report-3", "a_b-2")  # different articles under taken names: new names
    assert any("already called 'report'" in n for n in again.notes)
    dup = service.add_files([write(tmp_path / "c", "copy.txt", "  " + ARTICLE[0].replace(" ", "\n  ") + "\n")])
    assert dup.added == () and "already in the collection as 'report'" in dup.problems[0]
    replaced = service.add_files([write(tmp_path / "d", "report.txt", ARTICLE[1] + " Updated.")], replace=True)
    assert replaced.added == ("report",) and service.documents()["report"].text.endswith("Updated.")
    evil = service.add_files([write(tmp_path / "e", "..\\<img src=x>.txt", "Ferries link Sittwe and Kyaukphyu daily.")])
    (name,) = evil.added  # a Windows-style path and markup in the name: kept under a plain name, inside the folder
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name) and (service.added_dir / f"{name}.txt").is_file()


def test_remove_and_correct_update_the_index_at_once(service, tmp_path):
    service.add_files([write(tmp_path / "u", "ship.txt", "A Russian hospital ship called at Thilawa port for a week.")])
    assert service.documents()["ship"].date is None
    service.set_meta("ship", title="Hospital ship visit", date="2024-02")
    doc = service.documents()["ship"]
    assert (doc.title, doc.date, doc.date_origin) == ("Hospital ship visit", "2024-02", "user")
    hits = retrieve("hospital ship", service.engine.index, service.engine.embedder, service.settings,
                    date_range=("2024-02", "2024-02")).hits
    assert hits and {h.chunk.source for h in hits} == {"ship"}  # the corrected date is what the filter uses
    with pytest.raises(Exception, match="shipped articles are read-only"):
        service.remove("000_33c356039679306b")
    service.remove("ship")
    assert "ship" not in service.documents() and not (service.added_dir / "ship.txt").exists()
    hits = retrieve("hospital ship Thilawa", service.engine.index, service.engine.embedder, service.settings).hits
    assert all(h.chunk.source != "ship" for h in hits)


def test_a_restart_keeps_what_was_added_and_a_crash_leaves_no_trace(service, tmp_path):
    service.add_files([write(tmp_path / "u", "rice.html", news_page())])
    # a crash after the original and catalog were written but before the text: no article, no error
    folder = service.added_dir
    write(folder / "originals", "half.html", news_page())
    catalog = json.loads((folder / "catalog.json").read_text())
    catalog["articles"].append({"file": "half.txt", "title": "Half", "original": "originals/half.html"})
    (folder / "catalog.json").write_text(json.dumps(catalog))
    again = Service(service.settings, folder)
    report = again.start()
    assert "rice" in again.documents() and "half" not in again.documents() and not report.skipped


def test_each_data_folder_has_its_own_index(tmp_path):
    one = default_index_dir((SEEDS, tmp_path / "one" / "articles"))
    two = default_index_dir((SEEDS, tmp_path / "two" / "articles"))
    assert one != two and default_index_dir((SEEDS,)) not in (one, two)


def test_cli_add_list_set_date_remove(tmp_path, monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    data = ["--data-dir", str(tmp_path / "data")]
    folder = tmp_path / "pages"
    write(folder, "rice.html", news_page())
    write(folder, "port.pdf", pdf_bytes(PDF_LINES))
    assert main(["add", str(folder), *data]) == 0
    assert main(["set-date", "port", "2025-07", *data]) == 0
    capsys.readouterr()
    assert main(["list", *data]) == 0
    out = capsys.readouterr().out
    assert "2025-07 (user)" in out and "2025-04-02 (html metadata)" in out and "read-only" in out
    assert main(["remove", "rice", *data]) == 0
    assert main(["remove", "004_6442ee56b40e60eb", *data]) == 2
    assert "read-only" in capsys.readouterr().err
