"""`refuse_unknown`: the one check and message for settings a config does not know.

A typo in a JSON config (``"depht"``, ``"class_weight"``) must stop the run when the config is
read, naming the key and what is known, not reach a constructor as a ``TypeError`` mid-run.
"""

from __future__ import annotations

from collections.abc import Iterable


def refuse_unknown(given: Iterable[str], known: Iterable[str], where: str) -> None:
    """Raise ``ValueError("unknown <where> keys: a, b (known: …)")`` if `given` has keys that
    `known` lacks."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"unknown {where} keys: {', '.join(unknown)} (known: "
                         f"{', '.join(known)})")
