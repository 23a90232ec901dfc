"""Cut a process that runs user queries off from the network, and bound its waits and memory.

Every SPARQL engine we embed follows ``SERVICE`` to the network, and pyoxigraph cannot be told
not to (shared/reference/security-findings.md, T1). The query check refuses ``SERVICE``; this is
the second wall: the process that evaluates a user's query (an endpoint worker, ``ckg sparql``)
moves into a network namespace of its own, where no interface is up, so even a query that got
past the check reaches nothing, loopback included.

It fails closed (T21): :func:`isolate_from_network` raises :class:`IsolationError` when the
namespace cannot be made (no ``CAP_SYS_ADMIN`` and no unprivileged user namespaces, as in many
containers), and the callers then refuse to run queries unless the user explicitly allows
network access.
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import os
import resource
import socket
from collections.abc import Callable
from typing import TypeVar

from clinical_kg.errors import ClinicalKGError

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000

ISOLATION_HINT = (
    "run it as root or with CAP_SYS_ADMIN, or allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0); "
    "where the network is already cut off another way (a container with --network none), "
    "pass --allow-network-access"
)


class IsolationError(ClinicalKGError):
    """The process cannot be cut off from the network here."""


T = TypeVar("T")


def run_isolated(job: Callable[[], T], allow_network_access: bool = False, warn: Callable[[str], None] = print) -> T:
    """Run ``job`` in a child process cut off from the network and return what it returns.

    Its ClinicalKGError is raised here. Where the child cannot be isolated, it raises
    IsolationError, unless ``allow_network_access`` (then ``warn`` is told, and the job runs).
    """
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)

    def isolated() -> None:
        try:
            try:
                isolate_from_network()
            except IsolationError as exc:
                if not allow_network_access:
                    raise
                child.send(("warning", f"running with network access: {exc.message}"))
            child.send(("ok", job()))
        except ClinicalKGError as exc:
            child.send(("error", exc))
        except Exception as exc:  # the engine's own errors (a SERVICE that met no network, for one)
            child.send(("error", ClinicalKGError(f"the query failed: {type(exc).__name__}: {exc}")))

    process = context.Process(target=isolated)
    process.start()
    child.close()
    try:
        while True:
            try:
                kind, value = parent.recv()
            except EOFError:
                process.join()
                raise ClinicalKGError(f"the query process stopped (exit status {process.exitcode})") from None
            if kind == "warning":
                warn(value)
            elif kind == "error":
                raise value
            else:
                return value
    finally:
        process.join()


def isolate_from_network() -> None:
    """Move this process into a new network namespace with no interface up, or raise IsolationError.

    Tries ``unshare(CLONE_NEWNET)`` (needs CAP_SYS_ADMIN), then a new user namespace with it
    (unprivileged, where the kernel allows), and checks the result: only a loopback interface,
    and a connection to 127.0.0.1 unreachable. Call it while the process has a single thread.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    unshare = getattr(libc, "unshare", None)
    if unshare is None:
        raise IsolationError("cannot cut the query process off from the network: no unshare() here",
                             hint=ISOLATION_HINT)  # fmt: skip
    failures = []
    for flags, what in ((_CLONE_NEWNET, "a network namespace"),
                        (_CLONE_NEWUSER | _CLONE_NEWNET, "a user and network namespace")):  # fmt: skip
        if unshare(flags) == 0:
            break
        failures.append(f"{what}: {os.strerror(ctypes.get_errno())}")
    else:
        raise IsolationError(
            "cannot cut the query process off from the network (" + "; ".join(failures) + ")", hint=ISOLATION_HINT
        )
    _verify_isolated()


def _verify_isolated() -> None:
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ["lo"]:
        raise IsolationError(f"the new network namespace still has interfaces {names}", hint=ISOLATION_HINT)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(("127.0.0.1", 9))
    except OSError as exc:
        if exc.errno not in (errno.ENETUNREACH, errno.EADDRNOTAVAIL):
            raise IsolationError(f"loopback is reachable in the new network namespace ({exc})",
                                 hint=ISOLATION_HINT) from None  # fmt: skip
    else:
        raise IsolationError("loopback is reachable in the new network namespace", hint=ISOLATION_HINT)
    finally:
        probe.close()


def bound_resources(socket_timeout: float, memory_mb: int) -> None:
    """Bound every socket wait (T2) and the address space (a query that allocates without end fails alone)."""
    socket.setdefaulttimeout(socket_timeout)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)  # lift the front end's own limit (ckg serve)
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
