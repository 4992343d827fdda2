// The desktop app as a window onto a team server (team mode): with COUNTERSIGN_TEAM_URL set, it runs no embedded gate,
// database or MCP server of its own; the window shows that server's web console, where the technician signs in with
// their own account. Only that one origin may be shown besides app://console; https is required beyond loopback.
import { LOOPBACK_HOSTNAMES } from '../http/guards.ts';

export class TeamUrlError extends Error {}

/** The team server's console URL (its origin, path "/"), or undefined when the desktop runs its embedded server. */
export function teamServerUrl(env: NodeJS.ProcessEnv): URL | undefined {
  const raw = env.COUNTERSIGN_TEAM_URL?.trim();
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TeamUrlError(`COUNTERSIGN_TEAM_URL is not a URL: ${raw}`);
  }
  if (u.username || u.password) throw new TeamUrlError('COUNTERSIGN_TEAM_URL must not carry a user name or password: the console asks for the account');
  const loopback = LOOPBACK_HOSTNAMES.includes(u.hostname.toLowerCase());
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new TeamUrlError('COUNTERSIGN_TEAM_URL must be https (http only on loopback)');
  return new URL('/', u.origin);
}

/** Whether a URL is on the team server's origin (parsed, not prefix-matched). */
export function isTeamUrl(url: string, team: URL | undefined): boolean {
  if (!team) return false;
  try {
    const u = new URL(url);
    return u.origin === team.origin && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}
