import type { ToolSpec } from './types.ts';
import { deviceActions, getDeviceDetails, listDevices } from './devices.ts';
import { acknowledgeAlerts, getAlerts, resolveAlerts } from './alerts.ts';
import { getPatchStatus } from './patches.ts';
import { deployPatches } from './patchDeploy.ts';
import { getScriptResults, listScripts, runScript } from './scripts.ts';
import { generateReport, getReportStatus } from './reports.ts';
import { addIncidentNote, createChangeLog, createRunbook, getDocuments } from './docs.ts';
import { complianceSummary, fleetHealthCheck } from './fleet.ts';
import { metaTools, type MetaDeps } from './meta.ts';
import { upgradeAgent } from './agentUpgrade.ts';

/** Every tool the server offers, in the order tools/list shows them: the seed's 17, then the readers and the gate's own. */
export function allTools(meta: MetaDeps): ToolSpec[] {
  return [
    listDevices, getDeviceDetails, deviceActions,
    getAlerts, acknowledgeAlerts, resolveAlerts,
    getPatchStatus, deployPatches,
    runScript, getScriptResults,
    generateReport, getReportStatus,
    createRunbook, addIncidentNote, createChangeLog,
    fleetHealthCheck, complianceSummary,
    listScripts, getDocuments,
    upgradeAgent,
    ...metaTools(meta),
  ] as unknown as ToolSpec[];
}
