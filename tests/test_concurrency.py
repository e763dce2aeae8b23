"""Two processes on one collection: real `rag add` processes started together, a page served by a real Gradio
server while another process adds, a writer waiting for the lock, a holder killed with SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS, free_port

PLACES = ["Bergen", "Gdansk", "Tromso", "Narvik", "Aarhus", "Turku", "Riga", "Tallinn", "Malmo", "Kiel"]


def article(side: str, i: int) -> str:
    """A short article only its own question finds: "Side b, article 7: the ferry to Riga carried 107 ..."."""
    place = PLACES[i % len(PLACES)]
    return (f"Side {side}, article {i}: the harbour of {place} handled {100 + i} ships of the {side}-line fleet "
            f"in one week, the port office said. Officials in {place} expect more traffic next summer.\n")


def rag_env() -> dict:
    return os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def rag(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rag", *args], cwd=ROOT, env=rag_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def texts_of(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in folder.glob("*.txt")}


def catalog_of(folder: Path) -> dict[str, dict]:
    return {a["file"]: a for a in json.loads((folder / "catalog.json").read_text())["articles"]}


@pytest.mark.slow
def test_two_rag_add_started_together_keep_every_article(tmp_path):
    """Issue 24 (3, 4): 2 x 30 files with the same names; before, 45 articles were kept and 15 lost."""
    given = {}
    for side in ("a", "b"):
        folder = tmp_path / side
        folder.mkdir()
        for i in range(1, 31):
            (folder / f"n{i}.txt").write_text(article(side, i), encoding="utf-8")
            given[f"{side}{i}"] = article(side, i)
    data = tmp_path / "data"
    procs = [rag("add", str(tmp_path / side), "--data-dir", str(data)) for side in ("a", "b")]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("Added 30 article(s)" in out for out, _ in outs)
    folder = data / "articles"
    kept = texts_of(folder)
    assert sorted(kept.values()) == sorted(given.values())  # 60 articles, none overwritten, none twice
    catalog = catalog_of(folder)
    assert set(catalog) == {f"{s}.txt" for s in kept}  # every article has its entry ...
    assert all(e["title"] and e["added"] for e in catalog.values())  # ... with its title and when it was added
    from core.settings import Settings, default_index_dir
    from embeddings.ingest import load_index

    index = load_index(Settings.load(corpus_dirs=(SEEDS, folder), index_dir=default_index_dir((SEEDS, folder))))
    assert set(kept) <= set(index.documents) and len(index.documents) == 60 + 5  # and all of them indexed


def test_a_second_writer_waits_and_says_so(tmp_path):
    from rag.collection import changing
    from rag.service import WAITING

    folder = tmp_path / "data" / "articles"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "kiel.txt").write_text(article("w", 1), encoding="utf-8")
    with changing(folder):  # another writer holds the collection
        proc = rag("add", str(tmp_path / "in"), "--data-dir", str(tmp_path / "data"))
        told = next((line for line in proc.stderr if WAITING in line), None)  # after a second of waiting
        assert told is not None
        time.sleep(1)
        assert proc.poll() is None and not (folder / "kiel.txt").exists()  # it waits, writing nothing
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Added 1 article(s): kiel" in out, err


HOLDER = """
import sys, time
from pathlib import Path
from rag.collection import changing
with changing(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_writer_never_leaves_the_lock_behind(tmp_path):
    from core.lock import is_held
    from rag.collection import changing

    folder = tmp_path / "articles"
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT, env=rag_env(),
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "held" and is_held(folder / ".lock")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not is_held(folder / ".lock")  # released by the kernel with the process
        t = time.perf_counter()
        with changing(folder):
            assert time.perf_counter() - t < 0.5  # the next writer takes it at once


# ---------- the page while another process changes the collection ----------

@pytest.fixture(scope="module")
def page(tmp_path_factory, tiny_model):
    from core.settings import Settings, default_index_dir
    from ui import handlers
    from ui.app import serve

    base = tmp_path_factory.mktemp("page")
    folder = base / "data" / "articles"
    settings = Settings.load(model_path=tiny_model, max_tokens=8,
                             index_dir=default_index_dir((SEEDS, folder)))  # the index `rag add` finds too
    svc = handlers.ChatService(settings, upload_dir=folder)
    svc.start()
    port = free_port()
    demo = serve(svc, "127.0.0.1", port, block=False)
    yield svc, f"http://127.0.0.1:{port}/", base
    demo.close()


def cli_add(base: Path, name: str, text: str) -> str:
    folder = base / f"cli-{time.monotonic_ns()}"
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    proc = rag("add", str(folder / name), "--data-dir", str(base / "data"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def test_the_page_answers_from_articles_another_process_added(page):
    """Issue 24 (2): before, "The articles don't mention Gdansk." until the page restarted."""
    from gradio_client import Client

    svc, url, base = page
    before, llm = len(svc.documents()), svc.engine.llm
    cli_add(base, "gdansk.txt", "GDANSK - The Westerplatte ferry terminal in Gdansk opened a second berth for "
                                "Baltic car ferries, the city's port authority said on Monday.\n")
    data = Client(url, verbose=False).predict("What did the Westerplatte ferry terminal open?", 3, api_name="/ask")
    assert data["retrieved"][0]["source"] == "gdansk"  # the question saw the newer index, without a restart
    rows = svc.articles()  # what the page's header and table show on its next load
    assert "gdansk" in {r.source for r in rows} and len(svc.documents()) == before + 1
    assert svc.engine._llm is llm  # the loaded model was kept


def test_an_upload_in_the_page_never_overwrites_what_another_process_added(page, tmp_path):
    """Issue 24 (1): before, the page's upload of another harbour.txt silently replaced the CLI's."""
    from ui import handlers

    svc, _, base = page
    bergen = ("BERGEN - The harbour of Bergen will get a new cruise quay by 2027, the city council decided "
              "after a long debate about cruise traffic.\n")
    cli_add(base, "harbour.txt", bergen)
    upload = tmp_path / "harbour.txt"
    upload.write_text("NARVIK - Ore shipments through the harbour of Narvik rose by a fifth this spring, the "
                      "mining company reported.\n", encoding="utf-8")
    message = handlers.add_files(svc, [str(upload)])  # what the page's upload button calls
    assert "already called 'harbour'" in message and "harbour-2" in message
    folder = base / "data" / "articles"
    assert (folder / "harbour.txt").read_text(encoding="utf-8") == bergen
    assert "Narvik" in (folder / "harbour-2.txt").read_text(encoding="utf-8")
    found = svc.find("When will Bergen get a new cruise quay?")
    assert found.retrieval.hits[0].chunk.source == "harbour"


def test_an_upload_waits_for_another_writer_and_says_so(page, tmp_path):
    import threading

    from rag.service import WAITING
    from ui import handlers

    svc, _, base = page
    folder = base / "data" / "articles"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT, env=rag_env(),
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    upload = tmp_path / "kiel.txt"
    upload.write_text(article("k", 3), encoding="utf-8")
    told, result = [], []
    adding = threading.Thread(target=lambda: result.append(
        handlers.add_files(svc, [str(upload)], lambda stage, done, total: told.append(stage))))
    adding.start()
    time.sleep(2.5)
    assert adding.is_alive() and WAITING in told  # the page's progress line says why it waits
    assert not (folder / "kiel.txt").exists()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    adding.join(timeout=300)
    assert "Added kiel" in result[0]


@pytest.mark.browser
def test_browser_page_shows_what_another_process_added_and_waits_for_it(page, tmp_path):
    """On a page load the header counts the article `rag add` just added; an upload while another process holds
    the collection says that it waits, then goes through."""
    from rag.service import WAITING
    from tests.test_ui import browser_or_skip

    svc, url, base = page
    exe, sync_api = browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(url)
        before = len(svc.documents())
        tab.get_by_text(f"{before} articles").first.wait_for(timeout=60_000)
        cli_add(base, "turku.txt", article("t", 5))
        tab.reload()
        tab.get_by_text(f"{before + 1} articles").first.wait_for(timeout=60_000)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(base / "data" / "articles")], cwd=ROOT,
                                  env=rag_env(), stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "held"
        upload = tmp_path / "aarhus.txt"
        upload.write_text(article("aa", 4), encoding="utf-8")
        tab.get_by_text("Add articles").click()
        tab.locator("#upload input[type=file]").set_input_files(str(upload))
        tab.locator("#add-files").click()
        try:
            tab.get_by_text(WAITING[:40]).first.wait_for(timeout=60_000)  # the page says why nothing happens yet
        finally:
            tab.screenshot(path=str(ROOT / "test-output" / "page_waits.png"), full_page=True)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        tab.locator("#upload-status").get_by_text("Added aarhus").wait_for(timeout=120_000)
        browser.close()
