"""The web page: a Gradio edge over ``rag.service``."""
