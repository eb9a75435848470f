"""Light and dark looks: Bokeh's own minimal themes plus the few colours charts pick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bokeh.themes import Theme, built_in_themes

ThemeName = Literal["light", "dark"]


@dataclass(frozen=True)
class ReportTheme:
    name: ThemeName
    bokeh: str  # the built-in Bokeh theme applied to every model
    background: str
    text: str
    muted: str
    grid: str
    up: str
    down: str
    accent: str
    benchmark: str
    drawdown: str
    roll: str
    palette: tuple[str, ...]

    def bokeh_theme(self) -> Theme:
        return built_in_themes[self.bokeh]

    def css(self) -> str:
        """Styles for the HTML tables inside Divs (their shadow DOM ignores page CSS)."""
        return f"""
:host {{ color: {self.text}; font: 13px/1.45 system-ui, sans-serif; }}
h3 {{ margin: 14px 0 6px; font-size: 14px; }}
table {{ border-collapse: collapse; margin-bottom: 10px; min-width: 320px; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid {self.grid}; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
th {{ color: {self.muted}; font-weight: 600; }}
code {{ font-size: 12px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 10px; }}
.card {{ border: 1px solid {self.grid}; border-radius: 6px; padding: 8px 12px; min-width: 120px; }}
.card b {{ display: block; font-size: 18px; }}
.card span {{ color: {self.muted}; font-size: 12px; }}
"""


LIGHT = ReportTheme(
    name="light",
    bokeh="light_minimal",
    background="#ffffff",
    text="#1f2328",
    muted="#57606a",
    grid="#d8dee4",
    up="#1a9850",
    down="#d73027",
    accent="#1f77b4",
    benchmark="#8c8c8c",
    drawdown="#d73027",
    roll="#7b3294",
    palette=("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"),
)
DARK = ReportTheme(
    name="dark",
    bokeh="dark_minimal",
    background="#20262b",
    text="#e6edf3",
    muted="#9aa4ae",
    grid="#3b444c",
    up="#4ec07a",
    down="#f0605a",
    accent="#58a6ff",
    benchmark="#a0a0a0",
    drawdown="#f0605a",
    roll="#c2a5ff",
    palette=("#58a6ff", "#ffa657", "#7ee787", "#d2a8ff", "#ff7b72", "#f778ba", "#56d4dd"),
)
THEMES: dict[str, ReportTheme] = {"light": LIGHT, "dark": DARK}


def get_theme(name: str) -> ReportTheme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; use one of: {', '.join(THEMES)}") from None
