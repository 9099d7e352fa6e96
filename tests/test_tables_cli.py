"""tools.tables' shared CLI conventions: --markdown adds a file to stdout, output folders are
created, --dtypes is a comma list, device-only results show device time, cases without any
figure (the other profile's shapes) are left out and counted."""

import math

import pytest

from asv_fixtures import write_results
from tools import tables

NAN = math.nan


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    write_results(str(folder), "box", "a" * 40,
                  {"bench_activations.ReLU.time_op": {"dim=8": {"cpu": 1e-3, "mlx_cpu": 2e-3}, "dim=99999": {}},
                   "bench_activations.ReLU.time_device": {"dim=8": {"cpu": 5e-4, "mlx_cpu": 1e-3}, "dim=99999": {}}},
                  dtyped={"bench_reductions.Softmax.time_op": {"dim=8 axi=0": {"float32": {"cpu": 3e-3},
                                                                                 "bfloat16": {"mlx_gpu": 4e-3}}}})
    return folder


@pytest.fixture
def device_only(tmp_path):
    folder = tmp_path / "device-only"
    write_results(str(folder), "box", "b" * 40,
                  {"bench_activations.ReLU.time_op": {"dim=8": {}},
                   "bench_activations.ReLU.time_device": {"dim=8": {"cpu": 5e-4}}})
    return folder


def run(folder, *args, capsys):
    status = tables.main(["--results", str(folder), *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_markdown_goes_to_the_file_and_to_stdout_in_a_new_folder(results, tmp_path, capsys):
    target = tmp_path / "made" / "here" / "t.md"
    status, out, err = run(results, "--markdown", target, "--csv", tmp_path / "csv" / "new", capsys=capsys)
    assert status == 0, err
    assert target.read_text() == out and "| ReLU / dim=8" in out
    assert sorted(p.name for p in (tmp_path / "csv" / "new").iterdir()) == ["average.csv", "detailed.csv"]


def test_rows_without_any_figure_are_left_out_and_counted(results, capsys):
    _, out, _ = run(results, capsys=capsys)
    assert "dim=99999" not in out
    assert "Not shown: 1 case(s) without a figure on any backend" in out


def test_dtypes_is_a_comma_list_with_a_table_set_and_csv_files_each(results, tmp_path, capsys):
    status, out, err = run(results, "--dtypes", "bfloat16,float32", "--ops", "softmax", "--csv", tmp_path / "c",
                           capsys=capsys)
    assert status == 0, err
    assert out.index("Results: machine box") < out.index("dtype bfloat16")  # float32 first, vocabulary order
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "average-bfloat16.csv", "average.csv", "detailed-bfloat16.csv", "detailed.csv"]
    assert run(results, "--dtype", "bfloat16", "--ops", "Softmax", capsys=capsys)[0] == 0  # the old spelling


def test_device_only_results_show_device_time(device_only, capsys):
    status, out, err = run(device_only, capsys=capsys)
    assert status == 0, err
    assert "no latency timings in these results: device time shown" in out
    assert "device time, ms per call of a batch" in out and "| ReLU / dim=8" in out and "0.50" in out
    status, out, err = run(device_only, "--measure", "latency", capsys=capsys)  # asked for: not replaced
    assert status == 2 and "no latency figures" in err
