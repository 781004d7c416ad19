"""The kernel cache: in memory per signature, on disk across processes, atomic and self-healing.

Each test uses its own cache folder (``SYMHESS_CACHE_DIR``), in this process and in the
subprocesses it starts, so file counts are exact.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import symhess
from symhess import cache

ROOT = Path(__file__).resolve().parents[1]
X = np.array([0.3, -1.2, 0.8])


def energy(x):
    return np.sum(np.exp(x) * x[::-1] ** 2) + np.prod(x)


def energy_hessian(x):
    """Closed form of the Hessian of `energy`: exp(x_i) x_{n-1-i}^2 summed, plus the product."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        j = n - 1 - i
        H[i, i] += np.exp(x[i]) * x[j] ** 2
        if i == j:
            H[i, i] += 4 * np.exp(x[i]) * x[i] + 2 * np.exp(x[i])
        else:
            H[i, j] += 2 * np.exp(x[i]) * x[j]
            H[j, i] += 2 * np.exp(x[i]) * x[j]
            H[j, j] += 2 * np.exp(x[i])
    for i in range(n):
        for j in range(n):
            if i != j:
                H[i, j] += np.prod(np.delete(x, [i, j]))
    return H


def kernel_files(folder):
    return sorted(Path(folder).glob("k*.py"))


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYMHESS_CACHE_DIR", str(folder))
    return folder


def test_closed_form_reference_is_right():
    """`energy_hessian` agrees with central differences of `energy` (second differences)."""
    h, n = 1e-4, len(X)
    fd = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            fd[i, j] = (energy(X + ei + ej) - energy(X + ei - ej) - energy(X - ei + ej)
                        + energy(X - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(energy_hessian(X), fd, rtol=1e-6, atol=1e-7)


def test_memory_cache_per_signature(fresh_cache):
    H = symhess.hessian(energy)
    c64 = H.compile(X)
    assert H.compile(X + 1.0) is c64
    c32 = H.compile(X.astype(np.float32))
    c4 = H.compile(np.append(X, 0.5))
    assert len({id(c64), id(c32), id(c4)}) == 3
    assert len(kernel_files(fresh_cache)) == 3
    np.testing.assert_allclose(H(X), energy_hessian(X), rtol=1e-12)
    x4 = np.append(X, 0.5)
    np.testing.assert_allclose(H(x4), energy_hessian(x4), rtol=1e-12)


def test_disk_cache_reused_by_a_new_function_object(fresh_cache):
    symhess.hessian(energy)(X)
    (path,) = kernel_files(fresh_cache)
    before = path.stat()
    np.testing.assert_allclose(symhess.hessian(energy)(X + 0.1), energy_hessian(X + 0.1),
                               rtol=1e-12)
    assert kernel_files(fresh_cache) == [path]
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


# --- across processes ---------------------------------------------------------------------------
CHILD = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    import numpy as np
    import symhess

    def energy(x):
        return np.sum(np.exp(x) * x[::-1] ** 2) + np.prod(x)

    go = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if go is not None:                      # start together with the other process
        Path(str(go) + "." + sys.argv[2]).touch()
        while not go.exists():
            time.sleep(0.005)
    x = np.array([0.3, -1.2, 0.8])
    np.save(sys.stdout.buffer, symhess.hessian(energy)(x))
''')


def start_child(script, cache, *argv):
    env = dict(os.environ, SYMHESS_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(script), *map(str, argv)], cwd=str(ROOT),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def child_result(proc):
    import io
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return np.load(io.BytesIO(out))


@pytest.fixture
def child_script(tmp_path):
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    return path


def test_disk_cache_across_processes(tmp_path, child_script):
    cache = tmp_path / "shared-cache"
    np.testing.assert_allclose(child_result(start_child(child_script, cache)), energy_hessian(X),
                               rtol=1e-12)
    (path,) = kernel_files(cache)
    before = path.stat()
    all_files = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    np.testing.assert_allclose(child_result(start_child(child_script, cache)), energy_hessian(X),
                               rtol=1e-12)
    assert kernel_files(cache) == [path]
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
        (before.st_ino, before.st_mtime_ns, before.st_size)
    # Numba's own cache (next to the kernel file) was reused too: no new files at all.
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == all_files


@pytest.mark.attack("two processes compiling one kernel at once")
def test_two_processes_compiling_at_once(tmp_path, child_script):
    cache = tmp_path / "race-cache"
    go = tmp_path / "go"
    procs = [start_child(child_script, cache, go, k) for k in range(2)]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.{k}").exists() for k in range(2)):
        assert time.monotonic() < deadline, "children did not start"
        assert all(p.poll() is None for p in procs), procs[0].stderr.read().decode()
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        np.testing.assert_allclose(child_result(proc), energy_hessian(X), rtol=1e-12)
    (path,) = kernel_files(cache)
    assert not list(cache.glob("*.tmp"))
    # The entry left behind is valid: a fresh process and this one both load it.
    np.testing.assert_allclose(child_result(start_child(child_script, cache)), energy_hessian(X),
                               rtol=1e-12)
    assert kernel_files(cache) == [path]


# --- atomic writes and damaged entries ----------------------------------------------------------
def test_writes_leave_no_temporary_files(fresh_cache):
    for n in (2, 3, 4):
        symhess.hessian(energy)(np.linspace(0.1, 1.0, n))
    assert len(kernel_files(fresh_cache)) == 3
    assert not [p for p in fresh_cache.iterdir() if p.suffix == ".tmp" or ".tmp" in p.name]


@pytest.mark.attack("unusable cache folder")
def test_failed_write_leaves_nothing_behind_and_falls_back(fresh_cache, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.warns(cache.CacheWarning, match="No space left on device") as caught:
        got = symhess.hessian(energy)(X)
    assert len(caught) == 1 and str(fresh_cache) in str(caught[0].message)
    np.testing.assert_allclose(got, energy_hessian(X), rtol=1e-12)
    monkeypatch.undo()
    assert not kernel_files(fresh_cache)
    assert not [p for p in fresh_cache.iterdir() if ".tmp" in p.name]


@pytest.mark.attack("damaged or truncated kernel entry")
@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "edit", "binary"])
def test_damaged_entry_is_rebuilt(fresh_cache, damage):
    x = X + 0.05 * len(damage)             # a value per case: nothing is shared in memory
    symhess.hessian(energy)(x)
    (path,) = kernel_files(fresh_cache)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        path.write_bytes(b"raise SystemExit('this must never run')\n")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "edit":                  # a plausible edit that keeps the file importable
        path.write_bytes(good.replace(b"np.exp", b"np.sin"))
    else:
        path.write_bytes(b"\xff\xfe\x00" * 50)
    np.testing.assert_allclose(symhess.hessian(energy)(x), energy_hessian(x), rtol=1e-12)
    assert kernel_files(fresh_cache) == [path]
    assert path.read_bytes() == good


@pytest.mark.attack("damaged or truncated kernel entry")
def test_stamped_entry_that_does_not_import_is_rebuilt(fresh_cache):
    import hashlib
    symhess.hessian(energy)(X)
    (path,) = kernel_files(fresh_cache)
    good = path.read_bytes()
    stamp, _, _ = good.decode().partition("\n")
    bad = "def kernel(:\n"
    prefix = stamp[: stamp.rindex(" ") + 1]
    path.write_text(f"{prefix}{hashlib.sha256(bad.encode()).hexdigest()}\n{bad}")
    np.testing.assert_allclose(symhess.hessian(energy)(X), energy_hessian(X), rtol=1e-12)
    assert path.read_bytes() == good


# --- user strings never reach the generated code ------------------------------------------------
EVIL = "a'); import os #"


def test_dict_key_in_input_tree_is_harmless(fresh_cache):
    def f(p):
        return np.sum(p[EVIL] ** 3) * p["b\nimport sys"]
    p = {EVIL: X, "b\nimport sys": np.float64(2.0)}
    H = symhess.hessian(f)
    got = H(p)
    np.testing.assert_allclose(got[EVIL][EVIL], np.diag(12 * X), rtol=1e-13)
    np.testing.assert_allclose(got[EVIL]["b\nimport sys"], 3 * X ** 2, rtol=1e-13)
    np.testing.assert_allclose(got["b\nimport sys"]["b\nimport sys"], 0.0)
    for path in kernel_files(fresh_cache):
        text = path.read_text()
        assert EVIL not in text and "import os" not in text and "import sys" not in text
    source = H.compile(p).source
    assert "import os" not in source and "'); " not in source


def test_dict_key_in_output_tree_and_function_name_are_harmless(fresh_cache):
    def f(x):
        return {EVIL: np.sum(x ** 3)}
    f.__name__ = EVIL
    f.__qualname__ = EVIL
    got = symhess.hessian(f)(X)
    np.testing.assert_allclose(got[EVIL], np.diag(6 * X), rtol=1e-13)
    for path in kernel_files(fresh_cache):
        text = path.read_text()
        assert EVIL not in text
        # The name may appear, sanitised, in the header comment, never in a line that runs.
        for line in text.splitlines():
            assert "import os" not in line or line.lstrip().startswith("#"), line


@pytest.mark.attack("entry of another symhess version")
def test_kernels_of_other_generating_code_are_not_loaded(fresh_cache, monkeypatch):
    source = "import numba\n\ndef kernel():\n    return 1.0\n"
    key = cache.key_of(source)
    assert cache.module(source).kernel() == 1.0
    monkeypatch.setattr(cache, "code_version", lambda: "other code")
    assert cache.key_of(source) != key
    assert cache.load(key) is None          # its stamp names other code: not loaded


def test_the_code_version_follows_every_change_the_interpreter_would_see(tmp_path):
    """The code version is a hash of the sources' names, sizes and modification times, what
    the interpreter checks before it runs a module's compiled code: an edit that keeps the
    size, a file added in a subpackage, a new modification time, each change it; compiled
    files do not."""
    import hashlib
    import time
    from symhess.cache_version import _stamps

    def version():
        return hashlib.sha256("\n".join(sorted(_stamps(str(tmp_path), "pkg"))).encode()).digest()
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    seen = [version()]
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    (tmp_path / "notes.txt").write_text("not code")
    assert version() == seen[-1]
    stamp = os.stat(tmp_path / "a.py").st_mtime_ns
    (tmp_path / "a.py").write_text("x = 3\n")                   # the same size
    os.utime(tmp_path / "a.py", ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    seen.append(version())
    (tmp_path / "sub" / "c.py").write_text("")
    seen.append(version())
    os.utime(tmp_path / "sub" / "b.py", ns=(time.time_ns() + 2_000_000_000,) * 2)
    seen.append(version())
    assert len(set(seen)) == len(seen)
    assert cache.code_version() == cache.code_version() and len(cache.code_version()) == 16


# --- the key is the generated code: nothing that changes the code can share an entry -------------
def run_code(code, cache_folder, *argv, env=None, check=True):
    """Run ``code`` in a fresh interpreter with its own cache folder; return (result, stderr).

    The child writes its result with ``np.save`` to standard output."""
    import io
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if cache_folder is not None:
        environ["SYMHESS_CACHE_DIR"] = str(cache_folder)
    environ.update(env or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, argv)],
                          cwd=str(ROOT), env=environ, capture_output=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return np.load(io.BytesIO(proc.stdout)) if proc.stdout else None, proc.stderr.decode()


WEAK = '''
    import sys
    import numpy as np
    import symhess

    def f(x, a):
        return np.sum(x ** 3) * a

    a = {"float": 2.5, "array": np.array(2.5), "float32": np.float32(2.5)}[sys.argv[1]]
    np.save(sys.stdout.buffer, symhess.hessian(f)(np.array([1.0, 2.0]), a))
'''


@pytest.mark.parametrize("first, second", [("float", "array"), ("array", "float"),
                                           ("float", "float32")])
@pytest.mark.attack("cache key collision")
def test_weak_scalar_and_0d_array_do_not_share_a_kernel(tmp_path, first, second):
    """A Python number and a 0-d array are different kernel inputs, whatever the order."""
    folder = tmp_path / "cache"
    for kind in (first, second, first):
        got, _ = run_code(WEAK, folder, kind)
        np.testing.assert_allclose(got, np.diag(6 * np.array([1.0, 2.0]) * 2.5), rtol=1e-6)
    assert len(kernel_files(folder)) == 2


CONSTANT = '''
    import sys
    import numpy as np
    import symhess

    c = float(sys.argv[1])
    np.save(sys.stdout.buffer, symhess.hessian(lambda x: np.sum(x ** 2) * c)(np.ones(2)))
'''


@pytest.mark.attack("cache key collision")
def test_constants_differing_at_the_16th_digit(tmp_path, fresh_cache):
    """Constants equal to 15 significant digits are still different code."""
    c1, c2 = 1.0, float(np.nextafter(1.0, 2.0))     # 1.0000000000000002
    assert f"{c1:.15g}" == f"{c2:.15g}"
    for c in (c1, c2):                 # in one process: two functions, one disk folder
        got = symhess.hessian(lambda x: np.sum(x ** 2) * c)(np.ones(2))
        np.testing.assert_array_equal(got, np.diag([2 * c, 2 * c]))
    folder = tmp_path / "shared"
    for c in (c1, c2, c1, c2):         # across processes
        got, _ = run_code(CONSTANT, folder, repr(c))
        np.testing.assert_array_equal(got, np.diag([2 * c, 2 * c]))
    assert len(kernel_files(folder)) == 2


def test_printed_constants_round_trip_exactly(fresh_cache):
    """The generated code holds each float exactly (repr, or the IEEE bits in LLVM IR)."""
    import struct
    c = float(np.nextafter(0.1, 1.0))
    source = symhess.hessian(lambda x: np.sum(x ** 2) * c).compile(np.ones(2)).source
    bits = "0x%016X" % struct.unpack(">Q", struct.pack(">d", 2 * c))[0]     # H = 2 c
    assert repr(2 * c) in source or bits in source


@pytest.mark.slow
def test_deep_max_compiles_in_seconds_and_every_second_is_reported(fresh_cache, caplog):
    """np.max of a 10x11 array: the code (and the cache key, a hash of it) does not print the
    exponentially large trees of nested maxima, and the stages add up to the whole compile."""
    import logging
    X = np.arange(110.0).reshape(10, 11) / 7.0
    f = lambda x: np.max(x ** 2)
    with caplog.at_level(logging.DEBUG, logger="symhess"):
        c = symhess.hessian(f).compile(X)
        H = c(X)
    # Linear in the 110 inputs: shared subexpressions are named once. The 6105 stored entries
    # (the upper triangle) take a few hundred characters each today; a tree printed without
    # its sharing would take 2 ** 110 times more.
    entries = 110 * 111 // 2
    assert len(c.kernel_spec().assignments) <= 20 * 110
    assert len(c.source) <= 1000 * entries, len(c.source)
    expected = np.zeros((110, 110))
    expected[-1, -1] = 2.0                 # the largest entry is the last one
    np.testing.assert_array_equal(H.reshape(110, 110), expected)
    (line,) = [r.getMessage() for r in caplog.records if "compiled in" in r.getMessage()]
    total = float(line.split("compiled in ")[1].split(" s")[0])
    parts = [float(p.rsplit(" ", 2)[1]) for p in line.split("(", 1)[1].rstrip(")").split(", ")]
    assert abs(sum(parts) - total) <= 0.01 * len(parts) + 0.01


# --- Numba's cache files: damaged ones heal, planted ones never run ------------------------------
def numba_files(folder):
    return sorted(p for p in (Path(folder) / "__pycache__").glob("k*") if ".tmp." not in p.name)


def damage_file(path, how):
    good = path.read_bytes()
    path.write_bytes({"truncate": good[: len(good) // 2], "empty": b"",
                      "garbage": b"\x80\x04garbage that is no pickle" * 3}[how])


# Numba's files (.nbi, .nbc) come from kernels the Numba target compiles (SYMHESS_NATIVE=0);
# object code (.o) from the native target's.
NUMBA_TARGET = {"SYMHESS_NATIVE": "0"}


def target_env(suffix):
    return NUMBA_TARGET if suffix in (".nbi", ".nbc") else {}


@pytest.mark.attack("damaged Numba cache files")
@pytest.mark.parametrize("how", ["truncate", "empty", "garbage"])
@pytest.mark.parametrize("suffix", [".nbi", ".nbc", ".o"])
def test_damaged_numba_cache_heals(tmp_path, how, suffix):
    folder = tmp_path / "cache"
    env = target_env(suffix)
    run_code(CONSTANT, folder, "3.0", env=env)
    targets = [p for p in numba_files(folder) if p.suffix == suffix]
    assert targets
    for path in targets:
        damage_file(path, how)
    for _ in range(2):                      # the next process and the one after it
        got, err = run_code(CONSTANT, folder, "3.0", env=env)
        np.testing.assert_array_equal(got, np.diag([6.0, 6.0]))
        assert "Error" not in err
    for path in targets:                    # rebuilt: readable again
        assert path.stat().st_size > 0


@pytest.mark.attack("damaged Numba cache files")
@pytest.mark.parametrize("suffix", [".nbi", ".nbc", ".o"])
def test_damage_that_the_manifest_vouches_for_heals_too(fresh_cache, suffix, monkeypatch):
    """Damage recorded in the manifest (e.g. a disk error before it was written) makes the
    compile fail; the entry's Numba files are deleted and the compile runs once more. Object
    code carries its own checksum: the damaged file is compiled again and replaced."""
    import json
    for name, value in target_env(suffix).items():
        monkeypatch.setenv(name, value)
    x = np.array([0.7, -0.2, 1.1])
    symhess.hessian(energy)(x)
    (entry,) = kernel_files(fresh_cache)
    for path in numba_files(fresh_cache):
        if path.suffix == suffix:
            damage_file(path, "truncate")
    files = {p.name: cache.sha256(p) for p in numba_files(fresh_cache)}
    manifest = entry.with_suffix(".nbm")
    manifest.write_text(json.dumps({"code": cache.code_version(), "files": files}))
    np.testing.assert_allclose(symhess.hessian(energy)(x), energy_hessian(x), rtol=1e-12)
    assert json.loads(manifest.read_text())["files"] != files


PAYLOAD = '''
    import pickle, sys
    class Payload:
        def __reduce__(self):
            return (open, (sys.argv[1], "w"))
    for path in sys.argv[2:]:
        with open(path, "wb") as f:
            pickle.dump(Payload(), f)
'''


@pytest.mark.attack("planted cache entry")
def test_planted_numba_pickle_does_not_run(tmp_path):
    folder = tmp_path / "cache"
    marker = tmp_path / "payload-ran"
    run_code(CONSTANT, folder, "3.0", env=NUMBA_TARGET)
    targets = numba_files(folder)
    subprocess.run([sys.executable, "-c", textwrap.dedent(PAYLOAD), str(marker),
                    *map(str, targets)], check=True)
    got, _ = run_code(CONSTANT, folder, "3.0", env=NUMBA_TARGET)
    np.testing.assert_array_equal(got, np.diag([6.0, 6.0]))
    assert not marker.exists()
    # The payload is gone: a later process that did not verify would find Numba's own files.
    import pickle
    for path in numba_files(folder):
        if path.suffix == ".nbi":
            with open(path, "rb") as f:
                assert isinstance(pickle.load(f), str)        # Numba's version string


@pytest.mark.attack("planted cache entry")
def test_planted_kernel_with_a_valid_stamp_is_not_loaded(fresh_cache):
    """The old stamp (a hash of the file's own text) is no defence: the key is checked."""
    import hashlib
    x = np.array([0.2, 0.4, 0.9])
    symhess.hessian(energy)(x)
    (path,) = kernel_files(fresh_cache)
    good = path.read_text()
    first, _, source = good.partition("\n")
    evil = source + "\nkernel = lambda *args: 2 * kernel(*args)\n"
    assert evil != source
    stamp = f"# symhess-sha256: {hashlib.sha256(evil.encode()).hexdigest()} {cache.code_version()}"
    path.write_text(f"{stamp}\n{evil}")
    np.testing.assert_allclose(symhess.hessian(energy)(x), energy_hessian(x), rtol=1e-12)
    assert path.read_text() == good


@pytest.mark.attack("planted cache entry")
def test_planted_python_bytecode_is_not_loaded(fresh_cache):
    """Kernels are compiled from their verified text, never from a .pyc beside them."""
    import importlib.util
    symhess.hessian(energy)(X)
    (path,) = kernel_files(fresh_cache)
    pyc = Path(importlib.util.cache_from_source(str(path)))
    pyc.write_bytes(b"planted")
    np.testing.assert_allclose(symhess.hessian(energy)(X), energy_hessian(X), rtol=1e-12)


# --- who may write the folder and its entries ----------------------------------------------------
def foreign_uid():
    return 4242 if os.geteuid() != 4242 else 4243


@pytest.mark.attack("entry others could write")
@pytest.mark.parametrize("change", ["group-writable entry", "foreign entry", "symlinked entry"])
def test_entries_that_others_could_write_are_refused(fresh_cache, tmp_path, change):
    x = np.array([0.3, 0.5, 0.7]) + 0.01 * len(change)
    symhess.hessian(energy)(x)
    (path,) = kernel_files(fresh_cache)
    good = path.read_text()
    evil = good.replace("return out", "return 2 * out")
    if change == "group-writable entry":
        path.write_text(evil)
        os.chmod(path, 0o666)
    elif change == "foreign entry":
        if os.geteuid() != 0:
            pytest.skip("changing a file's owner needs root")
        path.write_text(evil)
        os.chown(path, foreign_uid(), -1)
    else:
        outside = tmp_path / "outside.py"
        outside.write_text(good)
        path.unlink()
        path.symlink_to(outside)
    if change == "symlinked entry":
        got = symhess.hessian(energy)(x)
    else:
        with pytest.warns(cache.CacheWarning, match=str(path.name)):
            got = symhess.hessian(energy)(x)
    np.testing.assert_allclose(got, energy_hessian(x), rtol=1e-12)
    st = os.lstat(path)
    assert not Path(path).is_symlink() and st.st_uid == os.geteuid() and not st.st_mode & 0o022
    assert path.read_text() == good
    if change == "symlinked entry":
        assert (tmp_path / "outside.py").read_text() == good       # the link was not followed


UNUSABLE = '''
    import sys, warnings
    import numpy as np
    import symhess
    warnings.simplefilter("always")
    f = lambda x: np.sum(np.exp(x) * x[::-1] ** 2) + np.prod(x)
    H = symhess.hessian(f)
    out = H(np.array([0.3, -1.2, 0.8]))
    symhess.hessian(lambda x: np.sum(x ** 4))(np.ones(2))      # a second compile: no warning
    np.save(sys.stdout.buffer, out)
'''


@pytest.mark.parametrize("kind", ["a file", "group-writable", "foreign owner", "unwritable home",
                                  "under a file"])
@pytest.mark.attack("unusable cache folder")
def test_unusable_folder_warns_once_and_still_computes(tmp_path, kind):
    folder = tmp_path / "cache"
    env = {}
    if kind == "a file":
        folder.write_text("not a folder")
        reason = "not a folder"
    elif kind == "group-writable":
        folder.mkdir()
        os.chmod(folder, 0o775)
        reason = "writable by group or others"
    elif kind == "foreign owner":
        if os.geteuid() != 0:
            pytest.skip("changing a folder's owner needs root")
        folder.mkdir(mode=0o700)
        os.chown(folder, foreign_uid(), -1)
        reason = "owned by user id"
    elif kind == "unwritable home":
        home = tmp_path / "home"
        home.write_text("HOME is a file")
        env = {"HOME": str(home), "XDG_CACHE_HOME": ""}
        folder, reason = None, "cannot be created"
    else:
        (tmp_path / "file").write_text("")
        folder, reason = tmp_path / "file" / "cache", "cannot be created"
    if folder is None:
        code = "import os; os.environ.pop('SYMHESS_CACHE_DIR', None)\n" + textwrap.dedent(UNUSABLE)
    else:
        code = UNUSABLE
    got, err = run_code(code, folder, env=env)
    np.testing.assert_allclose(got, energy_hessian(X), rtol=1e-12)
    warned = [line for line in err.splitlines() if "CacheWarning" in line]
    assert len(warned) == 1, err
    assert reason in warned[0] and ("home" in warned[0] or str(folder) in warned[0])
    if kind in ("group-writable", "foreign owner"):
        assert list(folder.iterdir()) == []        # nothing written into a refused folder


@pytest.mark.attack("unusable cache folder")
def test_read_only_folder_falls_back(fresh_cache, monkeypatch):
    """A folder where no file can be created (read-only, full): one warning, right numbers."""
    import tempfile as tempfile_module
    real_mkstemp = tempfile_module.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == fresh_cache.resolve():
            raise OSError(30, "Read-only file system")
        return real_mkstemp(*args, dir=dir, **kwargs)

    fresh_cache.mkdir(mode=0o700)
    monkeypatch.setattr(cache.tempfile, "mkstemp", read_only)
    with pytest.warns(cache.CacheWarning, match="Read-only file system") as caught:
        got = symhess.hessian(energy)(X + 0.3)
        again = symhess.hessian(lambda x: np.sum(x ** 4))(np.ones(2))
    assert len(caught) == 1 and str(fresh_cache) in str(caught[0].message)
    np.testing.assert_allclose(got, energy_hessian(X + 0.3), rtol=1e-12)
    np.testing.assert_allclose(again, np.diag([12.0, 12.0]), rtol=1e-15)
    assert not kernel_files(fresh_cache)


@pytest.mark.attack("unusable cache folder")
def test_no_folder_at_all_compiles_in_memory(fresh_cache, monkeypatch):
    fresh_cache.write_text("not a folder")

    def no_temp(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.tempfile, "mkdtemp", no_temp)
    with pytest.warns(cache.CacheWarning, match="in memory"):
        got = symhess.hessian(energy)(X - 0.1)
    np.testing.assert_allclose(got, energy_hessian(X - 0.1), rtol=1e-12)


def test_folder_is_created_private(fresh_cache):
    symhess.hessian(energy)(X)
    assert fresh_cache.stat().st_mode & 0o777 == 0o700
    assert (fresh_cache / "__pycache__").stat().st_mode & 0o777 == 0o700
    assert all(not p.stat().st_mode & 0o077 for p in fresh_cache.glob("k*"))


# --- housekeeping ----------------------------------------------------------------------------------
@pytest.mark.attack("files left by killed writes")
def test_orphan_temporary_files_are_removed(fresh_cache):
    symhess.hessian(energy)(X)
    (entry,) = kernel_files(fresh_cache)
    old = [fresh_cache / "k0123.abc.tmp",
           fresh_cache / "__pycache__" / f"{entry.stem}.kernel-9.py311.nbi.tmp.0123456789abcdef"]
    young = fresh_cache / "k4567.def.tmp"             # a write in progress elsewhere
    for p in old + [young]:
        p.write_text("partial")
    for p in old:
        os.utime(p, (time.time() - 2 * cache.TMP_AGE,) * 2)
    from symhess.cli import main
    assert main(["cache", "info"]) == 0
    cache.maintained.clear()
    symhess.hessian(lambda x: np.sum(x ** 5))(np.ones(2))     # a new entry: housekeeping runs
    assert not any(p.exists() for p in old) and young.exists()


def test_old_and_excess_entries_are_evicted(fresh_cache, monkeypatch):
    import hashlib
    symhess.hessian(energy)(X)
    (current,) = kernel_files(fresh_cache)
    source = "x = 1\n"
    stale = fresh_cache / f"k{'0' * 32}.py"
    stale.write_text(f"# symhess-sha256: {hashlib.sha256(source.encode()).hexdigest()} "
                     f"oldcode\n{source}")
    recent_other = fresh_cache / f"k{'1' * 32}.py"
    recent_other.write_text(stale.read_text())
    os.utime(stale, (time.time() - (cache.STALE_DAYS + 1) * 86400,) * 2)
    cache.maintained.clear()
    symhess.hessian(lambda x: np.sum(x ** 5))(np.ones(2))
    assert not stale.exists() and recent_other.exists() and current.exists()
    # Over the size bound: least recently used entries go, the one just written stays.
    monkeypatch.setenv("SYMHESS_CACHE_MAX_MB", "0.0001")
    cache.maintained.clear()
    got = symhess.hessian(lambda x: np.sum(x ** 6))(np.ones(2))
    np.testing.assert_allclose(got, np.diag([30.0, 30.0]))
    assert len(kernel_files(fresh_cache)) == 1 and not current.exists()


# --- reliability: killed compiles and many processes at once -------------------------------------
SCALED = '''
    import sys, time
    from pathlib import Path
    import numpy as np
    import symhess

    c = float(sys.argv[1])
    if len(sys.argv) > 2:                       # start together with the other processes
        go = Path(sys.argv[2])
        Path(f"{go}.{sys.argv[3]}").touch()
        while not go.exists():
            time.sleep(0.005)
    f = lambda x: np.sum(np.exp(x) * x[::-1] ** 2) * c + np.prod(x)
    np.save(sys.stdout.buffer, symhess.hessian(f)(np.array([0.3, -1.2, 0.8])))
'''


def scaled_hessian(c):
    """The Hessian of `SCALED`'s function: `energy`'s, its first term scaled by c."""
    return c * (energy_hessian(X) - product_hessian(X)) + product_hessian(X)


def product_hessian(x):
    n = len(x)
    return np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)]
                     for i in range(n)])


def test_scaled_reference_is_right():
    """`scaled_hessian` at c = 1 is `energy_hessian`; at c = 0 the product's, by differences."""
    np.testing.assert_allclose(scaled_hessian(1.0), energy_hessian(X), rtol=1e-14)
    h, n = 1e-4, len(X)
    prod = np.prod
    fd = np.array([[(prod(X + h * (e[i] + e[j])) - prod(X + h * (e[i] - e[j]))
                     - prod(X - h * (e[i] - e[j])) + prod(X - h * (e[i] + e[j]))) / (4 * h * h)
                    for j in range(n)] for i in range(n) for e in [np.eye(n)]])
    np.testing.assert_allclose(scaled_hessian(0.0), fd, atol=1e-7)


@pytest.mark.attack("kill -9 during a compile")
@pytest.mark.slow
def test_kill_during_compile_then_a_fresh_process_is_right(tmp_path, attempts):
    import random
    rng = random.Random(14)
    folder = tmp_path / "cache"
    env = dict(os.environ, SYMHESS_CACHE_DIR=str(folder),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    wrong = []
    for k in range(20):
        c = 1.0 + (k % 7) / 8             # repeats: kills land on writes and on loads
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCALED), repr(c)],
                                cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 4.0))
        proc.kill()
        proc.wait()
        try:
            got, _ = run_code(SCALED, folder, repr(c))
            np.testing.assert_allclose(got, scaled_hessian(c), rtol=1e-12)
        except AssertionError as e:
            wrong.append(f"try {k}: {e}")
    attempts(20, 20 - len(wrong))
    assert not wrong, "\n".join(wrong)
    for c in {1.0 + (k % 7) / 8 for k in range(20)}:        # every entry left behind is sound
        got, err = run_code(SCALED, folder, repr(c))
        np.testing.assert_allclose(got, scaled_hessian(c), rtol=1e-12)
        assert "Warning" not in err


@pytest.mark.attack("{n} processes compiling into an empty cache")
@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4, 8])
def test_many_processes_compiling_into_an_empty_cache(tmp_path, n, attempts):
    """10 rounds of ``n`` processes started at once on one new function and an empty cache:
    every process's Hessian is right, and the one entry left behind loads."""
    import io
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    rounds, wrong = 10, []
    for round_ in range(rounds):
        folder, go = tmp_path / f"cache{round_}", tmp_path / f"go{round_}"
        env["SYMHESS_CACHE_DIR"] = str(folder)
        c = 1.0 + round_ / 4
        procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCALED), repr(c), str(go),
                                   str(k)], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for k in range(n)]
        deadline = time.monotonic() + 300
        while not all(Path(f"{go}.{k}").exists() for k in range(n)):
            assert time.monotonic() < deadline, "the processes did not start"
            time.sleep(0.01)
        go.touch()
        for k, proc in enumerate(procs):
            out, err = proc.communicate(timeout=600)
            try:
                assert proc.returncode == 0, err.decode()
                np.testing.assert_allclose(np.load(io.BytesIO(out)), scaled_hessian(c), rtol=1e-12)
            except AssertionError as e:
                wrong.append(f"round {round_}, process {k}: {e}")
        assert len(kernel_files(folder)) == 1
        got, _ = run_code(SCALED, folder, repr(c))          # and the entry left behind loads
        np.testing.assert_allclose(got, scaled_hessian(c), rtol=1e-12)
    attempts(rounds * n, rounds * n - len(wrong))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("a, b", [(1, True), (0.0, -0.0), ((0.0,), (-0.0,)), (2, 2.0)])
def test_static_arguments_equal_but_different_are_different_signatures(a, b):
    """Static values that compare equal (1 == True, 0.0 == -0.0) can trace differently."""
    def f(x, s):
        first = s[0] if isinstance(s, tuple) else s
        scale = 3.0 if first is True else 5.0 if type(first) is float and first == 2 else 1.0
        return np.sum(x ** 2) * np.copysign(1.0, first) * scale

    def reference(s):
        first = s[0] if isinstance(s, tuple) else s
        scale = 3.0 if first is True else 5.0 if type(first) is float and first == 2 else 1.0
        return 2 * np.copysign(1.0, first) * scale * np.eye(2)

    H = symhess.hessian(f, static_argnums=1)
    for s in (a, b, a):
        np.testing.assert_array_equal(H(np.ones(2), s), reference(s))
