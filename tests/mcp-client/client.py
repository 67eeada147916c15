"""Drive tenantry's MCP server with the official Python SDK (`mcp` from PyPI).

    python client.py CONFIG.json

CONFIG (written by crates/cli/tests/mcp_client.rs) names the protocol
version to speak, the server URL, the tokens of two users in different
organizations plus refused tokens, the ids the checks need, and how to start
`tenantry mcp --stdio`. On "2026-07-28" the SDK discovers the server
(`mode="auto"`, which falls back to `initialize` only on a server without
2026-07-28: the negotiated version is checked) and there are no sessions, so
the organization is named per request; on "2025-11-25" it opens a session
with `initialize` (`mode="legacy"`, the SDK's latest handshake version) and
`switch_organization` holds in it. Warnings (the SDK's "Session termination
failed" among them) go to stderr, which the Rust test reads. Prints the plan
"1..N" first (N: how many checks a whole run makes), one line per check, and
a closing "P passed, F failed"; exits 1 on any failure and when the checks
made are not the N planned (an early exit, a skipped branch).
"""

import asyncio
import json
import logging
import sys
import urllib.error
import urllib.request

from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

CONFIG = json.load(open(sys.argv[1]))
URL = CONFIG["url"]
PROTOCOL = CONFIG["protocol"]
CURRENT = PROTOCOL == "2026-07-28"
# How the SDK is told which version to speak.
MODE = "auto" if CURRENT else "legacy"
TOOLS = {
    "whoami", "list_organizations", "switch_organization", "list_projects", "get_project",
    "create_project", "update_project", "record_usage", "usage_report", "list_members",
    "recent_audit_log",
}
# Without sessions, switch_organization is not listed.
if CURRENT:
    TOOLS.discard("switch_organization")
# What a token without the write scope is not listed.
WRITES = {"create_project", "update_project", "record_usage"}
# Every check() a whole run makes, counted by hand: change it with the checks.
# Both protocols make as many.
PLANNED = 68
# MCP's "resource not found" error code: its own before 2026-07-28, which
# retired it for the standard "invalid params".
RESOURCE_NOT_FOUND = -32602 if CURRENT else -32002
# A window covering every usage event of the demo data and of these checks.
NOVEMBER = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
results = {"passed": 0, "failed": 0}


def check(label, condition, detail=""):
    results["passed" if condition else "failed"] += 1
    print(f"{'ok' if condition else 'not ok'} - {label}{'' if condition else f'  [{detail}]'}")


def http(token, organization=None):
    headers = {"Authorization": f"Bearer {token}"}
    if organization:
        headers["X-Organization-Id"] = organization
    return Client(streamable_http_client(URL, http_client=create_mcp_http_client(headers=headers)), mode=MODE)


async def call(client, tool, args=None):
    return await client.call_tool(tool, args or {})


async def tools_and_data(c, who):
    """Every tool, over one session of the user `who` (alice: Acme owner, also in Globex)."""
    tools = (await c.list_tools()).tools
    names = {t.name for t in tools}
    check("lists every tool", names == TOOLS, sorted(names ^ TOOLS))
    check("every tool has an input schema", all(t.input_schema.get("type") == "object" for t in tools))

    me = (await call(c, "whoami")).structured_content
    check("whoami: user, organization, role", me["user"]["email"] == who and me["organization"]["slug"] == "acme"
          and me["role"] == "owner", me)
    orgs = (await call(c, "list_organizations")).structured_content
    slugs = sorted(o["slug"] for o in orgs["organizations"])
    check("list_organizations", slugs == ["acme", "globex"], orgs)

    page = (await call(c, "list_projects", {"limit": 1})).structured_content
    check("list_projects paginates", len(page["items"]) == 1 and page["nextCursor"], page)
    rest = (await call(c, "list_projects", {"cursor": page["nextCursor"]})).structured_content
    names = [p["name"] for p in page["items"] + rest["items"]]
    check("list_projects: Acme's projects only", names == ["Website relaunch", "Support bot"], names)

    one = (await call(c, "get_project", {"id": page["items"][0]["id"]})).structured_content
    check("get_project", one["name"] == "Website relaunch", one)
    created = (await call(c, "create_project", {"name": "Agent notes", "description": "made by MCP"})).structured_content
    check("create_project", created["name"] == "Agent notes" and created["createdBy"] == CONFIG["alice_id"], created)
    updated = (await call(c, "update_project", {"id": created["id"], "name": "Agent notes v2"})).structured_content
    check("update_project", updated["name"] == "Agent notes v2", updated)
    usage = (await call(c, "record_usage", {"model": "gpt-4o-mini", "projectId": created["id"],
                                            "inputTokens": 1000000, "outputTokens": 1000000,
                                            "occurredAt": "2026-11-20T10:00:00Z"})).structured_content
    check("record_usage", usage["model"] == "gpt-4o-mini", usage)
    report = (await call(c, "usage_report", {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"})).structured_content
    check("usage_report prices the call", len(report["days"]) == 1 and abs(report["totalCostUsd"] - 0.75) < 1e-9, report)
    members = (await call(c, "list_members")).structured_content
    emails = sorted(m["user"]["email"] for m in members["members"])
    check("list_members", emails == ["alice@example.com", "dave@example.com"], emails)
    audit = (await call(c, "recent_audit_log", {"limit": 3})).structured_content
    actions = [e["action"] for e in audit["items"]]
    check("recent_audit_log: writes recorded with the acting user, newest first",
          actions == ["usage.record", "project.update", "project.create"]
          and all(e["actorUserId"] == CONFIG["alice_id"] for e in audit["items"]), audit)

    resources = (await c.list_resources()).resources
    uris = [str(r.uri) for r in resources]
    check("projects are resources", f"tenantry://projects/{created['id']}" in uris, uris)
    read = await c.read_resource(f"tenantry://projects/{created['id']}")
    check("read a project resource", json.loads(read.contents[0].text)["name"] == "Agent notes v2")
    return created


async def bad_input(c):
    for tool, args, label in [
        ("get_project", {"id": "not-a-uuid"}, "malformed id"),
        ("get_project", {"id": "00000000-0000-4000-8000-000000000000"}, "missing project"),
        ("create_project", {"name": ""}, "empty name"),
        ("create_project", {"name": "Website relaunch"}, "duplicate name"),
        ("record_usage", {"model": "no-such-model", "inputTokens": 1, "outputTokens": 1}, "unknown model"),
        ("record_usage", {"model": "gpt-4o", "inputTokens": "many", "outputTokens": 1}, "wrong type"),
        ("record_usage", {"model": "gpt-4o", "inputTokens": -5, "outputTokens": 1}, "negative tokens"),
        ("usage_report", {"from": "yesterday", "to": "today"}, "malformed time"),
        ("list_projects", {"limit": 1000}, "page too large"),
        ("switch_organization", {"organizationId": CONFIG["initech_id"]}, "foreign organization"),
    ]:
        result = await call(c, tool, args)
        text = result.content[0].text if result.content else ""
        check(f"bad input is a tool error: {label}", result.is_error and text, text)


async def session_scoped_switch():
    async with http(CONFIG["alice_token"]) as first, http(CONFIG["alice_token"]) as second:
        switched = (await call(first, "switch_organization", {"organizationId": CONFIG["globex_id"]})).structured_content
        check("switch_organization", switched["organizationId"] == CONFIG["globex_id"], switched)
        now = (await call(first, "whoami")).structured_content
        check("the switch holds in its session", now["organization"]["slug"] == "globex" and now["role"] == "member", now)
        names = [p["name"] for p in (await call(first, "list_projects")).structured_content["items"]]
        check("and the tools act in Globex", names == ["Support bot", "Demand forecasting"], names)
        audit = await call(first, "recent_audit_log", {"limit": 100})
        text = audit.content[0].text if audit.content else ""
        check("recent_audit_log: a plain member reads none of it",
              audit.is_error and "only owners and admins" in text and not audit.structured_content, audit)
        other = (await call(second, "whoami")).structured_content
        check("another session is not switched", other["organization"]["slug"] == "acme", other)


async def per_request_organization():
    """2026-07-28: no session, so the organization comes with each call."""
    async with http(CONFIG["alice_token"]) as c:
        there = (await call(c, "whoami", {"organization": CONFIG["globex_id"]})).structured_content
        check("the organization argument picks the organization", there["organization"]["slug"] == "globex"
              and there["role"] == "member", there)
        here = (await call(c, "whoami")).structured_content
        check("for that call only", here["organization"]["slug"] == "acme", here)
        names = [p["name"] for p in (await call(c, "list_projects", {"organization": CONFIG["globex_id"]}))
                 .structured_content["items"]]
        check("and the tools act there", names == ["Support bot", "Demand forecasting"], names)
        foreign = await call(c, "whoami", {"organization": CONFIG["initech_id"]})
        text = foreign.content[0].text if foreign.content else ""
        check("an organization the user is not in is a tool error", foreign.is_error and "not a member" in text, text)
        switched = await call(c, "switch_organization", {"organizationId": CONFIG["globex_id"]})
        text = switched.content[0].text if switched.content else ""
        check("switch_organization says to name the organization per request",
              switched.is_error and "X-Organization-Id" in text and "organization" in text, text)


async def scoped_tokens():
    """Alice's read-only token, and her token bound to Globex (she also owns Acme)."""
    async with http(CONFIG["reader_token"]) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        check("read-only: no write tool is listed", names == TOOLS - WRITES, sorted(names ^ (TOOLS - WRITES)))
        forced = await call(c, "create_project", {"name": "Read-only write"})
        text = forced.content[0].text if forced.content else ""
        check("read-only: a write called anyway is a tool error naming the write scope",
              forced.is_error and "write scope" in text, text)
        me = (await call(c, "whoami")).structured_content
        check("read-only: whoami shows the token's scopes", me["token"] == {"scopes": ["read"], "organizationId": None},
              me)
    async with http(CONFIG["bound_token"]) as c:
        me = (await call(c, "whoami")).structured_content
        check("bound: acts in its organization by default", me["organization"]["slug"] == "globex"
              and me["token"]["organizationId"] == CONFIG["globex_id"], me)
        elsewhere = await call(c, "whoami", {"organization": CONFIG["acme_id"]})
        text = elsewhere.content[0].text if elsewhere.content else ""
        check("bound: another organization of its user's is refused", elsewhere.is_error and "is bound to organization" in text,
              text)
        orgs = [o["slug"] for o in (await call(c, "list_organizations")).structured_content["organizations"]]
        check("bound: lists only its organization", orgs == ["globex"], orgs)


async def header_choice():
    async with http(CONFIG["alice_token"], CONFIG["globex_id"]) as c:
        me = (await call(c, "whoami")).structured_content
        check("X-Organization-Id picks the organization", me["organization"]["slug"] == "globex", me)


async def report(c, window=NOVEMBER):
    return (await call(c, "usage_report", window)).structured_content


async def isolation(acme_project):
    """Carol (Initech only) against Acme's data; Alice (Acme's owner) re-reads it afterwards."""
    async with http(CONFIG["alice_token"]) as alice, http(CONFIG["carol_token"]) as c:
        acme_before = await report(alice)
        initech_before = await report(c)

        me = (await call(c, "whoami")).structured_content
        check("carol acts in Initech", me["organization"]["slug"] == "initech", me)
        orgs = [o["slug"] for o in (await call(c, "list_organizations")).structured_content["organizations"]]
        check("carol's organizations: Initech only", orgs == ["initech"], orgs)
        names = [p["name"] for p in (await call(c, "list_projects")).structured_content["items"]]
        check("carol sees only Initech's projects", names == ["TPS reports"], names)
        resources = (await c.list_resources()).resources
        check("carol's resources are Initech's projects", [r.name for r in resources] == ["TPS reports"]
              and not any(acme_project["id"] in str(r.uri) for r in resources), resources)
        foreign = await call(c, "get_project", {"id": acme_project["id"]})
        check("carol cannot get Acme's project", foreign.is_error, foreign)

        changed = await call(c, "update_project", {"id": acme_project["id"], "name": "pwned",
                                                   "description": "pwned"})
        check("carol cannot update Acme's project", changed.is_error, changed)
        target = (await call(alice, "get_project", {"id": acme_project["id"]})).structured_content
        check("and Acme's project is unchanged", (target["name"], target["description"])
              == ("Agent notes v2", "made by MCP"), target)

        recorded = await call(c, "record_usage", {"model": "gpt-4o", "projectId": acme_project["id"],
                                                  "inputTokens": 5, "outputTokens": 5,
                                                  "occurredAt": "2026-11-25T10:00:00Z"})
        text = recorded.content[0].text if recorded.content else ""
        check("carol cannot record usage against Acme's project", recorded.is_error and "projectId" in text,
              recorded)
        acme_after = await report(alice)
        check("and Acme's usage is unchanged", acme_after == acme_before and acme_after["days"],
              (acme_before, acme_after))
        initech_after = await report(c)
        check("nor is any recorded in Initech", initech_after == initech_before, (initech_before, initech_after))
        rows = [(d["day"], d["events"], d["inputTokens"]) for d in initech_after["days"]]
        check("carol's usage report over Acme's busy month shows Initech's usage only",
              rows == [("2026-11-04", 1, 18000)], initech_after)

        uri = f"tenantry://projects/{acme_project['id']}"
        try:
            read = await c.read_resource(uri)
            check("carol cannot read Acme's project resource", False, read)
        except MCPError as error:
            answer = json.dumps({"message": error.message, "data": error.data})
            check("carol cannot read Acme's project resource: resource not found, nothing of the project",
                  error.code == RESOURCE_NOT_FOUND and error.message == f"no such resource: {uri}"
                  and "Agent notes" not in answer and "made by MCP" not in answer, answer)

        # Carol owns Initech, so she reads its audit log: a refusal here would
        # hide a leak instead of showing its absence.
        result = await call(c, "recent_audit_log", {"limit": 100})
        audit = json.dumps(result.structured_content)
        check("carol's audit log shows nothing of Acme",
              not result.is_error and result.structured_content is not None
              and acme_project["id"] not in audit, audit)
        members = [m["user"]["email"] for m in (await call(c, "list_members")).structured_content["members"]]
        check("carol's members are Initech's", members == ["carol@example.com"], members)


def raw_post(headers):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}).encode()
    request = urllib.request.Request(URL, data=body, method="POST", headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def refused_tokens():
    cases = {"missing": None, "not bearer": "Basic abc", **{
        name: f"Bearer {token}" for name, token in CONFIG["refused_tokens"].items()}}
    for name, authorization in cases.items():
        status, headers, body = raw_post({"authorization": authorization} if authorization else {})
        lower = {k.lower(): v for k, v in headers.items()}
        error = json.loads(body).get("error", {}) if body.startswith(b"{") else {}
        check(f"401 for a {name} token", status == 401 and lower.get("www-authenticate") == "Bearer"
              and error.get("code") == "UNAUTHORIZED", (status, lower, body[:120]))
    status, _, _ = raw_post({"authorization": f"Bearer {CONFIG['alice_token']}",
                             "x-organization-id": CONFIG["initech_id"]})
    check("404 for an organization the token's user is not in", status == 404, status)
    status, _, _ = raw_post({"authorization": f"Bearer {CONFIG['alice_token']}", "x-organization-id": "nope"})
    check("400 for a malformed X-Organization-Id", status == 400, status)


async def stdio():
    params = StdioServerParameters(command=CONFIG["stdio"]["command"], args=["mcp", "--stdio"],
                                   env={**CONFIG["stdio"]["env"], "TENANTRY_TOKEN": CONFIG["carol_token"]})
    async with Client(params, mode=MODE) as c:
        check(f"stdio: speaks {PROTOCOL}", c.protocol_version == PROTOCOL, c.protocol_version)
        tools = {t.name for t in (await c.list_tools()).tools}
        check("stdio: lists every tool", tools == TOOLS, sorted(tools ^ TOOLS))
        me = (await call(c, "whoami")).structured_content
        check("stdio: acts as the token's owner, whoami shows the token", me["user"]["email"] == "carol@example.com"
              and me["organization"]["slug"] == "initech"
              and me["token"] == {"scopes": ["read", "write"], "organizationId": None}, me)
        created = (await call(c, "create_project", {"name": "Made over stdio"})).structured_content
        check("stdio: create_project", created["name"] == "Made over stdio", created)
        names = [p["name"] for p in (await call(c, "list_projects")).structured_content["items"]]
        check("stdio: sees only Initech", names == ["TPS reports", "Made over stdio"], names)
        bad = await call(c, "get_project", {"id": "x"})
        check("stdio: bad input is a tool error", bad.is_error)


async def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(f"1..{PLANNED}")
    async with http(CONFIG["alice_token"]) as c:
        check(f"http: speaks {PROTOCOL}", c.protocol_version == PROTOCOL, c.protocol_version)
        created = await tools_and_data(c, "alice@example.com")
        await bad_input(c)
    if CURRENT:
        await per_request_organization()
    else:
        await session_scoped_switch()
    await header_choice()
    await scoped_tokens()
    await isolation(created)
    refused_tokens()
    await stdio()
    made = results["passed"] + results["failed"]
    print(f"{results['passed']} passed, {results['failed']} failed")
    if made != PLANNED:
        print(f"planned {PLANNED} checks, made {made}")
    sys.exit(1 if results["failed"] or made != PLANNED else 0)


asyncio.run(main())
