"""The collection in the page: a table of the articles, a timeline, and correcting or removing an added one.

Functions over a ``rag.service.Service``; ``build`` and ``wire`` put them on the page.
"""
from __future__ import annotations

from types import SimpleNamespace

from core.dates import human_date
from core.errors import RagError
from rag.collection import ArticleRow
from rag.service import Service
from ui import render

COLUMNS = ["Date", "Date from", "Title", "Passages", "Name", "Added", "Original file"]


def table(articles: list[ArticleRow]) -> list[list]:
    """One row per article, newest first; ISO dates so that sorting the column sorts by time."""
    return [[r.date or "undated", r.date_origin or "", r.title, r.passages, r.source + (" (shipped)" if r.read_only else ""),
             (r.added or "").replace("T", " "), r.original or ""] for r in articles]


def timeline(articles: list[ArticleRow]):
    """The dated articles as points on a time axis (hover: title and date), coloured by where the date came from."""
    import pandas as pd

    rows = [r for r in articles if r.date]
    return pd.DataFrame({"date": pd.to_datetime([_full(r.date) for r in rows]),
                         "passages": [r.passages for r in rows], "title": [r.title for r in rows],
                         "when": [human_date(r.date) for r in rows], "date from": [r.date_origin or "" for r in rows]})


def _full(date: str) -> str:
    return date + "-01" * (2 - date.count("-"))  # "2025-03" -> "2025-03-01"


def choices(articles: list[ArticleRow]) -> list[tuple[str, str]]:
    """The articles a user may correct or remove (the ones they added), as (label, name)."""
    return [(f"{r.title} ({r.source})", r.source) for r in articles if not r.read_only]


def remove(service: Service, source: str | None) -> str:
    if not source:
        return "Choose one of your articles first."
    try:
        title = service.documents()[source].title if source in service.documents() else source
        service.remove(source)
        return f"✅ Removed {render.esc(title)}; answers no longer cite it."
    except RagError as exc:
        return f"⚠️ {render.esc(str(exc))}"


def save(service: Service, source: str | None, title: str, date: str) -> str:
    if not source:
        return "Choose one of your articles first."
    try:
        service.set_meta(source, title=(title or "").strip() or None, date=(date or "").strip() or None)
        doc = service.documents()[source]
        return f"✅ Saved: {render.esc(doc.title)}, {render.esc(human_date(doc.date))}."
    except RagError as exc:
        return f"⚠️ {render.esc(str(exc))}"


def build(gr) -> SimpleNamespace:
    with gr.Accordion("The collection", open=False, elem_id="collection"):
        grid = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, elem_id="collection-table",
                            max_height=360)
        plot = gr.ScatterPlot(x="date", y="passages", color="date from", tooltip=["title", "when", "passages"],
                              x_title="Article date", y_title="Passages", label="Timeline of the articles",
                              elem_id="timeline", height=220, x_axis_format="%b %Y")
        gr.Markdown("Correct or remove an article you added (shipped articles are read-only):")
        with gr.Row():
            pick = gr.Dropdown(label="Article", choices=[], elem_id="pick")
            title = gr.Textbox(label="New title (empty: keep)", elem_id="new-title")
            date = gr.Textbox(label="New date (YYYY, YYYY-MM or YYYY-MM-DD)", elem_id="new-date")
        with gr.Row():
            save_btn = gr.Button("Save title and date", elem_id="save-article")
            remove_btn = gr.Button("Remove article", variant="stop", elem_id="remove-article")
        status = gr.Markdown(elem_id="manage-status")
    return SimpleNamespace(grid=grid, plot=plot, pick=pick, title=title, date=date, save=save_btn,
                           remove=remove_btn, status=status)


def wire(gr, service: Service, m: SimpleNamespace, header, line) -> callable:
    """Connect the controls; returns ``refresh`` (header, table, timeline, choices) for other events to chain."""
    def refresh():
        articles = service.articles()  # once per refresh, for the table, the timeline and the choices
        return line(), table(articles), timeline(articles), gr.update(choices=choices(articles), value=None)

    views = [header, m.grid, m.plot, m.pick]
    private = dict(api_visibility="private")
    m.save.click(lambda s, t, d: save(service, s, t, d), [m.pick, m.title, m.date], m.status,
                 concurrency_id="index", **private).then(refresh, None, views, **private)
    m.remove.click(lambda s: remove(service, s), m.pick, m.status, concurrency_id="index",
                   **private).then(refresh, None, views, **private)
    return refresh, views
