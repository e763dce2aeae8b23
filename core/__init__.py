"""The core every stage may import: records, errors, settings, text and date helpers. It imports no stage."""
