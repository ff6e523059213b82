"""Drives toolhost with the official MCP Python SDK's client, as an agent would.

usage: mcp_client.py http URL [TOKEN]     (Streamable HTTP)
       mcp_client.py stdio TOOLHOST PLUGINS  (spawns `toolhost mcp`)

Initializes as client "python-agent", lists the tools, calls probe.echo and probe.fail, calls probe.progress with
a progress callback, calls probe.echo with a result budget and reads the whole result from the resource link, and
prints one JSON object with what it saw. Any failure is an exception (non-zero exit, traceback on stderr).
"""

import asyncio
import json
import os
import sys
import tempfile

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def exercise(read, write):
    info = types.Implementation(name="python-agent", version="2.3")
    async with ClientSession(read, write, client_info=info) as session:
        initialized = await session.initialize()
        listed = await session.list_tools()
        echoed = await session.call_tool("probe.echo", {"from": "python"})
        failed = await session.call_tool("probe.fail", {})
        # Progress: the tool reports 1..5 of 5 and holds its call until the gate file exists; the callback opens
        # the gate once it saw the last report, so the notifications come before the result, however slow.
        reports = []
        gate = os.path.join(tempfile.mkdtemp(prefix="toolhost-py-gate"), "open")

        async def on_progress(progress, total, message):
            reports.append({"progress": progress, "total": total, "message": message})
            if progress >= 5:
                open(gate, "w").close()

        progressed = await session.call_tool(
            "probe.progress", {"count": 5, "total": 5, "gate": gate}, progress_callback=on_progress
        )
        # A result over its budget: shaped text within it, and a resource link the client reads the whole from.
        items = {"items": ["item %d of a long list" % n for n in range(400)]}
        budgeted = await session.call_tool("probe.echo", items, meta={"maxResultBytes": 1024})
        links = [item for item in budgeted.content if item.type == "resource_link"]
        texts = [item.text for item in budgeted.content if item.type == "text"]
        whole = await session.read_resource(str(links[0].uri)) if links else None
        return {
            "budgetedTextBytes": len(texts[0].encode()) if texts else None,
            "budgetedLinks": len(links),
            "wholeResult": json.loads(whole.contents[0].text) == items if whole else False,
            "progress": reports,
            "progressResult": progressed.structured_content,
            "server": initialized.server_info.name,
            "protocol": initialized.protocol_version,
            "tools": sorted(tool.name for tool in listed.tools),
            "echo": echoed.structured_content,
            "echoIsError": echoed.is_error,
            "failIsError": failed.is_error,
        }


async def main(argv):
    if argv[1] == "http":
        headers = {"Authorization": "Bearer " + argv[3]} if len(argv) > 3 else None
        async with create_mcp_http_client(headers=headers) as client:
            async with streamable_http_client(argv[2], http_client=client) as streams:
                return await exercise(streams[0], streams[1])
    server = StdioServerParameters(command=argv[2], args=["mcp", "--plugins", argv[3]])
    async with stdio_client(server) as (read, write):
        return await exercise(read, write)


print(json.dumps(asyncio.run(main(sys.argv))))
