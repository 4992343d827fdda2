import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from '../tools/types.ts';
import { tenantFilter, slugOf } from '../tools/common.ts';

const CAP = 500;

function json(uri: string, value: unknown) {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 1) }] };
}

/** Read-only views of the key's tenants: devices, active alerts, the script library, one device. */
export function registerResources(server: McpServer, ctx: () => ToolContext): void {
  server.registerResource('devices', 'countersign://devices', {
    title: 'Devices', description: `Devices of this key's tenants (first ${CAP}; use list_devices to filter and page).`, mimeType: 'application/json',
  }, (uri) => {
    const c = ctx();
    const tf = tenantFilter(c.scope.tenants);
    const total = (c.db.prepare(`SELECT count(*) AS n FROM devices WHERE ${tf.sql}`).get(...tf.params) as { n: number }).n;
    const rows = c.db.prepare(`SELECT id, tenant_id, hostname, os, os_version, status, compliance, last_seen_at FROM devices WHERE ${tf.sql}
      ORDER BY hostname LIMIT ?`).all(...tf.params, CAP) as { tenant_id: string }[];
    return json(uri.href, { total, truncated: total > rows.length, devices: rows.map((r) => ({ ...r, tenant_id: undefined, tenant: slugOf(c.scope.tenants, r.tenant_id) })) });
  });

  server.registerResource('active-alerts', 'countersign://alerts/active', {
    title: 'Active alerts', description: `Active alerts of this key's tenants, most severe first (first ${CAP}).`, mimeType: 'application/json',
  }, (uri) => {
    const c = ctx();
    const tf = tenantFilter(c.scope.tenants, 'a.tenant_id');
    const where = `WHERE ${tf.sql} AND a.status = 'active'`;
    const total = (c.db.prepare(`SELECT count(*) AS n FROM alerts a ${where}`).get(...tf.params) as { n: number }).n;
    const rows = c.db.prepare(`SELECT a.id, a.tenant_id, a.severity, a.title, a.triggered_at, d.hostname, a.device_id FROM alerts a JOIN devices d ON d.id = a.device_id ${where}
      ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, a.triggered_at DESC LIMIT ?`)
      .all(...tf.params, CAP) as { tenant_id: string }[];
    return json(uri.href, { total, truncated: total > rows.length, alerts: rows.map((r) => ({ ...r, tenant_id: undefined, tenant: slugOf(c.scope.tenants, r.tenant_id) })) });
  });

  server.registerResource('scripts', 'countersign://scripts', {
    title: 'Script library', description: 'Scripts run_script can run by id: MSP-wide library plus this key\'s tenants\' own scripts.', mimeType: 'application/json',
  }, (uri) => {
    const c = ctx();
    const tf = tenantFilter(c.scope.tenants);
    const rows = c.db.prepare(`SELECT id, tenant_id, name, description, language, sha256 FROM scripts WHERE tenant_id IS NULL OR ${tf.sql} ORDER BY name`)
      .all(...tf.params) as { tenant_id: string | null }[];
    return json(uri.href, { scripts: rows.map((r) => ({ ...r, tenant_id: undefined, scope: r.tenant_id ? slugOf(c.scope.tenants, r.tenant_id) : 'library' })) });
  });

  server.registerResource('device', new ResourceTemplate('countersign://devices/{deviceId}', { list: undefined }), {
    title: 'Device', description: 'One device with its hardware inventory.', mimeType: 'application/json',
  }, (uri, vars) => {
    const c = ctx();
    const found = c.scope.require('device', String(vars.deviceId));
    const { tenant_id: _t, hardware_json, ...rest } = found.row as Record<string, unknown> & { hardware_json: string };
    return json(uri.href, { ...rest, tenant: found.tenant?.slug, hardware: JSON.parse(hardware_json) });
  });
}
