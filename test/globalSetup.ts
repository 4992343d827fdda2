// Once per test run: the run's temporary folder (test/helpers/tmpRoot.ts) and the PostgreSQL the team-mode variants of the
// suites use. COUNTERSIGN_TEST_DATABASE_URL (set by .ci/run, which starts its own cluster) is used as given; otherwise a
// throwaway cluster is started here when this machine can, and stopped at the end. Without either, the PostgreSQL
// variants skip and say why in their names.
import type { TestProject } from 'vitest/node';
import { clusterUnavailable, reapOrphanClusters, startCluster } from './helpers/pgCluster.ts';
import { enterTmpFolder, removeTmpFolder } from './helpers/tmpRoot.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
    pgUnavailable: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  // Before the workers start, so that they and every process they start inherit it; removed after the cluster stopped.
  const tmp = enterTmpFolder('cs-run-');
  const postgres = await startPostgres(project);
  return () => {
    postgres();
    removeTmpFolder(tmp);
  };
}

async function startPostgres(project: TestProject): Promise<() => void> {
  const given = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  if (given) {
    project.provide('pgAdminUrl', given);
    project.provide('pgUnavailable', null);
    return () => {};
  }
  const why = clusterUnavailable();
  if (why) {
    project.provide('pgAdminUrl', null);
    project.provide('pgUnavailable', why);
    return () => {};
  }
  for (const folder of reapOrphanClusters()) console.log(`stopped the PostgreSQL cluster an interrupted test run left behind (${folder})`);
  const cluster = await startCluster();
  project.provide('pgAdminUrl', cluster.url);
  project.provide('pgUnavailable', null);
  return () => cluster.stop();
}
