"""The README's library example runs as written (keeps the README true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    scope: dict = {}
    exec(compile(blocks[0], str(README), "exec"), scope)
    assert scope["bsm"].shape == (2, 12, 8, 10)
    assert set(scope["res"]["mle"]) == {"mu_numu"}
    assert scope["m"]["method"] == "wilks"


def test_readme_commands_name_existing_cli_commands():
    from click.testing import CliRunner

    from cevnsfit.cli import main

    text = README.read_text()
    for cmd in set(re.findall(r"`cevnsfit ([a-z0-9-]+)", text)):
        res = CliRunner().invoke(main, [cmd, "--help"])
        assert res.exit_code == 0, f"README names `cevnsfit {cmd}`, which does not exist"
