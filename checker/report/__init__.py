"""Renderers of traces: a terminal table (text), one HTML page with an SVG sequence
diagram (html) and a Mermaid sequence diagram (mermaid). Each takes a `checker.trace.Trace`
and returns a string; none of them prints. `common.analyse` is what they share."""
from checker.report.html import render_html
from checker.report.mermaid import render_mermaid
from checker.report.text import render_text, wants_color

__all__ = ["render_html", "render_mermaid", "render_text", "wants_color"]
