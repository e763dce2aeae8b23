"""The project's exceptions. Each carries a message a user can act on, and optionally a ``hint``.

The message never names a CLI flag or a page control: the edges (``rag/cli.py``, ``ui/``) turn ``hint`` into
their own words ("run `rag index --rebuild`" in the terminal, nothing extra in the page).
"""
from __future__ import annotations

from enum import Enum


class Hint(Enum):
    """What the user can do next; each edge words it for itself."""

    REBUILD_INDEX = "rebuild_index"
    BUILD_INDEX = "build_index"
    OTHER_INDEX_DIR = "other_index_dir"
    RAISE_TIMEOUT = "raise_timeout"
    LOCAL_MODEL = "local_model"
    GIVE_MODEL = "give_model"


class RagError(Exception):
    """Base class: ``str(err)`` says what went wrong and what to do; ``hint`` names the edge's remedy."""

    def __init__(self, message: str, hint: Hint | None = None):
        super().__init__(message)
        self.hint = hint


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class CorpusError(RagError):
    """The article folder is missing, empty or holds no readable article."""


class IndexStateError(RagError):
    """The saved index is missing, corrupt, partial or built differently."""


class ModelError(RagError):
    """The LLM file is missing or damaged, or the endpoint cannot be reached."""


class GenerationError(RagError):
    """Generation failed or ran past its time limit."""
