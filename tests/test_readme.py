"""The README's library example runs as written (keeps the README true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    scope: dict = {}
    exec(compile(blocks[0], str(README), "exec"), scope)
    fit = scope["fit"].to_dict()
    # the reference analysis's g_x fit at 20 MeV: Table II's MLE region (published 0.13-1.99 e-3, 1 sigma)
    assert 1.3e-4 < fit["mle"]["gx"] < 1.99e-3 and fit["dof"] == 1
    assert set(scope["m"].to_dict()["mle"]) == {"mu_numu"}
    assert scope["ex"].to_dict()["method"] == "wilks" and len(scope["ex"].to_dict()["contours"]) >= 1


def test_readme_commands_name_existing_cli_commands():
    from click.testing import CliRunner

    from cevnsfit.cli import main

    text = README.read_text()
    for cmd in set(re.findall(r"`cevnsfit ([a-z0-9-]+)", text)):
        res = CliRunner().invoke(main, [cmd, "--help"])
        assert res.exit_code == 0, f"README names `cevnsfit {cmd}`, which does not exist"
