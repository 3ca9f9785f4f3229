"""The demo application, defined by an application definition file."""

from __future__ import annotations

from pathlib import Path

VISION_FILE = Path(__file__).parent / "vision.json"
