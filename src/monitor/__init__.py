"""Taiwan–US chip-trade monitor: the pipeline as a plain library.

Stages, each in its own module: ``feeds`` (fetch and parse feeds), ``fetch`` (safe
HTTP), ``extract`` (article text and metadata), ``urls`` (canonical URLs), ``dedup``,
``relevance``, ``storage``, ``signals`` (keyword counts and change detection),
``alerts`` (compose and send), ``pipeline`` (the stages in order), ``cli``.
"""

from __future__ import annotations

__version__ = "0.1.0"
