"""The command line: cheap in-process checks of parsing and exit codes, then end to end against
``freshbooks-orm sandbox serve`` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter

import pytest
from batch_helpers import interrupted_update

from freshbooks_orm import cli as cli_module
from freshbooks_orm.batch.journal import Journal, current_host
from freshbooks_orm.cli import main
from freshbooks_orm.http.transport import RetryPolicy
from freshbooks_orm.sandbox import Sandbox

ENV_NAMES = ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_ACCOUNT_ID", "FRESHBOOKS_API_URL")


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    for name in (*ENV_NAMES, "FRESHBOOKS_REFRESH_TOKEN", "FRESHBOOKS_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))


# --- in process ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["invoices", "list", "--filter", "stauts=sent"], "Did you mean 'status'"),
        (["invoices", "list", "--filter", "v3_status"], "NAME=VALUE"),
        (["invoices", "list", "--filter", "date_min=soon"], "bad value for filter"),
        (["invoices", "update", "--filter", "v3_status=draft", "--set", "po_numbr=1"], "po_number"),
        (["invoices", "update", "--filter", "v3_status=draft", "--set", "vis_state=1"], "delete"),
        (["invoices", "update", "--set", "po_number=1"], "--all"),
        (["invoices", "update", "--filter", "v3_status=draft"], "--set"),
        (["invoices", "delete"], "--all"),
        (["invoices", "list"], "no FreshBooks credentials"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    assert main(["invoices", "update", "--workers", "0", "--set", "a=b"]) == 2
    assert main(["nonsense"]) == 2
    assert main(["--version"]) == 0


def test_debug_shows_the_traceback(capsys):
    assert main(["--debug", "invoices", "list", "--filter", "stauts=x"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_writes_without_yes_and_without_a_terminal_are_refused(capsys, monkeypatch):
    with open(os.devnull) as devnull:
        monkeypatch.setattr(sys, "stdin", devnull)
        code = main(["--sandbox", "invoices", "delete", "--filter", "v3_status=draft"])
    out, err = capsys.readouterr()
    assert code == 2 and "refusing without --yes" in err
    assert "will change" in out  # the preview was shown first
    assert "dry run" not in out  # ... and not labelled as a dry run: it is a real write's plan


def test_sandbox_flag_lists_and_fixes_in_process(capsys):
    assert (
        main(["--sandbox", "invoices", "list", "--filter", "v3_status=draft", "--format", "json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["v3_status"] == "draft" for r in rows)
    code = main(["--sandbox", "invoices", "update", "--filter", "v3_status=draft",
                 "--set", "po_number=PO-1", "--yes", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and f"{len(rows)} done" in out


def test_an_empty_or_ambiguous_run_id_is_refused(capsys, tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    ids = [
        journal.create_run(action="update", resource="invoices", account_id="a", api_host="h",
                           filter={}, changes={}, items=[], matched=0)
        for _ in range(2)
    ]  # fmt: skip
    journal.close()
    for argv in (["runs", "undo", "", "--yes"], ["runs", "resume", " ", "--yes"]):
        assert main(["--journal", str(tmp_path / "journal.sqlite3"), *argv]) == 2
        err = capsys.readouterr().err
        assert "no run id given" in err and err.count("\n") == 1
    assert main(["--journal", str(tmp_path / "journal.sqlite3"), "runs", "show", ids[0][:9]]) == 2
    err = capsys.readouterr().err
    assert "ambiguous" in err and ids[0] in err and ids[1] in err


def test_a_run_another_process_holds_is_refused_naming_it(capsys, tmp_path):
    path = tmp_path / "journal.sqlite3"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with Journal(path) as j:
            items = [
                {"object_id": 1, "state": "planned", "payload": {"po_number": "X"}},
                {"object_id": 2, "state": "planned", "before": {"po_number": ""},
                 "payload": {"po_number": "X"}},
            ]  # fmt: skip
            run_id = j.create_run(action="update", resource="invoices", account_id="a",
                                  api_host="h", filter={}, changes={}, matched=2,
                                  items=items)  # fmt: skip
            j.db.execute(
                "UPDATE items SET state = 'done', after = ? WHERE object_id = 2",
                ('{"po_number": "X"}',),
            )
            j.db.execute(
                "UPDATE runs SET lease_pid = ?, lease_host = ?, lease_since = 'now',"
                " lease_token = 't'",
                (holder.pid, current_host()),
            )
        for argv in (["runs", "resume", run_id, "--yes"], ["runs", "undo", run_id, "--yes"]):
            code = main(["--journal", str(path), "--access-token", "x", "--account-id", "a",
                         "--api-url", "http://h", *argv])  # fmt: skip
            err = capsys.readouterr().err
            assert code == 1 and f"in use by pid {holder.pid}" in err and err.count("\n") == 1
        assert main(["--journal", str(path), "runs", "show", run_id]) == 0
        assert f"running (held by pid {holder.pid}" in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()


# --- runs unlock ---------------------------------------------------------------------------------


def held_run(path, pid, host, token="theirs"):
    """A run in the journal at ``path`` whose lease is held by ``pid`` on ``host``."""
    with Journal(path) as j:
        run_id = j.create_run(action="update", resource="invoices", account_id="a",
                              api_host="h", filter={}, changes={}, matched=1,
                              items=[{"object_id": 1, "state": "planned",
                                      "payload": {"po_number": "X"}}])  # fmt: skip
        set_lease(j, run_id, pid, host, token)
    return run_id


def set_lease(j, run_id, pid, host, token, since="2026-01-01T00:00:00+00:00"):
    j.db.execute(
        "UPDATE runs SET lease_pid = ?, lease_host = ?, lease_since = ?, lease_token = ?"
        " WHERE id = ?",
        (pid, host, since, token, run_id),
    )


def lease_of(path, run_id):
    with Journal(path) as j:
        return j.db.execute(
            "SELECT status, lease_token FROM runs WHERE id = ?", (run_id,)
        ).fetchone()


class Terminal:
    """A stdin that is a terminal, answering the confirmation with ``answer()``."""

    def __init__(self, answer):
        self.answer = answer

    def isatty(self):
        return True

    def readline(self):
        return self.answer()


def test_runs_unlock_breaks_a_lease_on_another_host_once_confirmed(capsys, monkeypatch, tmp_path):
    path = tmp_path / "journal.sqlite3"
    run_id = held_run(path, 4242, "old-container")
    unlock = ["--journal", str(path), "runs", "unlock", run_id]
    with open(os.devnull) as devnull:  # off a terminal: --yes is required
        monkeypatch.setattr(sys, "stdin", devnull)
        assert main(unlock) == 2
    assert "refusing without --yes" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", Terminal(lambda: "n\n"))
    assert main(unlock) == 1
    out, err = capsys.readouterr()
    assert "held by pid 4242 on old-container since 2026-01-01T00:00:00Z" in out
    assert "another host" in out and "Be sure that process is gone" in out
    assert "[y/N]" in err and "the lease was left in place" in err
    assert lease_of(path, run_id)["lease_token"] == "theirs"
    monkeypatch.setattr(sys, "stdin", Terminal(lambda: "y\n"))
    assert main(unlock) == 0
    out, err = capsys.readouterr()
    assert f"unlocked run {run_id}: it is now interrupted" in out
    assert f"runs resume {run_id}" in err
    assert tuple(lease_of(path, run_id)) == ("interrupted", None)
    assert main(unlock) == 0  # again: nothing to do
    assert "nothing to unlock" in capsys.readouterr().out


def test_runs_unlock_refuses_a_lease_re_taken_after_it_was_shown(capsys, monkeypatch, tmp_path):
    path = tmp_path / "journal.sqlite3"
    run_id = held_run(path, 4242, "old-container")

    def resumed_elsewhere_meanwhile():
        with Journal(path) as j:  # while the user reads the prompt
            set_lease(j, run_id, 99, "new-container", "new", since="2026-01-02T00:00:00+00:00")
        return "y\n"

    monkeypatch.setattr(sys, "stdin", Terminal(resumed_elsewhere_meanwhile))
    assert main(["--journal", str(path), "runs", "unlock", run_id]) == 1
    out, err = capsys.readouterr()
    assert "held by pid 4242 on old-container" in out  # what was shown ...
    assert "in use by pid 99 on new-container" in err  # ... is not what holds it now
    assert "changed since it was shown" in err and "Traceback" not in err
    assert tuple(lease_of(path, run_id)) == ("running", "new")  # nothing cleared


def test_runs_unlock_never_breaks_a_live_process_on_this_host(capsys, tmp_path):
    path = tmp_path / "journal.sqlite3"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run_id = held_run(path, holder.pid, current_host())
        assert main(["--journal", str(path), "runs", "unlock", run_id, "--yes"]) == 1
        out, err = capsys.readouterr()
        assert f"in use by pid {holder.pid}" in err and "never broken" in err
        assert err.count("\n") == 1 and "unlocked" not in out
        assert tuple(lease_of(path, run_id)) == ("running", "theirs")
    finally:
        holder.kill()
        holder.wait()


def test_runs_unlock_of_a_process_gone_from_this_host_and_of_unknown_runs(capsys, tmp_path):
    path = tmp_path / "journal.sqlite3"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)  # fmt: skip
    run_id = held_run(path, int(gone.stdout), current_host())
    assert main(["--journal", str(path), "runs", "unlock", run_id[:12], "--yes"]) == 0
    out = capsys.readouterr().out
    assert "no longer running on this host" in out and "another host" not in out
    assert tuple(lease_of(path, run_id)) == ("interrupted", None)
    assert main(["--journal", str(path), "runs", "unlock", "20000101-nope", "--yes"]) == 2
    assert "no run" in capsys.readouterr().err


def test_runs_resume_points_at_unlock_then_resumes_after_it(capsys, tmp_path):
    from freshbooks_orm import Invoice

    path = tmp_path / "journal.sqlite3"
    with Sandbox(invoices=30, seed=3) as sb:
        client = sb.client(retry=RetryPolicy(backoff=0.001))

        run_id = interrupted_update(
            Invoice.objects.using(client), 4, notes="unlocked", workers=1, journal=path
        ).run_id
        with Journal(path) as j:  # as if interrupted in a container whose hostname is gone
            set_lease(j, run_id, 7, "f3a9c2d1e0b4", "container")
            j.db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))
        connect = ["--journal", str(path), "--access-token", sb.access_token,
                   "--account-id", client.account_id, "--api-url", sb.url]  # fmt: skip
        assert main([*connect, "runs", "show", run_id]) == 0
        assert f"runs unlock {run_id}" in capsys.readouterr().err
        assert main([*connect, "runs", "resume", run_id, "--yes"]) == 1
        err = capsys.readouterr().err
        assert f"freshbooks-orm runs unlock {run_id}" in err and err.count("\n") == 1
        assert main([*connect, "runs", "unlock", run_id, "--yes"]) == 0
        capsys.readouterr()
        assert main([*connect, "runs", "resume", run_id, "--yes", "--no-progress"]) == 0
        with Journal(path) as j:
            run = j.run(run_id)
            assert run.status == "finished" and run.pending == 0 and run.lease is None
        written = Counter(r.path for r in sb.requests if r.method == "PUT" and r.status == 200)
        assert written and set(written.values()) == {1}  # each invoice written once
        assert len(written) == run.count("done")


def test_a_journal_error_is_one_line(capsys, tmp_path):
    assert main(["--journal", str(tmp_path), "runs", "list"]) == 1
    err = capsys.readouterr().err
    assert "is a directory" in err and err.count("\n") == 1 and "Traceback" not in err
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 1000)
    assert main(["--journal", str(bad), "runs", "list"]) == 1
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1


def test_help_shows_yes_and_the_exit_codes(capsys):
    assert main(["runs", "resume", "--help"]) == 0
    out = capsys.readouterr().out
    out = " ".join(out.split())
    assert "runs resume RUN [--yes]" in out and "--yes is required" in out and "130" in out
    assert main(["--help"]) == 0
    assert "130 interrupted" in " ".join(capsys.readouterr().out.split())


def test_a_sandbox_run_prints_no_undo_hint_for_a_journal_thrown_away(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("FRESHBOOKS_ORM_JOURNAL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # were it not thrown away: still in tmp
    monkeypatch.setenv("HOME", str(tmp_path))
    code = main(["--sandbox", "invoices", "update", "--filter", "v3_status=draft",
                 "--set", "po_number=PO-1", "--yes", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "runs undo" not in err and "thrown away" in err


def test_a_server_that_stops_mid_run_is_reported_with_its_cause(capsys, monkeypatch, tmp_path):
    def stopping_progress(ctx):
        def callback(finished, total, outcome):
            if finished == 3:
                ctx.sandbox.stop()

        return callback

    monkeypatch.setattr(cli_module.Context, "progress", stopping_progress)
    quick = Sandbox.client  # retry a refused connection quickly: the test is about what follows

    monkeypatch.setattr(
        Sandbox, "client", lambda self, **kw: quick(self, retry=RetryPolicy(backoff=0.001), **kw)
    )
    journal = tmp_path / "j.sqlite3"
    code = main(["--sandbox", "--journal", str(journal), "invoices", "update", "--all",
                 "--set", "notes=outage", "--yes", "--workers", "2"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert "stopped: the server stopped answering" in out and "Connection refused" in out
    assert "0 failed" in out and "not yet written" in out
    assert "runs resume" not in err and "its --sandbox is gone" in err  # no hint that cannot work
    with Journal(journal) as j:
        assert j.runs()[0].status == "interrupted"


def test_demo_runs_without_environment_and_shows_the_requests(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert '"vis_state": 1' in out  # delete() sent vis_state alone
    assert '{"invoice": {"lines": [' in out  # the line edit sent every line
    assert "dry run, nothing sent" in out
    assert len(out.splitlines()) < 120  # a screen or two


# --- end to end against `freshbooks-orm sandbox serve` ------------------------------------------


@pytest.fixture
def served(tmp_path):
    """A sandbox served by the CLI in a subprocess; yields the environment to reach it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "freshbooks_orm", "sandbox", "serve", "--invoices", "80",
         "--seed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        env = dict(os.environ)
        for _ in ENV_NAMES:
            line = proc.stdout.readline()
            assert line.startswith("export "), line
            name, _, value = line[len("export ") :].strip().partition("=")
            env[name] = value
        env["FRESHBOOKS_ORM_JOURNAL"] = str(tmp_path / "journal.sqlite3")
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0  # SIGTERM is a clean stop


def cli(env, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "freshbooks_orm", *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


@pytest.mark.slow
def test_end_to_end_dry_run_update_list_undo(served):
    def drafts():
        done = cli(served, "invoices", "list", "--filter", "v3_status=draft", "--format", "jsonl")
        assert done.returncode == 0, done.stderr
        return {
            json.loads(line)["id"]: json.loads(line)["po_number"]
            for line in done.stdout.splitlines()
        }

    original = drafts()
    assert original

    dry = cli(
        served,
        "invoices",
        "update",
        "--filter",
        "v3_status=draft",
        "--set",
        "po_number=PO-CLI",
        "--dry-run",
    )
    assert dry.returncode == 0 and "dry run, nothing sent" in dry.stdout
    assert drafts() == original

    asked = cli(
        served,
        "invoices",
        "update",
        "--filter",
        "v3_status=draft",
        "--set",
        "po_number=PO-CLI",
        stdin="",
    )
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert drafts() == original

    done = cli(
        served,
        "invoices",
        "update",
        "--filter",
        "v3_status=draft",
        "--set",
        "po_number=PO-CLI",
        "--yes",
        "--workers",
        "3",
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(original)} done" in done.stdout
    assert set(drafts().values()) == {"PO-CLI"}

    listing = cli(served, "runs", "list")
    assert listing.returncode == 0 and "update" in listing.stdout and "finished" in listing.stdout
    shown = cli(served, "runs", "show", "latest", "--items")
    assert shown.returncode == 0 and '"po_number": "PO-CLI"' in shown.stdout

    undone = cli(served, "runs", "undo", "latest", "--yes")
    assert undone.returncode == 0, undone.stderr
    assert drafts() == original

    again = cli(served, "runs", "resume", "latest")
    assert again.returncode == 0 and "nothing left to do" in again.stdout
    run_id = done.stderr.split("undo with: freshbooks-orm runs undo ")[1].split()[0]
    twice = cli(served, "runs", "undo", run_id, "--yes")
    assert twice.returncode == 2 and "already undone" in twice.stderr
    assert twice.stderr.count("\n") == 1
    revived = cli(served, "runs", "resume", run_id, "--yes")
    assert revived.returncode == 2 and "cannot be resumed" in revived.stderr
    assert drafts() == original

    show = cli(served, "invoices", "show", str(next(iter(original))))
    assert show.returncode == 0 and "lines (" in show.stdout
    missing = cli(served, "invoices", "show", "999")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1


# --- bulk writes: the scope guard, and a dry run that says what the real run will do -------------


@pytest.mark.parametrize("verb", [["update", "--set", "po_number=X"], ["delete"]])
def test_no_filter_and_no_exclude_is_refused_naming_both_and_all(verb, capsys):
    assert main(["invoices", *verb, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "without --filter or --exclude" in err and "--all" in err


@pytest.mark.parametrize("verb", [["update", "--set", "po_number=X"], ["delete"]])
def test_a_lone_exclude_narrows_the_set_like_a_filter(verb, capsys):
    assert main(["--sandbox", "invoices", *verb, "--exclude", "v3_status=draft", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing sent" in out


def counts_in(text, pattern):
    found = re.search(pattern, text)
    assert found, text
    return tuple(int(n) for n in found.groups())


@pytest.mark.parametrize("value", ["", "PO-NEW"])
def test_the_dry_run_and_the_real_run_agree_on_a_blank_value(value, capsys):
    # --set po_number= on invoices whose po_number is null: the real run finds "" already
    # there (FreshBooks' blank), so the dry run must not list it as a change.
    argv = ["--sandbox", "invoices", "update", "--filter", "po_number__isnull=true"]
    argv += ["--set", f"po_number={value}"]
    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    would, matched, unchanged = counts_in(
        dry, r"would change (\d+) of (\d+) matched \w+ \((\d+) unchanged"
    )
    assert matched > 0
    assert main([*argv, "--yes"]) == 0
    real = capsys.readouterr()
    assert (would, unchanged) == ((0, matched) if value == "" else (matched, 0))
    if value == "":
        assert "po_number" not in dry.split("\n", 1)[1]  # no change listed
        assert "will change 0 of" in real.out and "nothing to write" in real.err
    else:
        done, unchanged_real = counts_in(real.out, r"(\d+) done, (\d+) unchanged")
        assert (done, unchanged_real) == (would, unchanged)
