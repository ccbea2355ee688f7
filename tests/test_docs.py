"""The README's configuration table names every setting the code reads."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_setting_is_documented():
    readme = ROOT.joinpath("README.md").read_text()
    sources = [*ROOT.joinpath("cdp_site/settings").glob("*.py"), ROOT / "cdp_site/database.py", ROOT / "cdp_site/management/commands/cdp_demo.py"]
    read = set()
    for source in sources:
        read |= set(re.findall(r'env\.(?:str|bool|int|list|mandatory)\(\s*"([A-Z_][A-Z0-9_]*)"', source.read_text()))
        read |= set(re.findall(r'"([A-Z_][A-Z0-9_]*)" in env', source.read_text()))
    assert read, "found no settings: the pattern is stale"
    missing = sorted(name for name in read if f"`{name}`" not in readme)
    assert not missing, f"README.md's configuration table lacks: {missing}"
