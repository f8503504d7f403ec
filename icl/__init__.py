"""ICL, ilert's condition language: parse, check and evaluate the conditions of an alert
source's ``eventFilter``, and tell whether two conditions can both hold.

A package of its own with no project imports: the providers check a filter at preview,
the routing guard compares filters, and ops evaluate them on real alerts. The sandbox, the
referee of these, keeps an evaluator of its own so that a bug here cannot hide there.
"""

from icl.condition import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_PATTERN_CHARS,
    MAX_PATTERN_SIZE,
    MAX_REPEAT,
    UNKNOWN,
    And,
    Compare,
    IclSyntaxError,
    Literal,
    Node,
    Not,
    NotEmulated,
    Operand,
    Or,
    Path,
    PatternError,
    check,
    compile_pattern,
    disjoint,
    evaluate,
    level_context,
    level_details,
    level_event,
    level_summary,
    literals,
    matches,
    parse,
    paths,
    pattern_problem,
    resolve,
    walk,
)

__all__ = [
    "MAX_CHARS", "MAX_DEPTH", "MAX_PATTERN_CHARS", "MAX_PATTERN_SIZE", "MAX_REPEAT", "UNKNOWN",
    "And", "Compare", "IclSyntaxError", "Literal", "Node", "Not", "NotEmulated", "Operand", "Or",
    "Path", "PatternError", "check", "compile_pattern", "disjoint", "evaluate", "level_context",
    "level_details", "level_event", "level_summary", "literals", "matches", "parse", "paths",
    "pattern_problem", "resolve", "walk",
]
