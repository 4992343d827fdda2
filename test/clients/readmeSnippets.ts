// The client snippets of README.md's "Connect your AI client" section, read from the README itself so that the
// tests run exactly what users copy (with the test server's URL in place of http://127.0.0.1:4319 and a real KEY).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './procs.ts';

const README_BASE = 'http://127.0.0.1:4319';

function section(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Connect your AI client');
  if (start < 0) throw new Error('README.md has no "Connect your AI client" section');
  const end = readme.indexOf('\n## ', start + 3);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Splits a shell command line on spaces, honouring double quotes (enough for the README's lines). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2]!);
  return words;
}

/** The `claude mcp add …` lines, as argv after `claude`, for a server at `base` and a key. */
export function claudeAddLines(base: string, key: string): { transport: string; argv: string[] }[] {
  return section().split('\n').filter((l) => l.startsWith('claude mcp add ')).map((l) => {
    const argv = shellWords(l.replace(/\s+#.*$/, '')).slice(1).map((w) => w.replace(README_BASE, base).replace(/^X-API-Key: KEY$/, `X-API-Key: ${key}`));
    return { transport: argv[argv.indexOf('--transport') + 1]!, argv };
  });
}

/** The Claude Desktop entry: mcp-remote's args (after `-y mcp-remote`) and env, for a server at `base` and a key. */
export function claudeDesktopBridge(base: string, key: string): { args: string[]; env: Record<string, string> } {
  const line = section().split('\n').find((l) => l.includes('"mcp-remote"'));
  if (!line) throw new Error('README.md has no Claude Desktop mcp-remote snippet');
  const entry = (JSON.parse(line) as { mcpServers: { countersign: { command: string; args: string[]; env: Record<string, string> } } }).mcpServers.countersign;
  if (entry.command !== 'npx' || entry.args[0] !== '-y' || entry.args[1] !== 'mcp-remote') throw new Error(`unexpected Claude Desktop command: ${entry.command} ${entry.args.join(' ')}`);
  return {
    args: entry.args.slice(2).map((a) => a.replace(README_BASE, base)),
    env: Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, v === 'KEY' ? key : v])),
  };
}
