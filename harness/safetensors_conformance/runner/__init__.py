"""Running implementations against the corpus: isolation, verdicts, results."""

from __future__ import annotations

from .results import Result, Results
from .run import Settings, run
from .verdicts import Judgement, Verdict, judge

__all__ = ["Judgement", "Result", "Results", "Settings", "Verdict", "judge", "run"]
