"""Templates that are not HTML (text messages, email subjects and plain-text bodies) are rendered
without HTML escaping: a support answer "x < y & z" must not arrive as "x &lt; y &amp; z"."""

from typing import Any

from django.template import Context
from django.template.loader import get_template


def plain_text_render(template_name: str, context: dict[str, Any]) -> str:
    # The engine's own Template under the backend wrapper renders with a Context we build.
    return get_template(template_name).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]
