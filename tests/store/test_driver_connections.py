"""The hot path's own driver connections (store.db.DriverConnections): errors come out as SQLAlchemy's,
and a database that restarted while they sat idle costs no request."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from recoms.store.db import DriverConnections, make_engine, migrate
from tests.conftest import POSTGRES
from tests.proxy import TcpProxy


def test_a_bad_statement_is_sqlalchemys_error_and_the_next_one_runs(platform):
    connections = DriverConnections(platform.engine)
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised:
            connections.execute("SELECT no_such_column FROM accounts", ())
        assert "no_such_column" in str(raised.value)
        assert connections.execute("SELECT 1", ()) == [(1,)]
    finally:
        connections.close()


@pytest.mark.skipif(not POSTGRES, reason="needs RECOMS_TEST_POSTGRES_URL")
def test_a_server_that_restarted_while_idle_costs_no_request(postgres_url):
    target = urlsplit(postgres_url)
    proxy = TcpProxy((target.hostname, target.port or 5432)).start()
    parts = urlsplit(postgres_url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    engine = make_engine(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl())
    migrate(engine)
    connections = DriverConnections(engine)
    try:
        assert connections.execute("SELECT 1", ()) == [(1,)]
        proxy.stop()  # the idle connection is cut, as by a restart
        with pytest.raises(sa.exc.OperationalError):  # down: the caller answers 503
            connections.execute("SELECT 1", ())
        proxy.start()
        assert connections.execute("SELECT 2", ()) == [(2,)]  # back: a new connection at once
        proxy.stop()
        proxy.start()  # a restart nobody noticed: the idle connection is pinged, and replaced
        connections.PING_AFTER_SECONDS = 0.0
        assert connections.execute("SELECT 3", ()) == [(3,)]
    finally:
        connections.close()
        engine.dispose()
        proxy.stop()


def test_no_more_than_max_connections_run_at_once(platform):
    import threading

    connections = DriverConnections(platform.engine)
    connections.MAX_CONNECTIONS = 2
    opened, running, most = [], [0], [0]
    lock = threading.Lock()
    real_open = connections._open

    def counting_open():
        opened.append(1)
        return real_open()

    connections._open = counting_open
    real_execute = DriverConnections.execute
    results = []

    slow = "WITH RECURSIVE c (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT count(*) FROM c"

    def work():  # statements long enough for the threads to overlap (the drivers release the GIL)
        for _ in range(5):
            results.append(real_execute(connections, slow, ()))

    real_take = connections._take

    def take():
        held = real_take()
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        return held

    real_give = connections._give_back

    def give(conn):
        with lock:
            running[0] -= 1
        real_give(conn)

    connections._take, connections._give_back = take, give
    threads = [threading.Thread(target=work) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [[(20000,)]] * 40
        assert len(opened) <= 2 and most[0] <= 2
    finally:
        connections.close()
