"""YAML as twin reads every input file: safe, and strict where PyYAML is lenient.

PyYAML's safe loader keeps the last of two equal keys without a word (a scenario with two
`rack_count:` lines ran with the second) and raises a bare ValueError, with no line, for a date
that does not exist (2023-02-30). Here both are errors marked with the line they are on.
"""

import yaml
from yaml.constructor import ConstructorError

MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses repeated keys in a mapping and marks impossible dates with their line."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue  # '<<' merges may override by design; complex keys are refused by the schema
                key = key_node.value
                if key in first:
                    raise ConstructorError(
                        None,
                        None,
                        f"key '{key}' is repeated (first on line {first[key] + 1}); a key may appear once in a mapping",
                        key_node.start_mark,
                    )
                first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(
                None, None, f"'{node.value}' is not a real date or time ({exc})", node.start_mark
            ) from None


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


def load(text: str) -> object:
    """The YAML document in `text`; yaml.MarkedYAMLError (with problem_mark) for a repeated key or an
    impossible date, as for any syntax error."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def problem_line(exc: yaml.YAMLError) -> str:
    """'LINE: what is wrong' of a YAML error, the line 1-based ('?' where the error has no mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = f"{mark.line + 1}" if mark else "?"
    kind = "" if isinstance(exc, ConstructorError) else "YAML syntax error: "
    return f"{line}: {kind}{getattr(exc, 'problem', None) or exc}"
