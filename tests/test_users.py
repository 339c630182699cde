"""Users, roles and limits of a shared chat (qa/users.py, qa/web/access.py); the server itself: tests/faults/test_team.py."""

import stat

import pytest

from qa.config import Config
from qa.users import Users, UsersError, check_password, hash_password, role_allows
from qa.web.access import Access, AccessError, Limits, is_loopback


def test_passwords_are_salted_hashes_that_check():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and "correct horse" not in a  # a salt each; never the password itself
    assert check_password("correct horse", a) and not check_password("correct hors", a)
    assert not check_password("x", "plain-text-password")


def test_users_file_roles_and_refusals(tmp_path):
    users = Users(tmp_path / "users.json")
    assert not users.exists()
    users.add("alice", "alice-secret", "editor")
    assert users.get("alice").role == "editor" and users.verify("alice", "alice-secret")
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    with pytest.raises(UsersError, match="8 characters"):
        users.add("bob", "short")
    with pytest.raises(UsersError, match="role"):
        users.add("bob", "long-enough", "owner")
    with pytest.raises(UsersError, match="letters"):
        users.add("../bob", "long-enough")
    users.set_role("alice", "admin")
    assert users.get("alice").role == "admin"
    users.remove("alice")
    assert users.get("alice") is None and not users.verify("alice", "alice-secret")


def test_wrong_passwords_lock_a_name_for_a_while(tmp_path):
    users = Users(tmp_path / "users.json")
    users.add("alice", "alice-secret")
    for _ in range(5):
        assert not users.verify("alice", "guess")
    assert not users.verify("alice", "alice-secret")  # the right one too, until the window passes
    assert users.verify("alice", "alice-secret", window_s=0.0)


def test_roles_include_the_ones_below():
    assert role_allows("admin", "editor") and role_allows("editor", "reader")
    assert not role_allows("reader", "editor") and not role_allows("", "reader") and not role_allows(None, "reader")


def test_serving_beyond_loopback_needs_sign_in(tmp_path):
    config = Config(users_file=str(tmp_path / "users.json"))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    Access(config).check_exposure("127.0.0.1")
    with pytest.raises(AccessError, match="--no-auth"):
        Access(config).check_exposure("0.0.0.0")
    Access(config, no_auth=True).check_exposure("0.0.0.0")
    Access(config, proxy_header="X-Forwarded-User").check_exposure("0.0.0.0")
    Users(config.users_file).add("alice", "alice-secret", "editor")
    access = Access(config)
    access.check_exposure("0.0.0.0")
    assert access.mode == "password" and access.can("alice", "editor") and not access.can("nobody", "reader")


def test_pending_questions_are_limited_per_user():
    limits = Limits(Config(max_pending_questions=2))
    assert limits.question_started("a") is None and limits.question_started("a") is None
    assert "2 questions waiting" in limits.question_started("a")
    assert limits.question_started("b") is None  # another user is not held up
    limits.question_done("a")
    assert limits.question_started("a") is None
