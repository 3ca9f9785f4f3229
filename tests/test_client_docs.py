"""The client docs stay honest: docs/cli.md holds the CLI's real help, and every example
in docs/client.md type-checks with ``mypy --strict``.

After changing a verb, rewrite the generated part of docs/cli.md with:

    .venv/bin/python tests/test_client_docs.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from epmjobs.cli import app
from epmjobs.client.exitcodes import MEANINGS
from epmjobs.client_cli import JOB_VERBS, VERBS

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
CLIENT_MD = ROOT / "docs" / "client.md"
BEGIN = "<!-- generated: begin (`python tests/test_client_docs.py` rewrites this part) -->"
END = "<!-- generated: end -->"
HELP_ENV = {"COLUMNS": "100", "FORCE_COLOR": None, "TERMINAL_WIDTH": None, "NO_COLOR": "1"}


def verb_help(name: str) -> str:
    result = CliRunner().invoke(app, [name, "--help"], prog_name="epmjobs", env=HELP_ENV)
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip("\n")


def generated() -> str:
    lines = [BEGIN, "", "## Exit codes", "", "| Code | Meaning |", "|---:|---|"]
    lines += [f"| {int(code)} | {meaning} |" for code, meaning in MEANINGS.items()]
    lines += ["", "## Every verb's help", ""]
    for name in [v[0] for v in JOB_VERBS] + [name for name, _ in VERBS]:
        lines += [f"### {name}", "", "```text", verb_help(name), "```", ""]
    return "\n".join([*lines, END])


def rewritten(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{generated()}{tail}"


def test_cli_md_holds_the_generated_help_and_exit_codes() -> None:
    text = CLI_MD.read_text()
    assert BEGIN in text and END in text
    assert text == rewritten(text), "docs/cli.md is stale: run python tests/test_client_docs.py"


def test_client_md_examples_type_check(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", CLIENT_MD.read_text(), flags=re.S)
    assert len(blocks) >= 6
    files = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"example_{i}.py"
        path.write_text(block)
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(ROOT / ".mypy_cache"), "--config-file", "", *files],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


if __name__ == "__main__":
    CLI_MD.write_text(rewritten(CLI_MD.read_text()))
    print(f"rewrote the generated part of {CLI_MD}")
