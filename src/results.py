"""Which models are DeepSSETracer results, and of which map, in the session and in session files.

A result's parent model (``<map> DeepSSETracer``) and its helix and sheet maps carry
``deepssetracer_source``: a callable returning the map they were predicted from, or None once
that map is closed (a weak reference). The command refuses to predict a result (`result_source`)
and a rerun replaces the map's earlier result (`earlier_results`) by these marks.

ChimeraX saves of a model only what its own ``take_snapshot`` writes, so the marks would be lost
by ``save s.cxs`` / ``open s.cxs``. `ResultLinks`, a session state manager added with the first
result, saves them as ``(result model, map or None)`` pairs, references that ChimeraX resolves
to the restored models, and marks the restored models again when the session is opened
(``combine true`` too). A session holding no result saves nothing of it, so only a session with
results needs the bundle to open.
"""

from __future__ import annotations

import weakref

from chimerax.core.state import StateManager

ATTR = "deepssetracer_source"
STATE_TAG = "DeepSSETracer results"
STATE_VERSION = 1


def _closed():
    """The source of a result whose map was closed (before a session was saved)."""
    return None


def mark_result(model, source) -> None:
    """Mark `model` as a result predicted from `source` (a ``Volume``, or None: closed)."""
    setattr(model, ATTR, _closed if source is None else weakref.ref(source))
    session = model.session
    try:
        session.get_state_manager(STATE_TAG)
    except KeyError:
        session.add_state_manager(STATE_TAG, ResultLinks(session))


def result_source(model):
    """For a model of a DeepSSETracer result (the parent or a model under it): ``(True, map)``,
    the map it was predicted from, or None once that is closed. For any other model:
    ``(False, None)``."""
    for m in (model, getattr(model, "parent", None)):
        ref = getattr(m, ATTR, None)
        if ref is not None:
            source = ref()
            return True, (None if source is None or source.deleted else source)
    return False, None


def is_result(model) -> bool:
    """True for a model of a DeepSSETracer result (the parent or a model under it)."""
    return result_source(model)[0]


def result_parent(model):
    """The parent model of the result `model` is (or is a model under), or None."""
    for m in (model, getattr(model, "parent", None)):
        if getattr(m, ATTR, None) is not None and getattr(m.parent, ATTR, None) is None:
            return m
    return None


def earlier_results(volume) -> list:
    """The parent models of the DeepSSETracer results of `volume` still open, in id order."""
    found = [m for m in _marked(volume.session) if getattr(m, ATTR)() is volume
             and getattr(m.parent, ATTR, None) is None]
    return sorted(found, key=lambda m: m.id)


def _marked(session) -> list:
    from chimerax.core.models import Model

    return [m for m in session.models.list(type=Model) if getattr(m, ATTR, None) is not None]


class ResultLinks(StateManager):
    """Saves and restores which models are results of which map (see the module's doc)."""

    def __init__(self, session):
        self._session = weakref.ref(session)

    def _links(self) -> list:
        session = self._session()
        if session is None:
            return []
        links = []
        for m in _marked(session):
            if not getattr(m, "_save_in_session", True):  # not in the file: nothing to mark
                continue
            source = getattr(m, ATTR)()
            if source is not None and (source.deleted
                                       or not getattr(source, "_save_in_session", True)):
                source = None
            links.append([m, source])
        return links

    def include_state(self) -> bool:
        return bool(self._links())

    def take_snapshot(self, session, flags):
        return {"version": STATE_VERSION, "links": self._links()}

    @classmethod
    def restore_snapshot(cls, session, data):
        if data.get("version", 0) > STATE_VERSION:
            session.logger.warning("DeepSSETracer: the session was saved by a newer version of "
                                   "the bundle; its results are not recognised as results")
        else:
            for model, source in data.get("links", []):
                if model is not None and not model.deleted:  # None: a model not restored
                    setattr(model, ATTR, _closed if source is None or source.deleted
                            else weakref.ref(source))
        try:
            existing = session.get_state_manager(STATE_TAG)
        except KeyError:
            existing = None
        # 'open s.cxs combine true' keeps this session's manager (its results' marks stay)
        return existing if isinstance(existing, cls) else cls(session)

    def reset_state(self, session):
        """Nothing to clear: the marks live on the models, which the session closes."""
