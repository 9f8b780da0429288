"""incidentkb: a knowledge base of ML-training incidents, each backed by an executable regression."""

from __future__ import annotations

__version__ = "0.1.0"
