"""Ingestion: read articles, chunk them, embed the chunks, index the vectors, keep it all on disk."""
