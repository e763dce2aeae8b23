"""The evaluators' code: question files, the runner, scoring, reports, comparisons and the perf suite.

It imports the product; the product never imports it (only the CLI edge dispatches ``rag bench`` here).
"""
