"""contrib/sensu read the way `sensuctl create -f` reads it, field names checked against sensu-go's own types.

No Sensu Go package exists in Debian (`apt-cache policy sensu-go-backend sensu-go-agent sensu-go-cli`
prints nothing), so the test follows sensuctl's source instead of running it. From sensu-go's
cli/resource/parse.go (sensu/sensu-go), `Parse`:

    // 3. If the stream is YAML, split it on '---' to support multiple yaml documents.
    // 3. Convert the YAML to JSON document-by-document.
    // 4. Unmarshal the JSON one resource at a time.

It has split in two ways over the releases: `splitResources`, "The resources should be separated
by a line containing only "---"" (every piece before such a line is kept, even an empty one), and
earlier `bytes.Split(b, []byte("\\n---\\n"))`. Each piece goes through `yaml.YAMLToJSON` (a piece
of comments alone becomes `null`) and then `for dec.More() { var w types.Wrapper; dec.Decode(&w) }`.
types/wrapper.go's `Wrapper.UnmarshalJSON` resolves `ResolveRaw(w.TypeMeta.APIVersion,
w.TypeMeta.Type)` (an empty type does not resolve), fails with "no spec provided" without `spec`,
and decodes the spec with `dec.DisallowUnknownFields()`; any failure makes Parse return "some
resources couldn't be parsed" (sensu/sensu-go#3219).
"""

import pytest
import yaml

from daemons import CONTRIB

SENSU = CONTRIB / "sensu"

# Field names (their JSON tags) from sensu-go's api/core/v2 protobuf definitions:
# meta.proto (ObjectMeta, TypeMeta), check.proto (CheckConfig), entity.proto (Entity),
# secret.proto (the CheckConfig's secret reference), metrics.proto (MetricTag).
OBJECT_META = {"name", "namespace", "labels", "annotations", "created_by"}
WRAPPER = {"type", "api_version", "metadata", "spec"}
CHECK_CONFIG = {"command", "handlers", "high_flap_threshold", "interval", "low_flap_threshold", "publish",
                "runtime_assets", "subscriptions", "proxy_entity_name", "check_hooks", "stdin", "subdue", "cron",
                "ttl", "timeout", "proxy_requests", "round_robin", "output_metric_format",
                "output_metric_handlers", "env_vars", "metadata", "max_output_size", "discard_output", "secrets",
                "output_metric_tags", "pipelines"}
ENTITY = {"entity_class", "system", "subscriptions", "last_seen", "deregister", "deregistration", "user", "redact",
          "metadata", "sensu_agent_version", "keepalive_handlers"}
SECRET_REFERENCE = {"name", "secret"}
METRIC_TAG = {"name", "value"}
# secrets/v1 is the commercial distribution's, not in sensu-go's source: the Secret's spec as the
# docs describe it ("A secret resource definition refers to a secrets id and a secrets provider",
# https://docs.sensu.io/sensu-go/latest/operations/manage-secrets/secrets).
SPECS = {("core/v2", "CheckConfig"): CHECK_CONFIG, ("core/v2", "Entity"): ENTITY, ("secrets/v1", "Secret"): {"id", "provider"}}


def split_by_lines(text):
    """splitResources: a line that is exactly '---' ends a piece (bufio drops the '\\r' of '\\r\\n')."""
    pieces, current = [], ""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # bufio.ScanLines: no empty line after the last newline
    for line in lines:
        line = line[:-1] if line.endswith("\r") else line
        if line == "---":
            pieces.append(current)
            current = ""
        else:
            current += line + "\n"
    if current:
        pieces.append(current)
    return pieces


def split_by_separator(text):
    """The earlier Parse: bytes.Split on '\\n---\\n'."""
    return text.split("\n---\n")


def sensuctl_resources(text, split):
    """The resources sensuctl would create, or AssertionError where it reports a resource it cannot parse."""
    resources = []
    for number, piece in enumerate(split(text)):
        document = yaml.safe_load(piece)
        assert isinstance(document, dict), "resource %d is %r: sensuctl cannot resolve its type" % (number, document)
        assert set(document) <= WRAPPER, "resource %d: unknown top-level fields %s" % (number, set(document) - WRAPPER)
        key = (document.get("api_version") or "core/v2", document.get("type"))
        assert key in SPECS, "resource %d: sensuctl cannot resolve %s %r" % (number, *key)
        assert document.get("spec") is not None, "resource %d: no spec provided" % number
        resources.append(document)
    return resources


def check(resource):
    """Every field a name the sensu-go type has, in the resource and in the nested types used here."""
    key = (resource["api_version"], resource["type"])
    assert set(resource) == WRAPPER, resource
    assert set(resource["metadata"]) <= OBJECT_META and resource["metadata"]["name"], resource["metadata"]
    spec = resource["spec"]
    assert set(spec) <= SPECS[key], (key, set(spec) - SPECS[key])
    for secret in spec.get("secrets", []) if key[1] == "CheckConfig" else []:
        assert set(secret) == SECRET_REFERENCE, secret
    for tag in spec.get("output_metric_tags", []) if key[1] == "CheckConfig" else []:
        assert set(tag) == METRIC_TAG, tag


@pytest.mark.parametrize("name", ["laozhang-balance.yml", "laozhang-balance-secrets.yml", "laozhang-key.yml"])
@pytest.mark.parametrize("split", [split_by_lines, split_by_separator])
def test_sensuctl_accepts_every_resource(name, split):
    text = (SENSU / name).read_text()
    resources = sensuctl_resources(text, split)
    # PyYAML's own reading finds the same resources: no piece was lost or merged.
    assert resources == [d for d in yaml.safe_load_all(text)]
    for resource in resources:
        check(resource)
    by_type = {r["type"]: r for r in resources}
    entity, probe = by_type["Entity"], by_type["CheckConfig"]["spec"]
    assert entity["spec"]["entity_class"] == "proxy"
    assert probe["proxy_entity_name"] == entity["metadata"]["name"]
    assert probe["round_robin"] is True and probe["subscriptions"] and probe["publish"] is True
    assert probe["output_metric_format"] == "nagios_perfdata"
    assert 600 <= probe["interval"] <= 900 and probe["timeout"] > 10
    command = probe["command"].split()
    assert command[0] == "/usr/lib/nagios/plugins/check_laozhang_balance"
    assert {"-w", "-c"} <= set(command) and not any(word.startswith("--token=") for word in command)
    if "Secret" in by_type:
        (secret,) = probe["secrets"]
        assert secret == {"name": "LAOZHANG_ACCESS_TOKEN", "secret": by_type["Secret"]["metadata"]["name"]}
        assert "--token-file" not in command
    else:
        option = "--key-file" if "--key-file" in command else "--token-file"
        assert command[command.index(option) + 1].startswith("/etc/sensu/")


@pytest.mark.parametrize("split", [split_by_lines, split_by_separator])
def test_a_comment_only_first_piece_is_what_sensuctl_rejects(split):
    """The file as it was: comments, then '---', then the resources. PyYAML drops that piece; sensuctl does not."""
    text = (SENSU / "laozhang-balance.yml").read_text()
    comments = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    old = comments + "---\n" + body + "\n"
    assert len(list(yaml.safe_load_all(old))) == 2
    with pytest.raises(AssertionError, match="resource 0 is None"):
        sensuctl_resources(old, split)


def test_a_misspelt_field_is_caught():
    text = (SENSU / "laozhang-balance.yml").read_text().replace("round_robin:", "roundrobin:")
    (_, probe) = sensuctl_resources(text, split_by_lines)
    with pytest.raises(AssertionError, match="roundrobin"):
        check(probe)
