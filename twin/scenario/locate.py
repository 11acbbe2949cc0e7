"""Where in the YAML a validation error is: the line of the field it names, its dotted path, and the message a
user reads (did-you-mean for unknown keys, what a strict type needs, values cut to 80 characters)."""

import datetime as dt
import difflib
import re

import yaml
from pydantic import BaseModel

from twin.errors import clip, did_you_mean
from twin.scenario.facility import COOLING_TYPES
from twin.scenario.schema import Scenario


def _node_at(root, loc):
    """The YAML node at a pydantic location, and whether the last key was found."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node = value
                    break
            else:
                return node, False
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node, False
    return node, True


_FIELD_PATH = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*")


def _mentioned_loc(root, loc, msg):
    """loc, or the location of the first field that a model-level message names below it and that the
    YAML holds (a check of step against duration names 'step': its line, not the top level's)."""
    node, found = _node_at(root, loc)
    if not found or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return loc
    for match in _FIELD_PATH.finditer(msg.removeprefix("Value error, ")):
        parts = tuple(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]", match.group(0)) if p)
        for base in (loc[:k] for k in range(len(loc), -1, -1)):  # the message may name it from a parent
            if _node_at(root, base + parts)[1]:
                return base + parts
    return loc


def path_at(node, mark, path=()):
    """The dotted field path of the key or value that starts at a YAML mark, or None."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = path + (str(key.value),) if isinstance(key, yaml.ScalarNode) else path
            if key.start_mark.index == mark.index or value.start_mark.index == mark.index:
                return ".".join(here).replace(".[", "[")
            found = path_at(value, mark, here)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for k, item in enumerate(node.value):
            if item.start_mark.index == mark.index:
                return ".".join(path + (f"[{k}]",)).replace(".[", "[")
            found = path_at(item, mark, path + (f"[{k}]",))
            if found:
                return found
    return None


def _key_line(root, loc):
    """1-based line of the key (or the nearest enclosing node) at loc."""
    if not loc:
        return 1
    parent, found = _node_at(root, loc[:-1])
    if found and isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(loc[-1]):
                return key.start_mark.line + 1
    return parent.start_mark.line + 1 if parent is not None else 1


def _model_at(loc):
    """The pydantic model class whose fields sit at loc (for did-you-mean on unknown keys)."""
    model = Scenario
    for k, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if k and loc[k - 1] == "cooling" and part in COOLING_TYPES:
            model = COOLING_TYPES[part]
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        candidates += [a for c in candidates for a in getattr(c, "__args__", ())]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return None
        model = nxt
    return model


def _without_tags(loc):
    """Drop the discriminator tag pydantic puts after 'cooling' (the YAML has no such key)."""
    return tuple(p for k, p in enumerate(loc) if not (k and loc[k - 1] == "cooling" and p in COOLING_TYPES))


def format_error(err, source, root):
    tagged = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tag = (err.get("ctx") or {}).get("tag")
        allowed = ", ".join(f"'{t}'" for t in COOLING_TYPES)
        err = {
            "type": "value_error",
            "loc": tagged + ("type",),
            "input": tag,
            "msg": (
                f"unknown type{did_you_mean(tag, COOLING_TYPES)}; allowed: {allowed}"
                if tag is not None
                else f"required field is missing; allowed: {allowed}"
            ),
        }
        tagged = err["loc"]
    loc = _without_tags(tagged)
    if err["type"] == "value_error" and root is not None:  # a check across fields: point at the one it names
        loc = _mentioned_loc(root, loc, err["msg"])
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[") or "(top level)"
    line = _key_line(root, loc) if root is not None else 1
    where = f"{source}:{line}: {path}"
    if err["type"] == "extra_forbidden":
        model = _model_at(tagged[:-1])
        allowed = sorted(model.model_fields) if model else []
        return f"{where}: unknown key '{loc[-1]}'{did_you_mean(loc[-1], allowed)}; allowed keys: {', '.join(allowed)}"
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, bool) and err["type"] in ("int_type", "float_type"):
        msg = f"a number is needed here, not the boolean {str(value).lower()}"
    elif err["type"] == "string_type":
        kind = (
            "a list"
            if isinstance(value, list)
            else "a mapping"
            if isinstance(value, dict)
            else "a number"
            if isinstance(value, (int, float))
            else "nothing"
        )
        msg = f"text is needed here, not {kind}"
    elif err["type"] == "string_pattern_mismatch" and loc == ("name",):
        msg = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters (it names the results folder)"
    elif isinstance(value, float) and err["type"] == "int_type":
        msg = "a whole number is needed here"
    elif isinstance(value, str) and err["type"] in ("int_type", "float_type"):
        try:
            float(value)
            msg = (
                f"a number is needed here; YAML reads {clip(value)} as text (an exponent needs a dot: write "
                f"1.0e3, not 1e3)"
            )
        except ValueError:
            msg = "a number is needed here, not text (write it without quotes or units)"
    text = (
        value.isoformat()
        if isinstance(value, (dt.date, dt.datetime))
        else str(value).lower()
        if isinstance(value, bool)
        else repr(value)
    )
    shown = "" if isinstance(value, (dict, list)) else f" = {clip(text)}"
    return f"{where}{shown}: {msg}"


def drop_misspelt_missing(errors):
    """A 'missing' field next to an unknown key that is its near-spelling is one mistake, reported once."""
    unknown = {(e["loc"][:-1], str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden" and e["loc"]}

    def misspelt(e):
        if e["type"] != "missing" or not e["loc"]:
            return False
        parent, name = e["loc"][:-1], str(e["loc"][-1])
        return any(p == parent and difflib.get_close_matches(k, [name], n=1, cutoff=0.6) for p, k in unknown)

    return [e for e in errors if not misspelt(e)]
