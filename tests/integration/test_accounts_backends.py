"""Accounts and the audit log on both storage backends (SQLite, PostgreSQL): several service
nodes can share one accounts database and one audit chain."""

from __future__ import annotations

import threading

import pytest

from veilleur.runtime.auth.audit import AuditLog
from veilleur.runtime.auth.roles import Role
from veilleur.runtime.auth.store import AccountLocked, AccountStore, LoginFailed

GOOD = "Phare-Nord-7-Garde!"


@pytest.mark.req("EX-119", "EX-120", "EX-024")
def test_accounts_and_audit_on_each_backend(journal_url: str):
    a = AccountStore(journal_url, max_failures=3)
    b = AccountStore(journal_url, max_failures=3)  # a second node on the same database
    a.create_user("agent", Role.STANDARD, GOOD, created_by="t")
    session = b.authenticate("agent", GOOD)
    assert a.resolve(session.token) is not None  # a session opened on one node works on both
    for store in (a, b):
        with pytest.raises(LoginFailed):
            store.authenticate("agent", "faux")
    with pytest.raises(AccountLocked):  # the count is shared: the third failure locks
        a.authenticate("agent", "faux")
    log_a, log_b = AuditLog(journal_url), AuditLog(journal_url)

    def burst(log: AuditLog, who: str) -> None:
        for _ in range(20):
            log.record("read", actor=who)

    threads = [
        threading.Thread(target=burst, args=(log, who))
        for log, who in ((log_a, "noeud-a"), (log_b, "noeud-b"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log_a.count() == 40
    assert log_b.journal.verify().ok  # one unbroken chain for both writers
