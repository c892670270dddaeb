"""Every ```python block of README.md runs.

Blocks run in order in one namespace per block (each block must stand
alone), in this process so numba compiles shared code once; the working
directory is a temporary one, so files a block writes do not litter.
"""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                    re.MULTILINE | re.DOTALL)


def _title(i, code):
    first = next((line for line in code.splitlines() if line.strip()
                  and not line.startswith(("import", "from"))), "")
    return f"block{i}:{first[:30]}"


def test_readme_has_python_examples():
    assert BLOCKS, "README.md has no ```python blocks"


@pytest.mark.parametrize("code", BLOCKS, ids=[_title(i, c) for i, c in enumerate(BLOCKS)])
def test_readme_block_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
