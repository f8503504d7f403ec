"""One schema per resource: each field declared once, everything else derived from it.

A resource's inputs are the keys of a ``TypedDict``, each annotated with its type as a
Pulumi input and a ``Spec`` (terraform-provider-ilert keeps a schema map beside its CRUD in
the same way)::

    class AlertSourceInputs(TypedDict, total=False):
        name: Required[Annotated[In[str], Spec("The alert source's name.", check=...)]]
        active: Annotated[In[bool], Spec("False pauses the source.", default=True)]

From that one declaration:

- the resource's constructor is typed (``**inputs: Unpack[AlertSourceInputs]``: mypy checks
  every keyword and its type in the programs that use it);
- ``check`` validates with a pydantic model built from the value types, defaults and checks;
- create and update build the API body (``Spec.api``, ``Codec.to_api``);
- read builds the outputs and the inputs a refresh compares (``Codec.outputs``);
- diff compares the desired inputs with the recorded outputs (``Codec.differs``), and only
  the fields marked ``replaces`` force a replacement;
- the stack file's keys (``Spec.stack_key``), ``make discover`` and the configuration
  reference (docs/configuration.md) read the same specs.

Adding a field is one annotated line plus its tests. A field whose API shape or comparison
is not a plain value says so with a ``Codec`` (a reference by id or name, a list of ids, a
write-only secret): the codec is the only place that knows it.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    Annotated,
    Any,
    ClassVar,
    NotRequired,
    Protocol,
    Required,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

from pulumi import Output
from pulumi.dynamic import CheckFailure
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    create_model,
)
from pydantic import Field as PydanticField
from pydantic.alias_generators import to_camel

from providers import itl, messages

T = TypeVar("T")
#: ``pulumi.Input[T]`` without its forward reference, so the schema can be read at runtime.
In: TypeAlias = Union[T, Awaitable[T], Output[T]]  # noqa: UP007 (a generic alias needs Union)
PROVIDER_KEY = "__provider"


class Omit:
    """Said by ``Codec.to_api``: leave this field out of the request body."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = Omit()


class Refs(Protocol):
    """What a codec may ask of the provider: ids and names of the objects fields refer to."""

    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        """The id of the ``kind`` object given by id or exact name (failing, names ``setting``)."""
        ...

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        """The name of the object of ``kind`` with this id, or None."""
        ...


class Codec:
    """How one field travels from the stack to the API and back, and how it is compared.

    The plain codec: the value is sent as it is (unset: left out), read back as it is
    (``None`` from the API means the field's default), and compared with ``==``.
    """

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        """The request-body value of a declared ``value`` (``OMIT`` leaves it out); ``olds``
        are an update's recorded outputs (empty for a create)."""
        return OMIT if value is None else value

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        """The outputs this field contributes, from the object as the API returned it
        (``live``, keyed as the API speaks; ``field.api`` is this field's name there)."""
        value = live.get(str(field.api))
        return {field.key: field.spec.default if value is None else value}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        """Whether the desired value (``news[key]``) differs from the recorded one; an
        unknown desired value (preview) is a change unless the codec knows better."""
        desired = news.get(key)
        return is_unknown(desired) or bool(desired != olds.get(key))

    def extra_outputs(self, key: str) -> tuple[str, ...]:
        """Output names this codec adds besides ``key``."""
        return ()

    def kept(self, value: object) -> object:
        """The request-body value that keeps ``value`` (the field as the API returned it)
        as it is: what an update sends for a field the inputs leave alone (``put_back``)."""
        return value


PLAIN = Codec()


class SetOf(Codec):
    """A list whose order means nothing: sent and shown sorted, compared as a set. An API's
    null stays null (it may mean "all", as Level's event types do)."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        return OMIT if value is None else sorted(value)  # type: ignore[call-overload]

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        value = live.get(str(field.api))
        return {field.key: None if value is None else sorted(value)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        recorded = olds.get(key)
        if is_unknown(desired) or (desired is None) != (recorded is None):
            return True
        return set(desired or ()) != set(recorded or ())


class IdList(Codec):
    """Ids of other ilert objects, sent as ``[{"id": ...}]``; a set (its order means nothing)."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            return OMIT
        ids: Iterable[int] = value  # type: ignore[assignment]
        return [{"id": item} for item in sorted(set(ids))]

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        items: Iterable[Mapping[str, Any]] = live.get(str(field.api)) or ()
        return {field.key: sorted(int(item["id"]) for item in items)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or set(desired or ()) != set(olds.get(key) or ())


@dataclass(frozen=True)
class Reference(Codec):
    """Another ilert object given by numeric id or exact name, sent as ``{"id": ...}``.

    Outputs the declared form (id or name, so refresh compares like with like) and both
    ``<key>_id`` and ``<key>_name``; an id is compared with the id in state, a name with
    the name in state, so a refresh never shows a change of form as drift.
    """

    kind: str

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None or value == "":  # "" (where a field allows it): none linked
            return OMIT
        ref: int | str = value  # type: ignore[assignment]
        return {"id": refs.resolve(self.kind, ref, key)}

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        found: Mapping[str, Any] = live.get(str(field.api)) or {}
        object_id = found.get("id")
        name = found.get("name") or (
            refs.name_of(self.kind, object_id) if object_id is not None else None
        )
        if declared == "" and object_id is None:  # declared none, and none there
            return {field.key: "", f"{field.key}_id": None, f"{field.key}_name": None}
        # State written before the declared form was kept says nothing: by id, as then.
        by_id = declared is None or declared == "" or isinstance(as_reference(declared), int)
        return {
            field.key: object_id if by_id else (name or object_id),
            f"{field.key}_id": object_id,
            f"{field.key}_name": name,
        }

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        if is_unknown(desired):
            return True
        if desired == "":
            return olds.get(f"{key}_id") is not None
        ref = as_reference(desired)
        if isinstance(ref, int):
            return ref != olds.get(f"{key}_id")
        return ref != olds.get(f"{key}_name")

    def extra_outputs(self, key: str) -> tuple[str, ...]:
        return (f"{key}_id", f"{key}_name")

    def kept(self, value: object) -> object:
        # {id} is what a write takes (SimpleIdField64); an object without one (ilert's
        # legacy inline support hours) is sent back as it came.
        if isinstance(value, Mapping) and value.get("id") is not None:
            return {"id": value["id"]}
        return value


def as_reference(value: object) -> int | str:
    """A reference as declared: an id (numbers arrive as floats from the engine) or a name."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def template_text(value: object) -> str:
    """The text of an ilert template as the API returned it: ``{"textTemplate": ...}`` (read
    with ``?include=textTemplate``), else its ``elements`` written out; none is ""."""
    if not isinstance(value, Mapping):
        return ""
    text = value.get("textTemplate")
    if isinstance(text, str):
        return text
    written = []
    for element in value.get("elements") or ():
        if not isinstance(element, Mapping):
            continue
        kind, val = element.get("type"), str(element.get("val") or "")
        if kind == "TEXT":
            written.append(val)
            continue
        call = ""
        if element.get("func"):
            args = ", ".join(
                json.dumps(arg["S"]) if "S" in arg else str(arg.get("N"))
                for arg in element.get("args") or () if isinstance(arg, Mapping)
            )
            call = f".{element['func']}({args})"
        written.append(f"{{{{ {val}{call} }}}}")
    return "".join(written)


def _as_template(text: str) -> dict[str, str]:
    return {"textTemplate": text}


def _declared_if_same(declared: object, live: T, same: Callable[[Any, T], bool]) -> object:
    """The declared value where the API's says the same (so a refresh keeps the user's own
    spelling and shows no change), else the API's."""
    return declared if declared is not None and same(declared, live) else live


class TextTemplate(Codec):
    """An ITL template (providers/itl.py) written as a string, sent as ilert's
    ``{"textTemplate": ...}``; "" is none (left out of the body: ilert then keeps none).
    Compared normalised, since ilert keeps templates as elements and writes them out again.
    """

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        return _as_template(str(value)) if value else OMIT

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        text = template_text(live.get(str(field.api)))
        return {field.key: _declared_if_same(declared, text, itl.same)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or not itl.same(desired, olds.get(key))


class Condition(Codec):
    """An ICL condition where "" means none (left out of the body: ilert then keeps none);
    read back as the text ilert keeps ("" for none)."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        return value if value else OMIT

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        return {field.key: live.get(str(field.api)) or ""}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or (desired or "") != (olds.get(key) or "")


class TemplateList(Codec):
    """Templates whose order means nothing (``servicesTemplate``): strings, sent as
    ``[{"textTemplate": ...}]``; [] clears them; compared as a set of normalised texts."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            return OMIT
        texts: Iterable[str] = value  # type: ignore[assignment]
        return [_as_template(text) for text in texts]

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        texts = [template_text(item) for item in live.get(str(field.api)) or ()]
        return {field.key: _declared_if_same(declared, texts, _same_templates)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or not _same_templates(desired, olds.get(key))


def _same_templates(first: object, second: object) -> bool:
    if not isinstance(first, list) or not isinstance(second, list):
        return first == second
    return {itl.normalised(str(t)) for t in first} == {itl.normalised(str(t)) for t in second}


class LinkTemplates(Codec):
    """Links on each alert (``linkTemplates``): ``{text, href}`` written by hand (``href`` an
    ITL template), sent as ``{text, hrefTemplate: {textTemplate}}``; [] clears them. Read
    back from ``text``, or ``linkTextTemplate`` where ilert keeps the name as a template.
    Compared in order (the order the responder sees them), each ``href`` normalised."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            return OMIT
        links: Iterable[Mapping[str, str]] = value  # type: ignore[assignment]
        return [
            {"text": link["text"], "hrefTemplate": _as_template(link["href"])} for link in links
        ]

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        links = [
            {
                "text": str(item.get("text") or template_text(item.get("linkTextTemplate"))),
                "href": template_text(item.get("hrefTemplate")),
            }
            for item in live.get(str(field.api)) or ()
            if isinstance(item, Mapping)
        ]
        return {field.key: _declared_if_same(declared, links, _same_links)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or not _same_links(desired, olds.get(key))


def _same_links(first: object, second: object) -> bool:
    if not isinstance(first, list) or not isinstance(second, list) or len(first) != len(second):
        return first == second
    return all(
        isinstance(a, Mapping) and isinstance(b, Mapping)
        and a.get("text") == b.get("text") and itl.same(a.get("href"), b.get("href"))
        for a, b in zip(first, second, strict=True)
    )


@dataclass(frozen=True)
class ValueMapping(Codec):
    """A value template and its mappings (``priorityTemplate``: ``priority`` HIGH/LOW;
    ``severityTemplate``: ``severity`` 1-5), written ``{valueTemplate, mappings: [{value,
    <target>}]}``; {} is none. Sent with the template as ``{"textTemplate": ...}``; compared
    with the template normalised and the mappings as a set (each value maps once)."""

    target: str

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if not value:
            return OMIT
        given: Mapping[str, Any] = value  # type: ignore[assignment]
        return {
            "valueTemplate": _as_template(str(given["valueTemplate"])),
            "mappings": [
                {"value": item["value"], self.target: item[self.target]}
                for item in given["mappings"]
            ],
        }

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        found = live.get(str(field.api))
        value: dict[str, Any] = {}
        if isinstance(found, Mapping):
            value = {
                "valueTemplate": template_text(found.get("valueTemplate")),
                "mappings": [
                    {"value": item.get("value"), self.target: item.get(self.target)}
                    for item in found.get("mappings") or () if isinstance(item, Mapping)
                ],
            }
        return {field.key: _declared_if_same(declared, value, self.same)}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        return is_unknown(desired) or not self.same(desired, olds.get(key))

    def same(self, first: object, second: object) -> bool:
        if not isinstance(first, Mapping) or not isinstance(second, Mapping):
            return first == second
        if not first or not second:
            return not first and not second

        def pairs(value: Mapping[str, Any]) -> set[tuple[str, object]]:
            return {
                (str(item.get("value")), item.get(self.target))
                for item in value.get("mappings") or () if isinstance(item, Mapping)
            }

        return itl.same(first.get("valueTemplate"), second.get("valueTemplate")) and (
            pairs(first) == pairs(second)
        )


@dataclass(frozen=True)
class ReferenceList(Codec):
    """Other ilert objects (``services``), each by numeric id or exact name, sent as
    ``[{"id": ...}]`` (ids sorted, as ilert orders them); [] clears them; a set.

    Outputs each object in the form it was declared (an id or a name; one not declared, by
    its id) and both ``<key>_ids`` and ``<key>_names`` (sorted by id), so that ids are
    compared with ids and names with names, as ``Reference`` does.
    """

    kind: str

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            return OMIT
        given: Iterable[int | str] = value  # type: ignore[assignment]
        ids = {refs.resolve(self.kind, ref, f"{key}[{index}]") for index, ref in enumerate(given)}
        return [{"id": object_id} for object_id in sorted(ids)]

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        items = sorted(
            (item for item in live.get(str(field.api)) or () if isinstance(item, Mapping)),
            key=lambda item: int(item["id"]),
        )
        wanted = {as_reference(ref) for ref in declared or ()}  # type: ignore[attr-defined]
        shown: list[int | str] = []
        ids: list[int] = []
        names: list[str | None] = []
        for item in items:
            object_id = int(item["id"])
            name = item.get("name") or refs.name_of(self.kind, object_id)
            ids.append(object_id)
            names.append(name)
            shown.append(name if name in wanted and object_id not in wanted else object_id)
        return {field.key: shown, f"{field.key}_ids": ids, f"{field.key}_names": names}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        if is_unknown(desired):
            return True
        ids, names = olds.get(f"{key}_ids"), olds.get(f"{key}_names")
        if ids is None or names is None:
            return True
        wanted = {as_reference(ref) for ref in desired or ()}
        # Each declared one is there, and each one there is declared (by id or by name:
        # one object given both ways is still one).
        found = all(ref in (ids if isinstance(ref, int) else names) for ref in wanted)
        covered = all(
            object_id in wanted or name in wanted
            for object_id, name in zip(ids, names, strict=False)
        )
        return not (found and covered)

    def extra_outputs(self, key: str) -> tuple[str, ...]:
        return (f"{key}_ids", f"{key}_names")

    def kept(self, value: object) -> object:
        items: Iterable[Mapping[str, Any]] = value  # type: ignore[assignment]
        return [{"id": item["id"]} for item in items]


@dataclass(frozen=True)
class Spec:
    """Everything about one field besides its type: the one place it is declared.

    ``api``: the field's name in the API (by default the key in the schema's ``api_case``; None:
    not an API field). ``stack_key``: its key in an integration of the stack file (camelCase
    of the key by default; None: not set from the stack file). ``default``: what an
    omitted field means (None: unset). ``when_declared``: an omitted field is not managed at
    all (left as it is in the API, never compared); ``put_back``: and since the API's
    whole-object update resets what its body leaves out, an update sends such a field back
    as the API has it (``Codec.kept``). ``include_only``: the API returns it only when asked
    with ``?include=`` (never in lists); ``listed``: False for another field lists lack.
    ``check`` runs on a set value and raises
    ``ValueError`` with the sentence a user reads; ``parse`` runs first, on the raw value;
    ``rule`` runs on every value, set or not, with pydantic's ``ValidationInfo`` (for rules
    that tie fields together). ``item`` checks each element of a list. ``compared``: False
    for a field that says how to create, not what to have (``adopt``): never a change.
    """

    doc: str
    default: object = None
    api: str | None = ""
    stack_key: str | None = ""
    secret: bool = False
    replaces: bool = False
    include_only: bool = False
    listed: bool = True
    when_declared: bool = False
    put_back: bool = False
    compared: bool = True
    choices: tuple[str, ...] = ()
    check: Callable[[Any], Any] | None = None
    parse: Callable[[Any], Any] | None = None
    item: Callable[[Any], Any] | None = None
    rule: Callable[..., Any] | None = None
    codec: Codec = PLAIN
    example: str = ""


@dataclass(frozen=True)
class Field:
    """One field of a schema, as read from its declaration."""

    key: str
    spec: Spec
    value_type: Any
    required: bool
    api_case: Callable[[str], str] = to_camel

    @property
    def api(self) -> str | None:
        """The field's name in the API (the schema's case of the key, unless the spec says)."""
        return self.api_case(self.key) if self.spec.api == "" else self.spec.api

    @property
    def stack_key(self) -> str | None:
        return to_camel(self.key) if self.spec.stack_key == "" else self.spec.stack_key


class InvalidInputsError(messages.KnownFailure, ValueError):
    """Inputs that ``check`` refuses reached ``create`` or ``update`` (a program that calls a
    provider without the engine's check, or a rule that needs a value known only then)."""


@dataclass
class Schema:
    """The fields of one resource, read from its inputs ``TypedDict``, and what derives from them.

    ``outputs`` names the outputs that are not inputs (made by the API: ids, keys, URLs,
    times); ``what`` says what the resource is, for messages.
    """

    inputs: type
    what: str
    outputs: tuple[str, ...] = ()
    secret_outputs: tuple[str, ...] = ()
    #: How the API spells a field's key: camelCase (ilert) unless said (Level: snake_case).
    api_case: Callable[[str], str] = to_camel
    fields: dict[str, Field] = field(init=False)
    model: type[BaseModel] = field(init=False)

    UNKNOWN_CONTEXT: ClassVar[str] = "unknown"

    def __post_init__(self) -> None:
        self.fields = _read_fields(self.inputs, self.api_case)
        self.model = _build_model(self.inputs.__name__.removesuffix("Inputs"), self.fields)

    # -- names ------------------------------------------------------------------------------
    @property
    def replaces(self) -> list[str]:
        """The inputs whose change forces a replacement."""
        return [key for key, each in self.fields.items() if each.spec.replaces]

    @property
    def secrets(self) -> list[str]:
        """Every secret output (secret inputs echoed as outputs included)."""
        inputs = [key for key, each in self.fields.items() if each.spec.secret]
        return [*inputs, *self.secret_outputs]

    @property
    def output_names(self) -> list[str]:
        """Every output of the resource, inputs echoed first."""
        names: list[str] = []
        for key, each in self.fields.items():
            names += [key, *each.spec.codec.extra_outputs(key)]
        return [*names, *self.outputs]

    @property
    def defaults(self) -> dict[str, Any]:
        """Each field that has a default, with it (``check`` fills these in when omitted)."""
        return {
            key: each.spec.default
            for key, each in self.fields.items()
            if each.spec.default is not None and not each.required
        }

    @property
    def include_only(self) -> list[str]:
        """The API names of the fields the API returns only when asked (``?include=``)."""
        return [str(each.api) for each in self.fields.values() if each.spec.include_only]

    @property
    def unlisted(self) -> list[str]:
        """The inputs whose API field a listing lacks (include-only ones and the others)."""
        return [
            key for key, each in self.fields.items()
            if each.api is not None and (each.spec.include_only or not each.spec.listed)
        ]

    def declared_props(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The props a resource registers: every input and every output (None until known),
        so that each is an attribute of the resource."""
        unknown = sorted(set(inputs) - set(self.fields))
        if unknown:
            raise TypeError(
                f"{self.what} has no input {unknown[0]!r}"
                + _did_you_mean(unknown[0], self.fields)
            )
        missing = [key for key, each in self.fields.items() if each.required and key not in inputs]
        if missing:
            raise TypeError(f"{self.what} needs the input {missing[0]!r}")
        props: dict[str, Any] = dict.fromkeys(self.output_names)
        props.update(inputs)
        return props

    # -- check ------------------------------------------------------------------------------
    def validate(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
        """Check inputs: (normalised inputs with Unknowns kept, one failure per bad field).

        Unknown values (preview, before a dependency exists) are left out of validation and
        passed through as they are; rules that need them run once they are known.
        """
        known, unknown = split_unknown(news)
        try:
            validated = self.model.model_validate(known, context={self.UNKNOWN_CONTEXT: unknown})
        except ValidationError as error:
            failures = messages.check_failures(
                error, skip=unknown, secret_fields=self._secret_inputs(), known=self.fields
            )
            if failures:
                return dict(news), failures
            # Only rules about still-unknown values failed: pass the inputs, defaults filled in.
            defaults = {
                key: each.spec.default
                for key, each in self.fields.items()
                if key not in news and not each.required
            }
            return {**defaults, **news}, []
        inputs = validated.model_dump(exclude=unknown)
        for key, each in self.fields.items():  # not declared, not managed: not an input
            if each.spec.put_back and inputs.get(key) is None and key not in news:
                inputs.pop(key, None)
        inputs.update({name: news[name] for name in unknown})
        if PROVIDER_KEY in news:
            inputs[PROVIDER_KEY] = news[PROVIDER_KEY]
        return inputs, []

    def parse(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The resource's inputs, validated; invalid ones fail naming each field and rule as
        ``check`` would (secret fields never quoted), never as a pydantic dump."""
        try:
            valid = self.model.model_validate({k: v for k, v in props.items() if k in self.fields})
        except ValidationError as error:
            failures = messages.check_failures(
                error, secret_fields=self._secret_inputs(), known=self.fields
            )
            reasons = " ".join(failure.reason for failure in failures)
            raise InvalidInputsError(
                f"The resource's inputs are invalid: {reasons} Fix them in the stack file (or "
                f"the program that declares the resource) and run again."
            ) from None
        return valid.model_dump()

    # -- the API ----------------------------------------------------------------------------
    def body(
        self, args: Mapping[str, Any], refs: Refs, olds: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The request body for these (parsed) inputs: API fields only, unset ones left out.

        ``olds`` (an update's recorded outputs) lets a codec send only what changed.
        """
        body: dict[str, Any] = {}
        for key, each in self.fields.items():
            if each.api is None:
                continue
            sent = each.spec.codec.to_api(key, args.get(key), refs, olds or {})
            if sent is not OMIT:
                body[each.api] = sent
        return body

    def left_alone(self, args: Mapping[str, Any]) -> list[str]:
        """The fields an update must send back as the API has them: ``put_back`` fields
        these (parsed) inputs leave out."""
        return [
            key for key, each in self.fields.items()
            if each.spec.put_back and args.get(key) is None
        ]

    def kept(self, args: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
        """The body entries that keep each field ``args`` leave alone as it is in ``live``
        (the object as the API returned it, include-only fields included)."""
        body: dict[str, Any] = {}
        for key in self.left_alone(args):
            each = self.fields[key]
            value = live.get(str(each.api))
            if value is not None:
                body[str(each.api)] = each.spec.codec.kept(value)
        return body

    def api_value(self, key: str, value: object, refs: Refs) -> object:
        """The API's form of one recorded output (``OMIT`` for none): what a listing lacks
        is taken from state this way while the object has not changed."""
        return self.fields[key].spec.codec.to_api(key, value, refs, {})

    def live_outputs(
        self, live: Mapping[str, Any], declared: Mapping[str, Any], refs: Refs
    ) -> dict[str, Any]:
        """The outputs for the object as the API returned it (camelCase or snake_case keys as
        the API speaks), each input field in the form it was ``declared``.

        A field managed only when declared (``when_declared``) that is not declared is
        reported as None: the stack does not manage it.
        """
        outputs: dict[str, Any] = {}
        for key, each in self.fields.items():
            if each.api is None:
                outputs[key] = declared.get(key, each.spec.default)
                continue
            if each.spec.when_declared and declared.get(key) is None:
                outputs.update(dict.fromkeys((key, *each.spec.codec.extra_outputs(key))))
                continue
            outputs.update(each.spec.codec.outputs(each, live, declared.get(key), refs))
        return outputs

    def read_inputs(self, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs ``read`` returns (so refresh shows drift): each input as the API now has
        it, in its declared form; unmanaged fields left out; secrets marked secret."""
        from pulumi.runtime import rpc  # noqa: PLC0415 (the provider server's wire helper)

        inputs: dict[str, Any] = {}
        for key, each in self.fields.items():
            value = outputs.get(key)
            if each.spec.when_declared and value is None:
                continue
            secret = each.spec.secret and value is not None
            inputs[key] = rpc.wrap_rpc_secret(value) if secret else value
        return inputs

    # -- diff -------------------------------------------------------------------------------
    def changed(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """The inputs whose desired value differs from the recorded one (no network)."""
        found = []
        for key, each in self.fields.items():
            desired = news.get(key)
            if not each.spec.compared or (each.spec.when_declared and desired is None):
                continue
            if each.spec.when_declared and olds.get(key) is None:
                # Not managed until now: state holds nothing to compare with, and whatever
                # the API has (set by hand, or nothing) must become what is declared.
                found.append(key)
            elif each.spec.codec.differs(key, news, olds):
                found.append(key)
        return found

    # -- the stack file and the docs --------------------------------------------------------
    def stack_fields(self) -> dict[str, Field]:
        """The fields set from an integration of the stack file, by stack key."""
        return {
            str(each.stack_key): each for each in self.fields.values() if each.stack_key is not None
        }

    def _secret_inputs(self) -> list[str]:
        return [key for key, each in self.fields.items() if each.spec.secret]


def is_unknown(value: object) -> bool:
    """True for a value the engine does not know yet (preview), also inside lists."""
    from pulumi.output import Unknown  # noqa: PLC0415

    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    return False


def split_unknown(news: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Split checked inputs into known values (without ``__provider``) and unknown names."""
    known: dict[str, Any] = {}
    unknown: set[str] = set()
    for key, value in news.items():
        if key == PROVIDER_KEY:
            continue
        if is_unknown(value):
            unknown.add(key)
        else:
            known[key] = value
    return known, unknown


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    guess = messages.suggest(word, known)
    return f"; did you mean {guess!r}?" if guess else ""


def _read_fields(inputs: type, api_case: Callable[[str], str]) -> dict[str, Field]:
    """The fields of an inputs ``TypedDict``, in declaration order.

    Whether a field is required is read from its ``Required[...]`` wrapper: with postponed
    annotations Python 3.11 cannot see it when it builds ``__required_keys__``.
    """
    hints = typing.get_type_hints(inputs, include_extras=True)
    found: dict[str, Field] = {}
    for key, hint in hints.items():
        annotated, required = hint, False
        while get_origin(annotated) in (Required, NotRequired):
            required = get_origin(annotated) is Required
            annotated = get_args(annotated)[0]
        if get_origin(annotated) is not Annotated:
            raise TypeError(f"{inputs.__name__}.{key} has no Spec (Annotated[In[...], Spec(...)])")
        wrapped, *metadata = get_args(annotated)
        specs = [item for item in metadata if isinstance(item, Spec)]
        if len(specs) != 1:
            raise TypeError(f"{inputs.__name__}.{key} needs exactly one Spec")
        found[key] = Field(key, specs[0], _value_type(wrapped), required, api_case)
    return found


def _value_type(wrapped: Any) -> Any:
    """``T`` of ``In[T]``: the union's members that are neither awaitables nor Outputs."""
    members = get_args(wrapped) if get_origin(wrapped) is Union else (wrapped,)
    plain = [
        member for member in members
        if get_origin(member) not in (Output, Awaitable, typing.Awaitable)
        and member is not Output
    ]
    return plain[0] if len(plain) == 1 else Union[tuple(plain)]  # noqa: UP007


def _one_of(key: str, choices: Sequence[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"{key} must be one of {', '.join(choices)}; got {value!r}.")
        return value

    return check


def _when_set(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        return value if value is None else check(value)

    return run


def _with_items(value_type: Any, item: Callable[[Any], Any]) -> Any:
    """``list[T]`` (or ``list[T] | None``) whose elements ``item`` checks one by one, so an
    error names its element (``teams[1]``)."""
    if get_origin(value_type) is Union:
        return Union[tuple(_with_items(member, item) for member in get_args(value_type))]  # noqa: UP007
    if get_origin(value_type) is list:
        (element,) = get_args(value_type)
        return list[Annotated[element, BeforeValidator(item)]]  # type: ignore[valid-type]
    return value_type


def _build_model(name: str, fields: Mapping[str, Field]) -> type[BaseModel]:
    """The pydantic model ``check`` validates with: types, defaults and checks of the specs."""
    definitions: dict[str, Any] = {}
    for key, each in fields.items():
        spec = each.spec
        validators: list[Any] = []
        if spec.parse is not None:  # a required field's null gets the field's own sentence
            parse = spec.parse if each.required else _when_set(spec.parse)
            validators.append(BeforeValidator(parse))
        if spec.choices:
            validators.append(AfterValidator(_when_set(_one_of(key, spec.choices))))
        if spec.check is not None:
            validators.append(AfterValidator(_when_set(spec.check)))
        if spec.rule is not None:
            validators.append(AfterValidator(spec.rule))
        value_type = each.value_type
        if spec.item is not None:
            value_type = _with_items(value_type, spec.item)
        if validators:
            value_type = Annotated[(value_type, *validators)]
        if each.required:
            definitions[key] = (value_type, ...)
        elif spec.rule is not None:  # a rule runs on an omitted field too
            definitions[key] = (value_type, PydanticField(spec.default, validate_default=True))
        else:
            definitions[key] = (value_type, PydanticField(spec.default))
    model: type[BaseModel] = create_model(
        f"{name}Args",
        __config__=ConfigDict(extra="forbid", hide_input_in_errors=True),
        **definitions,
    )
    return model
