// Connection snippets, as in README.md's "Connect your AI client": the same commands and files, with this server's URL and the new key.
export interface Snippet {
  id: string;
  label: string;
  where: string;
  text: string;
}

export function connectionSnippets(base: string, key: string): Snippet[] {
  const url = base.replace(/\/+$/, '');
  const json = (v: unknown) => JSON.stringify(v, null, 2);
  return [
    {
      id: 'claude-code', label: 'Claude Code', where: 'Run in a terminal (legacy SSE transport)',
      text: `claude mcp add --transport sse countersign ${url}/api/v1/mcp/sse --header "X-API-Key: ${key}"`,
    },
    {
      id: 'claude-code-http', label: 'Claude Code (HTTP)', where: 'Or, with the Streamable HTTP transport',
      text: `claude mcp add --transport http countersign ${url}/api/v1/mcp --header "X-API-Key: ${key}"`,
    },
    {
      id: 'claude-desktop', label: 'Claude Desktop', where: 'claude_desktop_config.json (through the mcp-remote stdio bridge)',
      text: json({
        mcpServers: {
          countersign: {
            command: 'npx',
            args: ['-y', 'mcp-remote', `${url}/api/v1/mcp`, '--header', 'X-API-Key:${COUNTERSIGN_KEY}'],
            env: { COUNTERSIGN_KEY: key },
          },
        },
      }),
    },
    {
      id: 'cursor', label: 'Cursor', where: '.cursor/mcp.json',
      text: json({ mcpServers: { countersign: { url: `${url}/api/v1/mcp`, headers: { 'X-API-Key': key } } } }),
    },
    {
      id: 'windsurf', label: 'Windsurf', where: '~/.codeium/windsurf/mcp_config.json',
      text: json({ mcpServers: { countersign: { serverUrl: `${url}/api/v1/mcp`, headers: { 'X-API-Key': key } } } }),
    },
  ];
}
