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


def test_no_command_help_shows_format_escapes():
    """argparse %-formats option help but prints descriptions as written: a '%%' there reaches the user."""
    sub = build_parser()._subparsers._group_actions[0].choices
    for command, parser in sub.items():
        assert "%%" not in parser.format_help(), command


def test_progress_bar_appears_after_its_delay_and_closes():
    from twin.cli.common import LazyProgress as _LazyProgress

    bar = _LazyProgress("simulating", enabled=True, delay_s=0.0)
    bar(10, 100)
    bar(100, 100)
    assert bar.bar is not None
    bar.close()
    quiet = _LazyProgress("simulating", enabled=True, delay_s=3600.0)
    quiet(10, 100)
    assert quiet.bar is None
