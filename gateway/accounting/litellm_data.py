"""Where the installed litellm keeps the data the gateway reads (its price map, tokenizer files).

Found without importing litellm: the import costs seconds and ~200 MB, and the gateway only needs files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def litellm_package_dir() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def litellm_tokenizer_dir() -> Path | None:
    """The folder of tiktoken cache files bundled with litellm (cl100k_base, o200k_base, p50k_base)."""
    root = litellm_package_dir()
    folder = root / "litellm_core_utils" / "tokenizers" if root else None
    return folder if folder is not None and folder.is_dir() else None
