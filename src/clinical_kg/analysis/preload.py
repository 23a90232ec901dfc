"""Imported by the endpoint's fork server before it forks the query workers (see
:class:`clinical_kg.server.pool.WorkerPool`): matplotlib, when it is installed, so that every
worker starts with it and none imports it within a drawing's time limit (importing it takes
seconds on a busy machine)."""

import importlib.util

if importlib.util.find_spec("matplotlib") is not None:
    from clinical_kg.analysis.draw import pyplot

    pyplot()
