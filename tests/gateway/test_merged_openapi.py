"""The merged OpenAPI document, contract files and subscriptions — against the real services
(tests/e2e/stack.py: five services + gateway on real ports)."""
from __future__ import annotations

import httpx
import pytest
import yaml

from gx_gateway.domain.openapi_merge import dangling_refs, merge, operations


@pytest.fixture(scope="module")
async def gw(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
async def doc(gw) -> dict:
    r = await gw.get("/api/v1/openapi.json")  # public: no token
    assert r.status_code == 200, r.text
    return r.json()


async def test_merged_document_has_every_service_path_and_only_api_v1(doc):
    paths = doc["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)
    for p in ("/api/v1/auth/login", "/api/v1/admin/users", "/api/v1/subscriptions",
              "/api/v1/agri/tasks", "/api/v1/agri/reports/{report_id}/submit",
              "/api/v1/workflow/queue", "/api/v1/workflow/cases/{case_id}/approve"):
        assert p in paths, p
    assert "/health" not in paths and "/openapi.json" not in paths
    assert doc["info"]["x-gx-missing"] == []
    assert {"gateway", "agri", "workflow"} <= set(doc["info"]["x-gx-sources"])
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))


async def test_schemas_are_prefixed_per_source_and_refs_resolve(doc):
    names = set(doc["components"]["schemas"])
    assert {"agri_PublishTask", "workflow_ApproveCase", "gateway_Login", "Problem"} <= names
    assert not {"HTTPValidationError", "PublishTask"} & names
    assert dangling_refs(doc) == []
    body = doc["paths"]["/api/v1/agri/tasks"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["$ref"] == "#/components/schemas/agri_PublishTask"


async def test_auth_idempotency_and_problem_shape_are_documented(doc):
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    submit = doc["paths"]["/api/v1/agri/reports/{report_id}/submit"]["post"]
    refs = [p.get("$ref") for p in submit["parameters"]]
    assert refs.count("#/components/parameters/IdempotencyKey") == 1
    assert not [p for p in submit["parameters"] if p.get("name") == "Idempotency-Key"]
    assert submit["responses"]["422"] == {"$ref": "#/components/responses/Problem422"}
    problem = doc["components"]["responses"]["Problem409"]["content"]
    assert "application/problem+json" in problem
    shape = doc["components"]["schemas"]["Problem"]["properties"]
    assert {"code", "detail", "errors"} <= set(shape)
    assert set(shape["errors"]["items"]["properties"]) == {"field", "message"}
    # Every forwarded mutation takes the key (the gateway runs it once per key).
    for method, path, op in operations(doc):
        if method in ("post", "put") and op["x-gx-source"] != "gateway":
            assert {"$ref": "#/components/parameters/IdempotencyKey"} in op["parameters"], path


async def test_a_real_problem_matches_the_documented_shape(gw, stack, doc):
    h = await stack.login(gw, "qu_tongji")
    r = await gw.post("/api/v1/agri/tasks", headers=h, json={"form_code": "A301"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert set(doc["components"]["schemas"]["Problem"]["required"]) <= set(r.json())


def test_clashing_schema_names_are_kept_apart():
    a = {"paths": {"/api/v1/a/x": {"get": {"operationId": "x", "responses": {"200": {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}}}},
        "/health": {"get": {}}},
        "components": {"schemas": {"Item": {"type": "object", "properties": {"a": {}}}}}}
    b = {"paths": {"/api/v1/b/x": {"get": {"operationId": "x", "responses": {"200": {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}}}}},
        "components": {"schemas": {"Item": {"type": "object", "properties": {"b": {}}}}}}
    doc = merge({"paths": {}}, {"a": a, "b": b, "c": None})
    assert doc["info"]["x-gx-missing"] == ["c"]
    assert set(doc["paths"]) == {"/api/v1/a/x", "/api/v1/b/x"}
    assert "a" in doc["components"]["schemas"]["a_Item"]["properties"]
    assert "b" in doc["components"]["schemas"]["b_Item"]["properties"]
    ref = doc["paths"]["/api/v1/b/x"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"]["$ref"] == "#/components/schemas/b_Item"
    assert {op["operationId"] for _, _, op in operations(doc)} == {"a_x", "b_x"}
    assert dangling_refs(doc) == []


async def test_asyncapi_and_json_schemas_are_served_read_only(gw, stack):
    r = await gw.get("/api/v1/asyncapi.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    served = yaml.safe_load(r.text)
    assert "agri.events" in served["channels"]
    # the server entry is this deployment's (the embedded broker, plaintext), not `kafka:9092`
    (server,) = served["servers"].values()
    assert server["host"] == stack.kafka_bootstrap and server["protocol"] == "kafka"
    assert "PLAINTEXT" in server["description"] and "security" not in server
    assert served["channels"]["agri.events"]["address"] == stack.topic("agri.events")
    r = await gw.get("/api/v1/schemas/events/agri.report.submitted.v1.json")
    assert r.status_code == 200 and r.json()["properties"]["submission"]
    assert (await gw.get("/api/v1/schemas/envelope.json")).status_code == 200
    # %2F reaches the gateway undecoded by the client: the kernel's input guard refuses
    # encoded slashes (400); the route itself refuses what is not a schema file (404)
    # (chains.json is a real JSON file outside contracts/schemas).
    for bad in ("..%2F..%2Fservices%2Fworkflow%2Fgx_workflow%2Fchains.json",
                "..%2F..%2Fpyproject.toml", "%2Fetc%2Fpasswd",
                "events%2F..%2F..%2Fgx_contracts%2Froles.py", "..%2Fasyncapi.yaml"):
        r = await gw.get(f"/api/v1/schemas/{bad}")
        assert r.status_code == 400 and r.json()["code"] == "path_invalid", (bad, r.text)
    for bad in ("events/nope.json", "events/..yaml", "..json"):
        r = await gw.get(f"/api/v1/schemas/{bad}")
        assert r.status_code == 404, (bad, r.status_code)
    # read-only: a write falls through to the proxy, which wants a token (then 404: no such service)
    assert (await gw.put("/api/v1/schemas/envelope.json", json={})).status_code == 401


async def test_region_grants_topics_and_the_subscriber_sees_how_to_connect(gw, stack):
    region, sub = await stack.login(gw, "qu_tongji"), await stack.login(gw, "sheng_xitong")
    url = "/api/v1/admin/subscribers/sheng_xitong/topics"
    r = await gw.post(url, headers=region, json={"grant": ["agri.events", "workflow.events"]})
    assert r.status_code == 200, r.text
    assert r.json()["topics"] == ["agri.events", "workflow.events"]
    again = await gw.post(url, headers=region, json={"grant": ["agri.events"]})
    assert again.json()["granted"] == [] and again.json()["topics"] == r.json()["topics"]
    r = await gw.get("/api/v1/subscriptions", headers=sub)
    assert r.status_code == 200, r.text
    body = r.json()
    names = [t["name"] for t in body["topics"]]
    assert names == ["agri.events", "workflow.events"]
    agri = body["topics"][0]
    assert agri["topic"] == stack.topic("agri.events")  # the physical (prefixed) name
    types = {e["type"] for e in agri["events"]}
    assert "agri.report.submitted" in types and not any(t.startswith("workflow.") for t in types)
    for link in [agri["events"][0]["schema"], body["asyncapi"], body["value"]["schema"]]:
        assert (await gw.get(link)).status_code == 200, link
    assert body["replay"]["consumer_config"]["auto_offset_reset"] == "earliest"
    assert body["replay"]["consumer_config"]["group_id"].startswith("sheng_xitong.")
    assert {"ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_subject",
            "traceparent"} <= set(body["headers"])
    assert "murmur2" in body["partitioner"] and body["kafka"]["bootstrap_servers"]
    # the connection as this deployment really is (the embedded broker: plaintext, no ACLs),
    # never a hard-coded SASL_SSL a subscriber would fail to connect with
    kafka = body["kafka"]
    assert kafka["security_protocol"] == "PLAINTEXT" and kafka["sasl_mechanism"] is None
    assert kafka["acls_enforced"] is False and "明文" in kafka["note"]
    assert kafka["client_config"] == {"bootstrap_servers": stack.kafka_bootstrap,
                                      "security_protocol": "PLAINTEXT"}
    assert kafka["group_id_prefix"] == "sheng_xitong."
    r = await gw.post(url, headers=region, json={"revoke": ["workflow.events"]})
    assert r.json()["revoked"] == ["workflow.events"] and r.json()["topics"] == ["agri.events"]
    r = await gw.get("/api/v1/subscriptions", headers=sub)
    assert [t["name"] for t in r.json()["topics"]] == ["agri.events"]


async def test_subscription_rules(gw, stack):
    region = await stack.login(gw, "qu_tongji")
    url = "/api/v1/admin/subscribers/{}/topics"
    r = await gw.post(url.format("sheng_xitong"), headers=region, json={"grant": ["gateway.events"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grant.0"
    r = await gw.post(url.format("sheng_xitong"), headers=region,
                      json={"grant": ["agri.events.dlq"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("grant")
    r = await gw.post(url.format("tiantang_cun"), headers=region, json={"grant": ["agri.events"]})
    assert r.status_code == 422 and r.json()["code"] == "not_a_subscriber"
    r = await gw.post(url.format("nobody_here"), headers=region, json={"grant": ["agri.events"]})
    assert r.status_code == 404
    county = await stack.login(gw, "qingxiu_qu")
    r = await gw.post(url.format("sheng_xitong"), headers=county, json={"grant": ["agri.events"]})
    assert r.status_code == 403 and r.json()["code"] == "subscription_admin_forbidden"
    r = await gw.get("/api/v1/subscriptions", headers=county)
    assert r.status_code == 403 and r.json()["code"] == "not_a_subscriber"
    # An outside system reads events, not the services' records.
    sub = await stack.login(gw, "sheng_xitong")
    r = await gw.get("/api/v1/agri/tasks", headers=sub)
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"


async def test_the_subscriptions_answer_has_a_schema(doc):
    op = doc["paths"]["/api/v1/subscriptions"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"subscriber", "kafka", "topics", "headers", "replay"} <= set(schema["properties"])
    assert dangling_refs(doc) == []
