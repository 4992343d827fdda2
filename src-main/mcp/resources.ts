// Resources are views of read tools: each read goes through the gate as a call of the tool it mirrors, so it is
// audited, spends the read budget, honours that tool's tier overrides and sees only the key's tenants.
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Caller, Gate } from '../governance/gate.ts';
import { modernContextOf, type ModernRequestContext } from './era.ts';
import { toMcpError } from './results.ts';

const PAGE = 100;

export function registerResources(server: McpServer, gate: Gate, caller: (modern?: ModernRequestContext) => Caller): void {
  const read = async (uri: URL, tool: string, args: Record<string, unknown>, extra: { _meta?: unknown }) => {
    const r = await gate.call(tool, args, caller(modernContextOf(extra._meta)), { kind: 'resource', uri: uri.href });
    if (r.kind === 'refused') throw toMcpError(r.error);
    if (r.kind !== 'ok') throw new Error(`${tool} is not a read`);
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(r.value, null, 1) }] };
  };

  server.registerResource('devices', 'countersign://devices', {
    title: 'Devices', description: `Devices of this key's tenants (first ${PAGE}; list_devices filters and pages). Read through list_devices.`, mimeType: 'application/json',
  }, (uri, extra) => read(uri, 'list_devices', { limit: PAGE }, extra));

  server.registerResource('active-alerts', 'countersign://alerts/active', {
    title: 'Active alerts', description: `Active alerts of this key's tenants, newest first (first ${PAGE}). Read through get_alerts.`, mimeType: 'application/json',
  }, (uri, extra) => read(uri, 'get_alerts', { status: 'active', limit: PAGE }, extra));

  server.registerResource('scripts', 'countersign://scripts', {
    title: 'Script library', description: `Scripts run_script can run by id (first ${PAGE}): MSP-wide library plus this key's tenants' own. Read through list_scripts.`,
    mimeType: 'application/json',
  }, (uri, extra) => read(uri, 'list_scripts', { limit: PAGE }, extra));

  server.registerResource('device', new ResourceTemplate('countersign://devices/{deviceId}', { list: undefined }), {
    title: 'Device', description: 'One device with its hardware, software, open alerts and missing patches. Read through get_device_details.', mimeType: 'application/json',
  }, (uri, vars, extra) => read(uri, 'get_device_details', { deviceId: String(vars.deviceId) }, extra));
}
