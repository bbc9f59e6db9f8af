"""The `botsession` command, as installed (make cli-test installs it into a private prefix and
sets BOTSESSION_CLI): every subcommand, its exit codes and messages, on real SQLite files and a
real PostgreSQL server (BOTSESSION_TEST_POSTGRES_URI, from scripts/with-postgres.sh)."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from typing import Any, List, Optional

import pytest

from botsession import Store

CLI = os.environ.get("BOTSESSION_CLI", "")
pytestmark = pytest.mark.skipif(not CLI, reason="BOTSESSION_CLI is not set: run make cli-test")


def run(*args: str, input: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], input=input, capture_output=True, text=True, timeout=120)


def ok(*args: str, input: Optional[str] = None) -> str:
    result = run(*args, input=input)
    assert result.returncode == 0, f"{args}: exit {result.returncode}: {result.stderr}"
    return result.stdout


@pytest.fixture
def db(tmp_path: Any) -> str:
    return f"sqlite:{tmp_path}/bot.db"


def test_set_get_keys_delete(db: str) -> None:
    ok("set", db, "-1001234", '{"pizzas": 3}')          # a negative chat id as a key
    ok("set", db, "user:7", "[1, 2]")
    assert ok("get", db, "-1001234") == '{"pizzas": 3}\n'  # the stored text, exactly
    assert ok("keys", db).splitlines() == ["-1001234", "user:7"]
    assert ok("keys", db, "--prefix", "user:").splitlines() == ["user:7"]
    assert json.loads(ok("keys", db, "--json")) == ["-1001234", "user:7"]
    ok("delete", db, "user:7")
    assert Store.open(db).read("user:7") is None
    missing = run("get", db, "user:7")
    assert missing.returncode == 1 and "no session under key 'user:7'" in missing.stderr
    assert run("delete", db, "user:7").returncode == 1


def test_keys_with_control_characters_are_json_strings(db: str) -> None:
    store = Store.open(db)
    store.write("line\nbreak", 1)
    store.write('"quoted', 2)
    store.write("plain", 3)
    lines = ok("keys", db).splitlines()
    assert lines == ['"\\"quoted"', '"line\\nbreak"', "plain"]
    assert sorted(json.loads(ok("keys", db, "--json"))) == ['"quoted', "line\nbreak", "plain"]


def test_usage_errors_exit_2() -> None:
    bare = run()
    assert bare.returncode == 2 and "USAGE: botsession <subcommand>" in bare.stderr and bare.stdout == ""
    for args in (["bogus"], ["get"], ["get", "sqlite:x.db"], ["keys", "sqlite:x.db", "--ttl-ms", "5"],
                 ["purge-expired", "sqlite:x.db"], ["set", "sqlite:x.db", "k", "1", "--version", "2"]):
        result = run(*args)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert result.stderr.startswith("botsession: "), result.stderr
    assert run("--help").returncode == 0 and "purge-expired" in run("--help").stdout
    assert ok("--version").strip() == open(os.path.join(os.path.dirname(__file__), "../../VERSION")).read().strip()


def test_bad_input_exits_4_and_changes_nothing(db: str, tmp_path: Any) -> None:
    ok("set", db, "k", '{"a": 1}')
    cases = [
        (["set", db, "k", "{bad"], "not valid JSON"),
        (["get", "redis-ish:x", "k"], "unknown store URI scheme"),
        (["get", db, "k", "--options", "{"], "not valid JSON"),
        (["get", db, "k", "--options", '{"tabel": "x"}'], "tabel"),
        (["set", db, "x" * 2000, "1"], "1024"),
    ]
    for args, mentions in cases:
        result = run(*args)
        assert result.returncode == 4, (args, result.returncode, result.stderr)
        assert mentions in result.stderr, (args, result.stderr)
    assert Store.open(db).read("k") == {"a": 1}


def test_a_store_that_is_down_exits_3() -> None:
    result = run("keys", "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2")
    assert result.returncode == 3, result.stderr
    assert "cannot open" in result.stderr


def test_stats(tmp_path: Any) -> None:
    uri = f"sqlite:{tmp_path}/stats.db"
    store = Store.open(uri, table="bot_sessions")
    store.write("fsm:1:2:3:data", {"a": 1})
    store.write("fsm:1:2:3:state", "s")
    store.write("-100", {"n": 1})
    stats = json.loads(ok("stats", uri, "--options", '{"table": "bot_sessions"}', "--json"))
    assert stats["sessions"] == 3
    assert stats["bytes"] == len('{"a":1}') + len('"s"') + len('{"n":1}')
    assert stats["prefixes"] == {"fsm:": 2, "(no prefix)": 1}
    assert stats["store"]["table"] == "bot_sessions" and stats["store"]["kind"] == "sqlite"
    text = ok("stats", uri, "--options", '{"table": "bot_sessions"}')
    assert "sessions: 3" in text and "version column: version" in text


def test_export_import_round_trip_and_rules(db: str, tmp_path: Any) -> None:
    store = Store.open(db)
    values = {"a": {"text": "naïve \"quoted\" \\ 🍕", "n": 1.5e300}, "b": [None, True], "-5": "x"}
    for key, value in values.items():
        store.write(key, value)
    dump = ok("export", db)
    lines = [json.loads(line) for line in dump.splitlines()]
    assert {line["key"]: line["value"] for line in lines} == values
    target = f"sqlite:{tmp_path}/copy.db"
    Store.open(target).write("b", "kept")
    result = run("import", target, input=dump)
    assert result.returncode == 0 and "wrote 2 sessions, skipped 1" in result.stderr
    assert Store.open(target).read("b") == "kept"
    assert Store.open(target).read("a") == values["a"]
    dry = run("import", target, "--overwrite", "--dry-run", input=dump)
    assert dry.returncode == 0 and "would write 1 session (1 replaced)" in dry.stderr
    assert Store.open(target).read("b") == "kept"
    ok("import", target, "--overwrite", input=dump)
    assert Store.open(target).read("b") == [None, True]
    assert ok("export", target) == dump


def test_a_bad_line_imports_nothing(db: str) -> None:
    good = '{"key": "a", "value": 1}\n'
    for bad, number, mentions in [("not json", 2, "not valid JSON"), ('{"key": 5, "value": 1}', 2, '"key" string'),
                                  ('{"key": "c"}', 2, '"value"'), ('{"key": "a", "value": 2}', 2, "on line 1 too"),
                                  ('{"key": "d", "value": 1, "extra": 0}', 2, "unknown member")]:
        result = run("import", db, input=good + bad + "\n" + '{"key": "z", "value": 3}\n')
        assert result.returncode == 4, (bad, result.stderr)
        assert f"line {number} of the input" in result.stderr and mentions in result.stderr, result.stderr
        assert "nothing was imported" in result.stderr
        assert list(Store.open(db).keys()) == []


def test_copy_between_sqlite_and_postgresql(db: str, tmp_path: Any) -> None:
    postgres = os.environ.get("BOTSESSION_TEST_POSTGRES_URI")
    if not postgres:
        if os.environ.get("CI"):
            pytest.fail("BOTSESSION_TEST_POSTGRES_URI is not set: make cli-test runs through scripts/with-postgres.sh")
        pytest.skip("no PostgreSQL (make cli-test starts one)")
    store = Store.open(db)
    for i in range(50):
        store.write(f"chat:{i}", {"i": i})
    store.write("other", 1)
    options = '{"table": "cli_copy"}'
    result = run("copy", db, postgres, "--prefix", "chat:", "--to-options", options)
    assert result.returncode == 0 and "wrote 50 sessions" in result.stderr, result.stderr
    assert len(ok("keys", postgres, "--options", options).splitlines()) == 50
    again = run("copy", db, postgres, "--prefix", "chat:", "--to-options", options)
    assert "wrote 0 sessions, skipped 50" in again.stderr
    back = f"sqlite:{tmp_path}/back.db"
    ok("copy", postgres, back, "--from-options", options)
    assert ok("export", back) == ok("export", db, "--prefix", "chat:")
    same = run("copy", db, db)
    assert same.returncode == 2 and "same store" in same.stderr


def wrapper(data: Any, v: Optional[float] = None, e: Optional[int] = None) -> str:
    out: dict = {}
    if v is not None:
        out["v"] = v
    out["__d"] = data
    if e is not None:
        out["e"] = e
    return json.dumps(out)


def test_enhanced_reads_purge_and_export(db: str) -> None:
    now = int(time.time() * 1000)
    store = Store.open(db)
    store.write_json("fresh", wrapper({"n": 1}, v=2, e=now + 3_600_000))
    store.write_json("stale", wrapper({"n": 2}, v=2, e=now - 1000))
    store.write_json("legacy", '{"n": 3}')
    assert ok("get", db, "fresh", "--enhanced") == '{"n": 1}\n'
    assert ok("get", db, "legacy", "--enhanced") == '{"n": 3}\n'
    # Expiry is checked with the bot's lifetime, as the enhancer does.
    assert ok("get", db, "stale", "--enhanced") == '{"n": 2}\n'
    stale = run("get", db, "stale", "--enhanced", "--ttl-ms", "60000")
    assert stale.returncode == 1 and "expired" in stale.stderr
    assert ok("keys", db, "--enhanced", "--ttl-ms", "60000").splitlines() == ["fresh", "legacy"]
    stats = json.loads(ok("stats", db, "--enhanced", "--ttl-ms", "60000", "--json"))
    assert (stats["sessions"], stats["expired"]) == (2, 1)
    exported = [json.loads(line) for line in ok("export", db, "--enhanced", "--ttl-ms", "60000").splitlines()]
    assert exported == [{"key": "fresh", "value": {"n": 1}}, {"key": "legacy", "value": {"n": 3}}]
    raw = [json.loads(line) for line in ok("export", db).splitlines()]
    assert {line["key"]: line["value"] for line in raw}["stale"] == json.loads(wrapper({"n": 2}, v=2, e=now - 1000))
    dry = run("purge-expired", db, "--enhanced", "--dry-run")
    assert dry.returncode == 0 and "would delete 1 expired session" in dry.stderr
    assert Store.open(db).read_json("stale") is not None
    result = run("purge-expired", db, "--enhanced")
    assert result.returncode == 0 and "deleted 1 expired session" in result.stderr
    assert sorted(Store.open(db).keys()) == ["fresh", "legacy"]


def test_set_enhanced_keeps_the_version_and_a_migrating_bot_reads_it_unchanged(db: str) -> None:
    Store.open(db).write_json("chat:1", wrapper({"old": True}, v=2))
    ok("set", db, "chat:1", '{"edited": true}', "--enhanced")
    assert json.loads(Store.open(db).read_json("chat:1")) == {"v": 2, "__d": {"edited": True}}
    new = run("set", db, "chat:2", "{}", "--enhanced")
    assert new.returncode == 2 and "--version" in new.stderr
    assert Store.open(db).read("chat:2") is None
    ok("set", db, "chat:2", '{"made": 1}', "--enhanced", "--version", "2")
    ok("set", db, "chat:3", '{"plain": 1}', "--enhanced", "--version", "none")
    assert json.loads(Store.open(db).read_json("chat:3")) == {"__d": {"plain": 1}}
    other = run("set", db, "chat:1", "{}", "--enhanced", "--version", "3")
    assert other.returncode == 2 and "keeps a session's version" in other.stderr

    # The bot: an enhancer with migrations to versions 1 and 2, which must not run on data the
    # command wrote at version 2.
    ran: List[float] = []
    enhanced = Store.open(db).enhance()
    enhanced.add_migration(1, lambda old: ran.append(1) or {"migrated": 1})
    enhanced.add_migration(2, lambda old: ran.append(2) or {"migrated": 2})
    assert enhanced.read("chat:1") == {"edited": True}
    assert enhanced.read("chat:2") == {"made": 1}
    assert ran == []

    Store.open(db).write_json("bad", '{"v": "two", "__d": {}}')
    bad = run("set", db, "bad", "{}", "--enhanced")
    assert bad.returncode == 5 and "not a number" in bad.stderr


def test_progress_bar_only_on_a_terminal(db: str) -> None:
    dump = "".join(json.dumps({"key": f"k{i}", "value": i}) + "\n" for i in range(2000))
    piped = run("import", db, input=dump)
    assert "ETA" not in piped.stderr and "[" not in piped.stderr
    # stderr on a pseudo-terminal: the bar is drawn.
    for quiet in (False, True):
        target = db + ("-quiet" if quiet else "-tty")
        leader, follower = pty.openpty()
        process = subprocess.Popen([CLI, "import", target, "--overwrite", *(["--quiet"] if quiet else [])],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        process.communicate(dump.encode(), timeout=120)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        os.close(leader)
        assert process.returncode == 0
        if quiet:
            assert drawn == b""
        else:
            assert b"2000/2000" in drawn and b"ETA" in drawn and b"wrote 2000 sessions" in drawn
