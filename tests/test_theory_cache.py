"""Theory computed once (mimkit.theory_cache, mimkit.experiments.theory_store): values come back
bit for bit, keys change with every setting and the theory method, the caches survive
concurrent writers and unwritable places, and the commands use them."""

import json
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from mimkit import theory_cache
from mimkit.cli import main
from mimkit.experiments.theory_store import SweepTheoryCache, sweep_theory
from mimkit.theory import weak_recovery_threshold
from mimkit.theory_cache import (
    FolderCache,
    cache_folder,
    cached,
    cached_theory,
    decode,
    encode,
    theory_key,
    use_cache,
)


class Counter:
    """A computation that counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_values_come_back_bit_for_bit():
    value = {
        "a": np.array([[1.0, np.nan], [np.inf, -0.0]]),
        "ints": np.arange(3, dtype=np.int64),
        "t": (1, 2.5, None, "s", float("-inf")),
        "nested": [np.float64(1e-300), np.int64(7), True],
    }
    back = decode(encode(value))
    assert back["a"].dtype == np.float64 and back["a"].tobytes() == value["a"].tobytes()
    assert back["ints"].dtype == np.int64 and back["ints"].tolist() == [0, 1, 2]
    assert back["t"][:4] == (1, 2.5, None, "s") and back["t"][4] == float("-inf")
    assert back["nested"] == [1e-300, 7, True]


def test_a_theory_record_and_a_table_come_back_equal():
    res = weak_recovery_threshold("z1z2", "squared", n_samples=2000, random_state=0)
    back = decode(encode(res))
    assert type(back) is type(res)
    for name in ("alpha_c", "stderr", "directions", "side"):
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
    assert back.center == res.center and back.first == res.first
    frame = pd.DataFrame({"method": ["a", "b"], "x": [0.5, np.nan], "n": [1, 2]})
    pd.testing.assert_frame_equal(decode(encode(frame)), frame)


def test_reading_never_imports_or_builds_anything_outside_mimkit():
    forged = json.dumps({"__dataclass__": "subprocess:Popen", "fields": {}})
    with pytest.raises(ValueError, match="outside mimkit"):
        decode(forged)
    with pytest.raises(TypeError, match="object array"):
        encode(np.array([object()]))


def test_keys_change_with_every_setting_and_with_the_theory_method(monkeypatch):
    base = theory_key("f", {"alpha": 1.0, "seed": 0})
    assert base == theory_key("f", {"seed": 0, "alpha": 1.0})  # order does not matter
    assert base != theory_key("f", {"alpha": 1.0 + 1e-12, "seed": 0})
    assert base != theory_key("g", {"alpha": 1.0, "seed": 0})
    monkeypatch.setattr(theory_cache, "THEORY_METHOD", theory_cache.THEORY_METHOD + "+changed")
    assert base != theory_key("f", {"alpha": 1.0, "seed": 0})


def test_without_an_active_cache_every_call_computes(tmp_path):
    compute = Counter(np.ones(2))
    cached("f", {}, compute)
    cached("f", {}, compute)
    assert compute.calls == 2
    assert not (tmp_path / "theory").exists()


def test_a_folder_cache_computes_once_per_key(tmp_path):
    first, again, other = Counter(np.arange(3.0)), Counter(None), Counter(np.zeros(1))
    with use_cache(FolderCache(tmp_path)):
        v1 = cached("f", {"a": 1}, first)
        v2 = cached("f", {"a": 1}, again)
        cached("f", {"a": 2}, other)
    assert (first.calls, again.calls, other.calls) == (1, 0, 1)
    np.testing.assert_array_equal(v1, v2)
    assert len(list((tmp_path / "theory").glob("*.json"))) == 2


def test_a_damaged_entry_is_recomputed(tmp_path):
    cache = FolderCache(tmp_path)
    with use_cache(cache):
        cached("f", {}, Counter(1.0))
        (entry,) = (tmp_path / "theory").glob("*.json")
        entry.write_text('{"__dataclass__": "os:system", "fields": {}}')
        compute = Counter(2.0)
        assert cached("f", {}, compute) == 2.0
        assert compute.calls == 1


def test_an_unwritable_cache_still_answers(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    compute = Counter(3.0)
    with use_cache(FolderCache(blocker)):  # its theory/ folder cannot be created
        assert cached("f", {}, compute) == 3.0
        assert cached("f", {}, compute) == 3.0
    assert compute.calls == 2


def test_concurrent_writers_never_expose_a_partial_entry(tmp_path):
    cache = FolderCache(tmp_path)
    key, value = "k" * 64, encode(np.arange(200_000.0))
    start, done = threading.Event(), threading.Event()
    seen = []

    def write():
        start.wait()
        for _ in range(5):
            cache.put(key, "f", value)

    def read():
        start.wait()
        while not done.is_set():
            text = cache.get(key)
            if text is not None:
                seen.append(text == value)

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=read)
    for t in [*writers, reader]:
        t.start()
    start.set()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert all(seen)
    assert cache.get(key) == value
    assert [p.name for p in (tmp_path / "theory").iterdir()] == [f"{key}.json"]  # no temporaries


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MIMKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_folder() == tmp_path / "mine"
    monkeypatch.delenv("MIMKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "mimkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == tmp_path / "home" / ".cache" / "mimkit"


def test_a_sweep_keeps_its_theory_in_its_own_table(tmp_path):
    database = tmp_path / "results.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE points (id INTEGER)")
    calls = []

    @cached_theory(samples=100)
    def curve(link: str, alphas: tuple):
        calls.append(link)
        return np.asarray(alphas) * 2

    with sweep_theory(tmp_path):
        first = curve("z1z2", (1.0, 2.0))
    with sweep_theory(tmp_path):  # a later `mimkit plot`
        again = curve("z1z2", (1.0, 2.0))
    assert calls == ["z1z2"]
    np.testing.assert_array_equal(first, again)
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        names = [row[0] for row in conn.execute("SELECT name FROM theory")]
    assert {"points", "theory"} <= tables
    assert names == [f"{__name__}.test_a_sweep_keeps_its_theory_in_its_own_table.<locals>.curve"]


def test_a_sweep_database_that_cannot_be_opened_serves_nothing_and_keeps_quiet(tmp_path):
    cache = SweepTheoryCache(tmp_path / "missing-folder" / "results.sqlite")
    cache.put("k", "f", "1")
    assert cache.get("k") is None


def test_mimkit_theory_answers_from_the_cache_and_no_cache_bypasses_it(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MIMKIT_CACHE_DIR", str(tmp_path))
    command = ["theory", "z1z2", "--samples", "2000", "--alpha", "4", "--json"]
    assert main(command) == 0
    computed = capsys.readouterr().out
    entries = list((tmp_path / "theory").glob("*.json"))
    assert len(entries) == 2  # the loss table and the learning order

    import mimkit.theory

    def fail(*args, **kwargs):
        raise AssertionError("the cached table was computed again")

    monkeypatch.setattr(mimkit.theory, "compare_losses", fail)
    monkeypatch.setattr(mimkit.theory, "learning_stages", fail)
    assert main(command) == 0
    assert capsys.readouterr().out == computed
    with pytest.raises(AssertionError, match="computed again"):
        main([*command, "--no-cache"])
