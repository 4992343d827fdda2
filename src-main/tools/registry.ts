import type { ToolSpec } from './types.ts';
import { deviceActions, getDeviceDetails, listDevices } from './devices.ts';
import { acknowledgeAlerts, getAlerts, resolveAlerts } from './alerts.ts';
import { getPatchStatus } from './patches.ts';
import { deployPatches } from './patchDeploy.ts';
import { getScriptResults, listScripts, runScript } from './scripts.ts';
import { generateReport, getReportStatus } from './reports.ts';
import { addIncidentNote, createChangeLog, createRunbook, getDocuments } from './docs.ts';
import { complianceSummary, fleetHealthCheck } from './fleet.ts';
import { upgradeAgent } from './agentUpgrade.ts';

/** The fleet tools, in the order tools/list shows them: the seed's 17, then the readers. The gate adds its own after them. */
export function fleetTools(): ToolSpec[] {
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
  ];
}
