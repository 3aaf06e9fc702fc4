"""One classifier for the whole module: building it loads the lexicon and compiles the patterns."""

from __future__ import annotations

import pytest

from gateway.classify import Classifier
from gateway.classify.sensitivity import SensitivityDetector


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier()


@pytest.fixture(scope="session")
def detector() -> SensitivityDetector:
    return SensitivityDetector()
