"""Every command and option is explained by --help."""

import subprocess
import sys

import pytest

from twin.cli import build_parser


def test_top_level_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "twin", "--help"], capture_output=True, text=True).stdout
    for command in ("run", "check"):
        assert command in out


@pytest.mark.parametrize("command", ["run", "check"])
def test_each_option_has_help_text(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
    out = subprocess.run([sys.executable, "-m", "twin", command, "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in out.stdout
