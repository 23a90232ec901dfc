"""The names a user chooses among: the engines that hold the graph and the result formats.

Kept apart from the modules that implement them (:mod:`clinical_kg.store`,
:mod:`clinical_kg.results`) and free of imports, so that the command line can offer them (and
``ckg --help`` list them) without loading rdflib or Oxigraph.
"""

DEFAULT_STORE = "oxigraph"
STORE_NAMES = ("memory", "oxigraph")  # the keys of clinical_kg.store.STORES (a test keeps them equal)
REMOTE_STORE = "sparql"  # an external SPARQL server (--endpoint): clinical_kg.remote
RESULT_FORMATS = ("table", "csv", "tsv", "json")  # SELECT and ASK results
GRAPH_FORMATS = ("turtle", "nt", "json-ld", "xml")  # CONSTRUCT and DESCRIBE results
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a curator command waits for the data folder's lock (--lock-timeout)
