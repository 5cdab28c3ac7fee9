"""An unreachable database or broker is told apart from a handler's failure, and its log lines are few."""

import errno
import logging

import asyncpg
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError
from wave_runtime.outages import OncePerInterval, is_outage
from wave_store import StoreUnavailable


def _caused_by(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise RuntimeError("while handling") from exc
    except RuntimeError as wrapped:
        return wrapped


def test_outages_are_told_apart_from_handler_failures():
    outages = [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 5432)"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
        StoreUnavailable("the database 127.0.0.1:5432/wave cannot be reached"),
        KafkaConnectionError("no broker"),
        NodeNotReadyError("node 1"),
        _caused_by(ConnectionResetError(errno.ECONNRESET, "reset")),
    ]
    failures = [ValueError("bad input"), FileNotFoundError(errno.ENOENT, "no such file"), KeyError("x"),
                asyncpg.UniqueViolationError("duplicate key")]
    assert [e for e in outages if not is_outage(e)] == []
    assert [e for e in failures if is_outage(e)] == []


def test_a_repeated_client_log_line_passes_once_per_interval():
    once = OncePerInterval(interval_s=60)
    records = [logging.LogRecord("aiokafka", logging.ERROR, "f", 1, "Unable connect to node %s", ("1",), None)
               for _ in range(1000)]
    passed = [r for r in records if once.filter(r)]
    assert len(passed) == 1


def test_a_handlers_own_unreachable_service_is_its_failure():
    slack_down = _caused_by(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert not is_outage(slack_down, sockets=False)
    assert is_outage(_caused_by(asyncpg.CannotConnectNowError("starting up")), sockets=False)
