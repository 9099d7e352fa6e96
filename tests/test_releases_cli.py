"""tools.releases takes its versions as comma lists, like every other list option."""

import pytest

from tools import releases


def test_versions_are_comma_lists():
    args = releases.parse_args(["compare", "--mlx", "0.31.2, 0.32.4", "--torch", "2.12.0,2.13.0"])
    assert (args.mlx, args.torch) == (["0.31.2", "0.32.4"], ["2.12.0", "2.13.0"])


@pytest.mark.parametrize("argv, message", [
    (["compare", "--mlx", "0.31.2", "0.32.4"], "unrecognized arguments: 0.32.4"),
    (["compare", "--mlx", "0.32.4,latest"], "'latest' is not a release number"),
    (["compare", "--mlx", "0.32.4,0.32.4"], "names a release twice"),
    (["compare", "--mlx", ","], "is not a release number"),
])
def test_bad_version_lists_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as done:
        releases.parse_args(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1 and message in err
