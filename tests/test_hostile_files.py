"""What a hostile or careless user hands the collection: links to files outside it, UTF-16 text, control
characters in names, datelines in plain text; and how the page may be exposed (--share, passwords)."""
import os
from pathlib import Path

import pytest

from core.settings import Settings
from rag.service import Service
from tests.conftest import SEEDS

ARTICLE = ("Ferries between Sittwe and Kyaukphyu now run twice a day, the port authority said, after a new "
           "pier opened on the northern bank.\n")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """One index for the module: the seeds are embedded once, each test's own articles come and go."""
    return tmp_path_factory.mktemp("index")


@pytest.fixture
def service(tmp_path, index_dir):
    svc = Service(Settings.load(corpus_dirs=(SEEDS,), index_dir=index_dir), tmp_path / "data" / "articles")
    svc.start()
    return svc


def test_links_in_an_added_folder_or_as_a_file_are_refused(service, tmp_path):
    """Issue 24 (5): before, `ln -s /etc/passwd article.txt; rag add .` indexed /etc/passwd."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The vault code is 4711 and the spare key is under the mat of the harbour office.\n")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ferries.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "article.txt").symlink_to(secret)
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    result = service.add_files([folder / "ferries.txt", folder / "article.txt", folder / "passwd.txt"])
    assert result.added == ("ferries",) and len(result.problems) == 2
    assert all("is a symbolic link" in p and "Add the file itself" in p for p in result.problems)
    assert "vault" not in " ".join(d.text for d in service.documents().values())
    assert not any("root:" in d.text for d in service.documents().values())


def test_rag_add_of_a_folder_names_its_links(tmp_path, index_dir, monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ferries.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "article.txt").symlink_to("/etc/passwd")
    assert main(["add", str(folder), "--data-dir", str(tmp_path / "data")]) == 0
    captured = capsys.readouterr()
    assert "Added 1 article(s): ferries" in captured.out
    assert "not added: article.txt is a symbolic link (to /etc/passwd)" in captured.err
    assert not (tmp_path / "data" / "articles" / "article.txt").exists()


def test_an_index_folder_skips_links_leading_outside_it(tmp_path, settings_for):
    from embeddings.ingest import ingest

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ferries.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    report = ingest(settings_for(folder))
    assert report.added == ["ferries"] and "outside the folder" in report.skipped[0].reason


def test_utf16_text_with_a_bom_is_read(service, tmp_path):
    """Before: "it looks like an image or an archive"."""
    path = tmp_path / "notepad.txt"
    path.write_bytes(ARTICLE.encode("utf-16"))  # Python's utf-16 writes the byte-order mark, as Notepad does
    result = service.add_files([path])
    assert result.added == ("notepad",), result.problems
    assert service.documents()["notepad"].text == ARTICLE
    path.write_bytes(b"\xff\xfe" + "A ferry\x00 article".encode("utf-16-le") * 20)
    assert "NUL" in service.add_files([path]).problems[0]  # NUL characters are still no text


def test_newlines_and_bidi_controls_in_a_file_name_are_dropped(service, tmp_path, monkeypatch, capsys):
    """Before: a newline split a `rag list` row in two, and U+202E showed the title reversed."""
    odd = tmp_path / "Harbour\nnews \u202etxt.evil\u200b.txt"
    odd.write_text(ARTICLE, encoding="utf-8")
    result = service.add_files([odd])
    (name,) = result.added
    doc = service.documents()[name]
    assert doc.title == "Harbour news txt.evil" and name == "Harbour_news_txt.evil"
    service.set_meta(name, title="Ferries\r\n\u202bnews\u202c")
    assert service.documents()[name].title == "Ferries news"


def test_rag_list_prints_one_line_per_article(tmp_path, index_dir, monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
    odd = tmp_path / "two\nlines\u202e.txt"
    odd.write_text(ARTICLE, encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["add", str(odd), *data]) == 0
    capsys.readouterr()
    assert main(["list", *data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and not any("\u202e" in line for line in lines)  # 5 seeds and the one added


@pytest.mark.parametrize("text,date", [
    ("TROMSO, March 1, 2023 - The Arctic ferry line added a winter route along the coast, the operator said.\n",
     "2023-03-01"),
    ("Riga, 14 June 2024 (BNS) - Latvia's port of Riga opened a new grain terminal on the right bank.\n",
     "2024-06-14"),
    ("NARVIK (NTB) - Ore shipments rose in April 2025, the mining company said in its spring report.\n", "2025-04"),
    ("The ferry line will add a winter route, the operator said. Nothing else was announced on the day.\n", None)])
def test_text_articles_take_their_dateline(service, tmp_path, text, date):
    """The README's "a date with a year in the opening lines" now dates plain text too (before: undated)."""
    path = tmp_path / "ferry.txt"
    path.write_text(text, encoding="utf-8")
    (name,) = service.add_files([path]).added
    doc = service.documents()[name]
    assert (doc.date, doc.date_origin) == (date, "dateline" if date else None)


def test_a_pasted_article_without_a_date_takes_its_dateline(service):
    kept = service.add_text("Arctic ferry", "", "TROMSO, March 1, 2023 - The Arctic ferry line added a "
                                                "winter route along the coast.")
    doc = service.documents()[kept.added[0]]
    assert (doc.date, doc.date_origin) == ("2023-03-01", "dateline")


def test_a_public_link_needs_a_password(tmp_path):
    """Before: `rag chat --share` was accepted without --auth (only --host was checked) and started the page."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--share", "--data-dir", str(tmp_path / "data")],
                            cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("`rag chat --share` without a password was not refused: it started the page")
    assert proc.returncode == 2 and "--share" in err and "password" in err
    from core.errors import RagError
    from ui.app import _check_exposure

    with pytest.raises(RagError, match="public link"):
        _check_exposure("127.0.0.1", None, share=True)
    assert _check_exposure("127.0.0.1", "ann:secret", share=True) == ("ann", "secret")


def test_the_password_can_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    from core.errors import RagError
    from rag.cli import auth_from, build_parser

    secret = tmp_path / "auth"
    secret.write_text("ann:s3cret pass\n")
    parse = build_parser().parse_args
    assert auth_from(parse(["chat", "--auth-file", str(secret)])) == "ann:s3cret pass"
    monkeypatch.setenv("RAG_AUTH", "bob:hunter2")
    assert auth_from(parse(["chat"])) == "bob:hunter2"
    assert auth_from(parse(["chat", "--auth", "cy:x"])) == "cy:x"  # still accepted (it shows in `ps`)
    secret.write_text("")
    with pytest.raises(RagError, match="is empty"):
        auth_from(parse(["chat", "--auth-file", str(secret)]))
    with pytest.raises(RagError, match="Cannot read"):
        auth_from(parse(["chat", "--auth-file", str(tmp_path / "missing")]))


def test_a_page_without_an_article_logs_no_stray_warning(caplog):
    """Before: `rag add` of such a page printed "WARNING discarding data: None" (trafilatura's log) beside our
    message."""
    from embeddings.convert import ConversionError, convert

    for page in ("<!DOCTYPE html><html><head><title>Photo</title></head><body><img src=a.png></body></html>",
                 "<html><body></body></html>"):
        with pytest.raises(ConversionError, match="no article text"):
            convert("photo.html", page.encode())
    assert [r.getMessage() for r in caplog.records if r.name.startswith(("trafilatura", "htmldate"))] == []
