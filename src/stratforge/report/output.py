"""Turning report layouts into pages: standalone HTML, embeddable JSON, notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bokeh.embed import file_html, json_item
from bokeh.models import LayoutDOM
from bokeh.resources import Resources
from jinja2 import Template

from stratforge.report.theme import get_theme

PAGE = Template(
    """{% extends base %}
{% block inner_head %}
{{ super() }}
<style>
  html, body { margin: 0; background: {{ background }}; color: {{ text }};
               font-family: system-ui, sans-serif; }
  body { padding: 12px 18px; }
  h1 { font-size: 18px; font-weight: 600; margin: 0 0 10px; }
</style>
{% endblock %}
{% block contents %}
<h1>{{ heading }}</h1>
{{ super() }}
{% endblock %}
"""
)


def standalone_html(
    layout: LayoutDOM,
    *,
    title: str,
    theme: str = "light",
    resources: Resources | None = None,
) -> str:
    """A complete page. With the default (inline) resources it needs no network at all;
    a server passes resources pointing at the BokehJS files it serves itself."""
    look = get_theme(theme)
    return file_html(
        layout,
        resources or Resources(mode="inline"),
        title=title,
        template=PAGE,
        template_variables={"heading": title, "background": look.background, "text": look.text},
        theme=look.bokeh_theme(),
    )


def write_html(layout: LayoutDOM, path: str | Path, *, title: str, theme: str = "light") -> Path:
    target = Path(path)
    target.write_text(standalone_html(layout, title=title, theme=theme), encoding="utf-8")
    return target


def embed_json(layout: LayoutDOM, *, theme: str = "light", target: str | None = None) -> Any:
    """``json_item`` output, for ``Bokeh.embed.embed_item(item, element_id)`` on any page."""
    item = json_item(layout, target=target, theme=get_theme(theme).bokeh_theme())
    return json.loads(json.dumps(item))


def show(layout: LayoutDOM, *, theme: str = "light") -> None:
    """Display in Jupyter (BokehJS loaded inline, so it works offline)."""
    from bokeh.io import curdoc, output_notebook
    from bokeh.io import show as bokeh_show

    output_notebook(resources=Resources(mode="inline"), hide_banner=True)
    curdoc().theme = get_theme(theme).bokeh_theme()
    bokeh_show(layout)
