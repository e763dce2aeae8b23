"""The project's exceptions. Each carries a message a user can act on.

Library code raises these; only the edges (CLI, web page) turn them into friendly text.
"""


class RagError(Exception):
    """Base class: ``str(err)`` says what went wrong and what to do."""


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
