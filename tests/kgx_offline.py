"""Run the ``kgx`` command line offline: ``python tests/kgx_offline.py [--curie-map FILE] transform|validate ...``.

kgx fetches the Biolink schema and JSON-LD contexts from GitHub when it is imported. This gives it
the ones the ``biolink-model`` package ships instead, and turns any network use into an error, then
runs kgx's own click command with the remaining arguments (its exit status is kgx's). With
``--curie-map FILE``, the prefixes of a graph metadata file's ``curie_map`` are added to Biolink's
context, as kgx does for an SSSOM file's ``curie_map``.
"""

from __future__ import annotations

import json
import socket
import sys
from importlib import resources


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("kgx tried to use the network")


def main(argv: list[str]) -> None:
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]
    extra: dict[str, str] = {}
    if argv[:1] == ["--curie-map"]:
        with open(argv[1], encoding="utf-8") as stream:
            extra = json.load(stream)["curie_map"]
        argv = argv[2:]
    from bmt import Toolkit

    package = resources.files("biolink_model")
    Toolkit.__init__.__defaults__ = (str(package / "schema" / "biolink_model.yaml"), {"predicate mappings": []})
    import kgx.config

    prefixes = json.loads((package / "prefixmaps" / "biolink-model-prefix-map.json").read_text(encoding="utf-8"))
    kgx.config.jsonld_context_map["biolink"] = {**prefixes, **extra}
    kgx.config.jsonld_context_map["monarch_context"] = {}
    kgx.config.jsonld_context_map["obo_context"] = {}
    from kgx.cli import cli

    cli(argv, prog_name="kgx")


if __name__ == "__main__":
    main(sys.argv[1:])
