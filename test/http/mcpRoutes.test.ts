// The legacy message endpoint's session id: the quick read of the query the endpoint hands out gives what
// URLSearchParams gives, for that query and for every other shape a client may send.
import { expect, it } from 'vitest';
import { sessionIdOf } from '../../src-main/http/mcpRoutes.ts';

const ID = '0b8a3c3e-9a56-4a43-9c4f-5f9b3f8b8a11';

it('reads sessionId exactly as URLSearchParams does', () => {
  const queries = [
    `?sessionId=${ID}`, `?sessionId=${ID.toUpperCase()}`, `?sessionId=${ID}&sessionId=other`, `?x=1&sessionId=${ID}`, `?sessionId=${ID}&x=1`,
    `?sessionId=${ID.replace('-', '%2D')}`, `?sessionId=${ID}%00`, `?sessionid=${ID}`, '?sessionId=', '?sessionId', '', '?', `?sessionId=${ID}#frag`,
    `?sessionId=${ID.slice(1)}`, `?sessionId=+${ID.slice(1)}`, `?session%49d=${ID}`,
  ];
  for (const q of queries) {
    const url = new URL(`/api/v1/mcp/messages${q}`, 'http://localhost');
    expect([q, sessionIdOf(url)]).toEqual([q, url.searchParams.get('sessionId') ?? undefined]);
  }
});
