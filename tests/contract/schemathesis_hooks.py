"""Loaded by schemathesis (schemathesis.toml: hooks).

Hypothesis describes the filters it builds by parsing their lambdas' source
with `ast.parse`; on CPython 3.11 that parse sometimes fails with
"SystemError: AST constructor recursion depth mismatch" (a CPython bug,
fixed in 3.12), which schemathesis reports as an error of the operation it
was generating for. The description only names the filter in messages, so
a generic one does instead.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _lambda_description(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources.lambda_description = _lambda_description
