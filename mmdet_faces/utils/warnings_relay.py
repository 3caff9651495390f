"""Hand recorded warnings of the project's own kinds to a log or a stream."""
import warnings
from typing import Callable, Iterable

__all__ = ['relay_warnings']


def relay_warnings(caught: Iterable[warnings.WarningMessage], category: type,
                   report: Callable[[str], None]) -> None:
    """Report each warning of ``category`` through ``report``; issue every
    other recorded warning again, as Python would have shown it.

    Args:
        caught (Iterable[warnings.WarningMessage]): what a
            ``warnings.catch_warnings(record=True)`` block recorded.
        category (type): the warning class (and subclasses) to report.
        report (Callable[[str], None]): called with each such message.
    """
    for w in caught:
        if issubclass(w.category, category):
            report(str(w.message))
        else:
            warnings.warn_explicit(
                w.message, w.category, w.filename, w.lineno, source=w.source)
