"""Any folder of articles: `rag index DIR` reads saved web pages and PDFs (real files, made here) as `rag add`
converts them, keeps the converted text with the index and never in the folder, and quotes stay exact."""
import os
import subprocess
import sys

import pytest

from core.errors import CorpusError
from core.settings import Settings
from embeddings.ingest import ingest, load_index
from rag.pipeline import find, open_engine
from tests.test_collection import ARTICLE, PDF_LINES, news_page, pdf_bytes, scanned_pdf


@pytest.fixture
def saved_pages(tmp_path):
    folder = tmp_path / "saved-pages"
    folder.mkdir()
    (folder / "rice-deal.html").write_text(news_page(), encoding="utf-8")
    (folder / "thilawa.pdf").write_bytes(pdf_bytes(PDF_LINES, title="Thilawa port upgrade"))
    (folder / "scan.pdf").write_bytes(scanned_pdf())
    (folder / "notes.txt").write_text("Myanmar opened a new border gate with Thailand at Myawaddy in May 2025, "
                                      "the commerce ministry said.", encoding="utf-8")
    return folder


def listing(folder):
    return sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_a_folder_of_pages_and_pdfs_is_indexed_and_left_as_it_was(saved_pages, tmp_path):
    before = listing(saved_pages)
    s = Settings.load(corpus_dirs=(saved_pages,), index_dir=tmp_path / "index")
    report = ingest(s)
    assert sorted(report.added) == ["notes", "rice-deal", "thilawa"]
    assert [os.path.basename(k.path) for k in report.skipped] == ["scan.pdf"]
    assert "no text layer" in report.skipped[0].reason  # what rag add says of a scan
    assert listing(saved_pages) == before  # nothing written into the user's folder
    docs = load_index(s).documents
    page, pdf = docs["rice-deal"], docs["thilawa"]
    assert all(p in page.text for p in ARTICLE) and "<p>" not in page.text and "Subscribe" not in page.text
    assert (page.title, page.date, page.date_origin, page.author) == ("Rice deal signed with Laos", "2025-04-02",
                                                                     "html metadata", "Ann Lee")
    assert page.original == str(saved_pages / "rice-deal.html")
    assert pdf.title == "Thilawa port upgrade" and "container terminal at Thilawa port" in pdf.text
    assert (tmp_path / "index" / "converted" / "rice-deal.json").is_file()  # kept with the index


def test_quotes_from_a_converted_page_are_exact(saved_pages, tmp_path):
    s = Settings.load(corpus_dirs=(saved_pages,), index_dir=tmp_path / "index")
    engine, _ = open_engine(s)
    found = find(engine, "How much rice does the deal with Laos cover a year?")
    assert found.evidence and found.evidence[0].source == "rice-deal"
    for ev in found.evidence:
        assert engine.index.documents[ev.source].text[ev.start:ev.end] == ev.text
    assert any("50,000 tonnes" in ev.text for ev in found.evidence)


def test_unchanged_pages_are_not_converted_again_and_a_changed_one_is(saved_pages, tmp_path):
    s = Settings.load(corpus_dirs=(saved_pages,), index_dir=tmp_path / "index")
    ingest(s)
    cached = tmp_path / "index" / "converted" / "rice-deal.json"
    stamp = cached.stat().st_mtime_ns
    again = ingest(s)
    assert not again.wrote and cached.stat().st_mtime_ns == stamp
    (saved_pages / "rice-deal.html").write_text(news_page(ARTICLE + ["A second shipment leaves in July."]),
                                                encoding="utf-8")
    changed = ingest(s)
    assert changed.changed == ["rice-deal"] and "second shipment" in load_index(s).documents["rice-deal"].text


def test_a_folder_with_nothing_readable_says_what_it_found(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.csv"):
        (folder / name).write_bytes(b"\xff\xd8\xff" + b"x" * 50)
    with pytest.raises(CorpusError, match=r"it holds 2 \.jpg files, 1 \.csv file.*\.html, \.htm.*\.pdf"):
        ingest(Settings.load(corpus_dirs=(folder,), index_dir=tmp_path / "index"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="it is empty"):
        ingest(Settings.load(corpus_dirs=(tmp_path / "empty",), index_dir=tmp_path / "index2"))


def test_rag_index_on_a_folder_of_saved_pages(saved_pages, tmp_path):
    env = dict(os.environ, RAG_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "rag", "index", str(saved_pages)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "from 3 articles" in r.stdout and "scan.pdf" in r.stderr
