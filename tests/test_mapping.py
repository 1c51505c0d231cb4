"""The mapping file: lookups, defaults and the FILE:LINE errors of a bad file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.mapping import Mapping, MappingError, load_mapping, merge_dimensions

FIXTURE = Path(__file__).parent / "fixtures" / "mapping.yml"


def write(tmp_path: Path, text: str, name: str = "mapping.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    return caught.value.errors


def test_fixture_lookups() -> None:
    mapping = load_mapping(FIXTURE)

    # tenant: null is dropped, so only the dimensions with a value come back.
    assert mapping.for_project("proj_search") == {"team": "search", "feature": "semantic-search", "environment": "prod"}
    assert mapping.for_api_key("key_abc") == {"team": "support", "feature": "ticket-classifier"}
    assert mapping.for_team("8f2a-team") == {"team": "data"}
    assert mapping.for_host("gpu-berlin-01") == {"team": "ml-platform", "feature": "fine-tuning"}
    assert mapping.host_rate("gpu-berlin-01") == Decimal("6.88")
    assert mapping.host_gpu_model("gpu-berlin-01") == "H100"
    assert str(mapping.host_timezone("gpu-berlin-01")) == "Europe/Berlin"
    assert mapping.feature("nightly-enrichment") == {"interactive": False, "owner": "U0DATA01", "team": "data"}
    assert mapping.owner("team", "search") == "U0SEARCH1"
    # "workflow" names the feature dimension.
    assert mapping.owner("feature", "nightly-enrichment") == "U0DATA01"
    assert mapping.owner("workflow", "nightly-enrichment") == "U0DATA01"


def test_unquoted_rate_is_exact() -> None:
    mapping = load_mapping(FIXTURE)
    # a100-01 writes 3.43 without quotes; YAML would read a float, the loader reads the text.
    assert mapping.host_rate("a100-01") == Decimal("3.43")
    assert str(mapping.host_rate("a100-01")) == "3.43"


def test_unknown_ids_are_empty() -> None:
    mapping = load_mapping(FIXTURE)
    assert mapping.for_project("proj_unmapped") == {}
    assert mapping.for_api_key(None) == {}
    assert mapping.for_host("nowhere") == {}
    assert mapping.host_rate("nowhere") is None
    assert mapping.host_timezone("a100-01") is None
    assert mapping.feature("unknown-feature") == {}
    assert mapping.owner("team", "nobody") is None
    assert mapping.owner("tenant", "acme") is None


def test_from_tags() -> None:
    mapping = load_mapping(FIXTURE)
    tags = {"cost-center": "search", "app": "semantic-search", "customer": "", "other": "x", "namespace": None}
    # Empty and null tag values and unlisted keys are skipped.
    assert mapping.from_tags(tags) == {"team": "search", "feature": "semantic-search"}
    assert mapping.from_tags(None) == {}
    assert mapping.from_tags({}) == {}


def test_missing_file_is_empty(tmp_path: Path) -> None:
    mapping = load_mapping(tmp_path / "absent.yml")
    assert mapping.for_project("proj_search") == {}
    assert load_mapping(None) == Mapping()


def test_empty_file_is_empty(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "# nothing mapped yet\n"))
    assert mapping.projects == {}
    assert mapping.hosts == {}


def test_merge_dimensions_explicit_wins() -> None:
    explicit = {"team": "row-team", "feature": None, "tenant": ""}
    mapped = {"team": "mapped-team", "feature": "mapped-feature", "tenant": "acme"}
    # None and "" count as unset, so the mapping fills them; a value in the row wins.
    assert merge_dimensions(explicit, mapped) == {"team": "row-team", "feature": "mapped-feature", "tenant": "acme"}


def test_unknown_keys_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "projects:\n"
        "  p1: {team: search, colour: red}\n"
        "hosts:\n"
        "  h1: {hourly_rate: 3}\n"
        "features:\n"
        "  f1: {latency: low}\n"
        "budgets: {}\n",
    )
    assert errors_of(path) == [
        f"{path}:2: projects.p1.colour: colour: unknown key; expected one of team, feature, tenant, user, project, environment, via",
        f"{path}:4: hosts.h1.hourly_rate: hourly_rate: unknown key; expected one of team, feature, tenant, user, project, "
        "environment, gpu_model, hourly_rate_usd, timezone",
        f"{path}:6: features.f1.latency: latency: unknown key; expected one of interactive, owner, team, description",
        f"{path}:7: budgets: budgets: unknown section; expected one of projects, api_keys, teams, hosts, tag_keys, features, owners",
    ]


def test_bad_values_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts:\n"
        "  h1: {hourly_rate_usd: \"-6.88\"}\n"
        "  h2: {hourly_rate_usd: six}\n"
        "  h3: {timezone: Mars/Olympus}\n"
        "tag_keys:\n"
        "  cost-center: department\n"
        "features:\n"
        "  f1: {interactive: maybe, owner: bob}\n"
        "owners:\n"
        "  squad: {search: U0SEARCH1}\n"
        "api_keys:\n"
        "  k1: {team: no}\n",
    )
    assert errors_of(path) == [
        f"{path}:2: hosts.h1.hourly_rate_usd: -6.88: must be a finite amount of zero or more",
        f'{path}:3: hosts.h2.hourly_rate_usd: six: not a number; write the amount in USD such as "6.88"',
        f"{path}:4: hosts.h3.timezone: Mars/Olympus: unknown IANA time zone; use a name such as Europe/Berlin or UTC",
        f"{path}:6: tag_keys.cost-center: department: unknown dimension; expected one of team, feature, tenant, user, "
        "project, environment",
        f"{path}:8: features.f1.interactive: maybe: expected true or false",
        f"{path}:8: features.f1.owner: bob: not a Slack user id; expected an id such as U0123ABCD",
        f"{path}:10: owners: squad: unknown dimension; expected one of team, feature, tenant, user, project, environment",
        f"{path}:12: api_keys.k1.team: no: YAML reads this as a boolean; quote it if it is a name",
    ]


def test_via_litellm_marks_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "projects:\n"
        "  proj_proxy: {team: platform, via: litellm}\n"
        "  proj_direct: {team: search}\n"
        "api_keys:\n"
        "  key_proxy: {via: litellm}\n"
        "  key_direct: {team: support}\n",
    )
    mapping = load_mapping(path)
    assert mapping.proxied_projects == {"proj_proxy"}
    assert mapping.proxied_api_keys == {"key_proxy"}
    # `via` is no dimension: the entry's dimensions stay as they were.
    assert mapping.for_project("proj_proxy") == {"team": "platform"}
    assert mapping.for_api_key("key_proxy") == {}
    assert mapping.via_proxy("proj_proxy", None)
    assert mapping.via_proxy(None, "key_proxy")
    assert mapping.via_proxy("proj_direct", "key_proxy")
    assert not mapping.via_proxy("proj_direct", "key_direct")
    assert not mapping.via_proxy(None, None)
    assert not Mapping().via_proxy("proj_proxy", "key_proxy")


def test_bad_via_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "projects:\n"
        "  p1: {via: openrouter}\n"
        "api_keys:\n"
        "  k1: {team: search, via: }\n"
        "  k2: {via: [litellm]}\n"
        "teams:\n"
        "  t1: {team: data, via: litellm}\n",
    )
    assert errors_of(path) == [
        f"{path}:2: projects.p1.via: openrouter: unknown proxy; expected litellm",
        f"{path}:4: api_keys.k1.via: null: a value is required",
        f"{path}:5: api_keys.k2.via: [...]: expected a single value, not a list or mapping",
        f"{path}:7: teams.t1.via: via: unknown key; expected one of team, feature, tenant, user, project, environment",
    ]


def test_structure_errors(tmp_path: Path) -> None:
    duplicate = write(tmp_path, "hosts:\n  h1: {team: a}\n  h1: {team: b}\n", "duplicate.yml")
    assert errors_of(duplicate) == [f"{duplicate}:3: hosts.h1: h1: duplicate key; keep one entry"]

    listed = write(tmp_path, "projects:\n  - p1\n  - p2\n", "listed.yml")
    assert errors_of(listed) == [f"{listed}:2: projects: [...]: expected a mapping of key: value lines"]

    scalar = write(tmp_path, "just text\n", "scalar.yml")
    assert errors_of(scalar) == [
        f"{scalar}:1: mapping: just text: the file must be a YAML mapping of sections projects, api_keys, teams, "
        "hosts, tag_keys, features, owners"
    ]

    nested = write(tmp_path, "projects:\n  p1: {team: [a, b]}\n", "nested.yml")
    assert errors_of(nested) == [f"{nested}:2: projects.p1.team: [...]: expected a single value, not a list or mapping"]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  p1: {team: search\nhosts: {}\n")
    errors = errors_of(path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:3: yaml: ")
    assert errors[0].endswith(": invalid YAML; fix the syntax")


def test_not_utf8_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("projects:\n  p1: {team: caf\u00e9}\n".encode("latin-1"))
    assert errors_of(path) == [f"{path}:2: file: b'\\xe9}}\\n': invalid UTF-8; save the file as UTF-8"]


def test_numeric_ids_are_text(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  12345: {team: 42}\n")
    mapping = load_mapping(path)
    assert mapping.for_project("12345") == {"team": "42"}
    assert mapping.for_project(12345) == {"team": "42"}


def test_directory_rejected(tmp_path: Path) -> None:
    assert errors_of(tmp_path) == [f"{tmp_path}: file: '{tmp_path}': cannot be read (Is a directory); check the path"]
