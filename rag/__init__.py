"""Answering: retrieve, prompt, generate, check citations; the service the CLI and the page call."""
