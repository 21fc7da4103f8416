"""`python -m vla_core.serve`: --help, one-line errors with exit code 2, and the warning when not on loopback."""

import shutil
import subprocess
import sys

import pytest
from serve_fixtures import ROOT, free_port

from vla_core.serve.__main__ import main
from vla_core.serve.server import exposure_warning


def test_help_is_fast_and_names_the_interface():
    out = subprocess.run([sys.executable, "-m", "vla_core.serve", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for flag in ("--host", "--port", "--checkpoint", "--max-size", "--threads", "--workers", "/healthz"):
        assert flag in out.stdout


@pytest.mark.parametrize("args,match", [
    (["--checkpoint", "/no/such/checkpoint"], "checkpoint not found: /no/such/checkpoint"),
    (["--port", "70000"], "--port must be in"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--max-size", "10"], "--max-size must be at least 1024"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, match, checkpoint, capsys):
    assert main(["--checkpoint", str(checkpoint), *args] if "--checkpoint" not in args else args) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and err.startswith("python -m vla_core.serve: error:") and len(err.splitlines()) == 1


def test_a_checkpoint_folder_without_a_checkpoint_and_corrupt_weights_exit_2(checkpoint, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--checkpoint", str(tmp_path / "empty")]) == 2
    assert "not a checkpoint folder" in capsys.readouterr().err
    bad = shutil.copytree(checkpoint, tmp_path / "corrupt")
    (bad / "model.safetensors").write_bytes(b"\x00" * 64)
    # the config passes the pre-check; the weights fail while loading, after the port is bound
    assert main(["--checkpoint", str(bad), "--port", str(free_port())]) == 2
    assert "corrupt weights" in capsys.readouterr().err


def test_listening_beyond_loopback_warns_loudly():
    assert exposure_warning("127.0.0.1") is None and exposure_warning("localhost") is None
    for host in ("0.0.0.0", "192.168.1.20"):
        w = exposure_warning(host)
        assert w.startswith("WARNING") and "no authentication" in w
    assert "every network interface" in exposure_warning("0.0.0.0")
