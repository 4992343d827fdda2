// A tools/call straight into an app's gate, answered in MCP's shape: for suites that drive the pipeline without a transport.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../../src-main/app.ts';
import type { Caller } from '../../src-main/governance/gate.ts';
import { toCallToolResult } from '../../src-main/mcp/results.ts';

export async function callTool(app: App, name: string, args: unknown, caller: Caller): Promise<CallToolResult> {
  return toCallToolResult(await app.gate.call(name, args, caller));
}
