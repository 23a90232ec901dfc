"""``ckg serve``: a read-only SPARQL 1.1 Protocol endpoint, the catalogue over HTTP, a query page.

Routes:

- ``/sparql``: the SPARQL 1.1 Protocol for queries (GET ``query=``, POST urlencoded, POST
  ``application/sparql-query``; ``default-graph-uri``/``named-graph-uri`` over the graphs of
  the store), results in SPARQL JSON, XML, CSV or TSV and graphs in Turtle, N-Triples, JSON-LD
  or RDF/XML by content negotiation; the service description when there is no query.
- ``/queries`` lists the catalogue (JSON); ``/queries/NAME?PARAM=VALUE`` runs one, with the
  same binding and errors as ``ckg query``.
- ``/`` the query page, ``/entity?iri=IRI`` a page per entity, ``/static/`` their assets (shipped
  in the package, nothing loaded from elsewhere); ``/rdf-graph-store`` the Graph Store
  Protocol (GET; writes only with ``--allow-update``); ``/health``.

Safe by default (shared/reference/security-findings.md): queries only; updates and Graph Store
writes refused (403/405, T18) unless started with ``--allow-update`` and a token, and then
applied to the endpoint's in-memory copy only, never to the curated files; ``SERVICE``,
``FROM`` and graphs from URLs refused (T1, T3); each query runs in a sandboxed worker process
(:mod:`clinical_kg.query_worker`) that is killed at the deadline (T10, T11); bounded rows,
bodies, URLs and concurrency, 503 + Retry-After when every worker stays busy for
``queue_wait`` seconds (T12, T19); loopback only unless ``--host`` says otherwise. The front
end never evaluates a query itself: a fixed pool of threads, one per worker, waits on the
workers' pipes (no thread per request).

- :mod:`clinical_kg.server_settings`: the settings and their defaults (light, for ``ckg serve --help``);
- :mod:`~clinical_kg.server.pool`: the pool of sandboxed query workers;
- :mod:`~clinical_kg.server.app`: the application, its routes, and running it;
- :mod:`~clinical_kg.server.pages`: the entity page.
"""

from clinical_kg.server.app import create_app, serve
from clinical_kg.server_settings import Settings

__all__ = ["Settings", "create_app", "serve"]
