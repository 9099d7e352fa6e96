"""Gzipped asv results files (the committed noise runs are .json.gz) read like plain ones."""

import gzip
import os
import shutil

import pytest

from tools import noise
from tools.cli import ToolError
from tools.results import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "results", "reports", "h100", "noise-run1-0e70d0aa.json.gz")
PLAIN = os.path.join(ROOT, "results", "h100", "0e70d0aa-existing-py3.12-mlx0.32.4-torch2.11.0.json")


def test_a_gzipped_file_loads_as_its_plain_copy(tmp_path):
    plain = tmp_path / "run.json"
    with gzip.open(COMMITTED, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    zipped, unzipped = load_file(COMMITTED), load_file(str(plain))
    assert zipped.path == COMMITTED
    assert (zipped.machine, zipped.commit, zipped.env) == (unzipped.machine, unzipped.commit, unzipped.env)
    assert zipped.results._results == unzipped.results._results


def test_noise_reads_the_committed_gzipped_run(capsys):
    assert noise.main([COMMITTED, PLAIN]) in (0, 1)  # 1: noisier than the limits, not an input error
    out = capsys.readouterr().out
    assert "noise-run1-0e70d0aa.json.gz (h100, 0e70d0aa" in out and "| latency" in out


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b'{"version": 2, "commit_h')[:-8]])
def test_a_broken_gzip_is_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.json.gz"
    path.write_bytes(content)
    with pytest.raises(ToolError, match=r"broken\.json\.gz is not a readable gzip file"):
        load_file(str(path))


def test_a_gzipped_non_results_file_names_the_gz_path(tmp_path):
    path = tmp_path / "other.json.gz"
    path.write_bytes(gzip.compress(b"[1, 2]"))
    with pytest.raises(ToolError) as caught:
        load_file(str(path))
    assert str(caught.value).startswith(f"{path} is not a readable asv results file")
