"""The jinja2 environment of the HTML reports: autoescaping on, undefined names are errors.

Every string from user data (class, suite, model and file names, reasons) goes through jinja's
escaping. The only markup inserted unescaped is what tsrgate itself generated: matplotlib's SVG
(which escapes its text) and base64 data URIs, marked with `Markup` where they are made.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

from gate.report.grouping import brief_note, p_text
from gate.report.sections import direction_class, fmt, fmt_ci, fmt_delta


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _short(value: str | None, length: int = 12) -> str:
    return "n/a" if not value else value[:length]


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("gate.report", "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=fmt, delta=fmt_delta, ci=fmt_ci, pct=_pct, short=_short, direction_class=direction_class,
                       p_text=p_text, brief_note=brief_note)
    return env


def render_template(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def trusted_markup(markup: str) -> Markup:
    """Mark tsrgate-generated markup (plots) as safe for the template; never call this on user strings."""
    return Markup(markup)
