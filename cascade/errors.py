"""The one exception type that means "the user's input is wrong", not "cascade has a bug".

The CLI prints a :class:`CascadeError` as a single line and exits with status 2; anything else is
an unexpected failure (status 1). Messages name the file and say what to do about it.
"""


class CascadeError(Exception):
    """Bad input: a missing or malformed file, an unknown name, an unusable checkpoint."""


def short_reason(exc: BaseException) -> str:
    """An exception as one short line (its type and the first line of its text), for error messages
    that must stay one line whatever a library put in its exception."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:120] if text else ''}"
