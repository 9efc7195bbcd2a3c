"""One twirl per data directory, through the real binary: a second one on the same `--data` refuses
to start, naming the one that holds it, and leaves it serving; once the holder is gone, however it
ended (`kill -9` included), the directory can be used again with its state intact."""

import os
import signal

import requests

from conftest import TwirlServer, run_twirl
from support import assert_status


class PersistentServer(TwirlServer):
    """`twirl serve --data DIR` (state kept in DIR), in an empty working directory."""

    def __init__(self, workdir, data_dir, account=None):
        super().__init__(workdir)
        self.data_dir = data_dir
        if account:
            self.account_sid, self.auth_token = account

    def arguments(self):
        return ["serve", "--port", "0", "--no-demo", "--data", str(self.data_dir),
                "--account-sid", self.account_sid, "--auth-token", self.auth_token]


def start(tmp_path, name, data_dir, account=None):
    workdir = tmp_path / name
    workdir.mkdir()
    return PersistentServer(workdir, data_dir, account).start()


def test_a_second_twirl_on_the_same_data_directory_refuses(tmp_path):
    data = tmp_path / "data"
    first = start(tmp_path, "first", data)
    try:
        first.api.create("/v1/Services", {"UniqueName": "kept", "FriendlyName": "kept"})
        second = run_twirl("serve", "--port", "0", "--no-demo", "--data", data, cwd=tmp_path, timeout=60)
        assert second.returncode == 1, second
        assert "twirl listening" not in second.stdout
        assert second.stderr.strip() == (
            f"twirl: the data directory {data} is in use by another twirl (pid {first.process.pid}, "
            f"{first.url}): stop it, or give this one another --data DIR or --ephemeral"), second.stderr
        # The first one is untouched and still serving.
        assert_status(requests.get(f"{first.url}/_twirl/health", timeout=30), 200)
        assert [s["unique_name"] for s in first.api.list_all("/v1/Services")] == ["kept"]
    finally:
        first.stop()


def test_after_kill_9_the_directory_is_free_and_its_state_is_there(tmp_path):
    data = tmp_path / "data"
    first = start(tmp_path, "first", data)
    try:
        first.api.create("/v1/Services", {"UniqueName": "survives", "FriendlyName": "survives"})
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=30)
    finally:
        first.stop()
    assert (data / "twirl.lock").exists(), "the lock file stays; only its lock went with the process"
    again = start(tmp_path, "again", data, account=(first.account_sid, first.auth_token))
    try:
        assert [s["unique_name"] for s in again.api.list_all("/v1/Services")] == ["survives"]
    finally:
        again.stop()


def test_twirls_with_their_own_directories_run_side_by_side(tmp_path):
    one = start(tmp_path, "one", tmp_path / "data-one")
    try:
        two = start(tmp_path, "two", tmp_path / "data-two")
        try:
            for server in (one, two):
                assert_status(requests.get(f"{server.url}/_twirl/health", timeout=30), 200)
        finally:
            two.stop()
    finally:
        one.stop()
