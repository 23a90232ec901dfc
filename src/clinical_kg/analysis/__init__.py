"""Analyses of the graph's shape with networkx, over one conversion of the store (:mod:`.network`).

- :mod:`.stats`: counts by class and relation, and the network's size (``ckg stats``);
- :mod:`.hubs`: degree and betweenness centrality (``ckg hubs``);
- :mod:`.paths`: explanation paths between two terms with the evidence of every hop (``ckg path``);
- :mod:`.differential`: conditions ranked by how well they explain symptoms (``ckg differential``);
- :mod:`.draw`: pictures of a neighbourhood and of the vocabulary (``ckg draw``; matplotlib).
"""

from clinical_kg.analysis.stats import statistics

__all__ = ["statistics"]
