// The child process of ProxyProcess (./tcpProxyProcess.ts): one TcpProxy, driven over the IPC channel. Exits when its
// parent goes away, so a test worker that dies leaves no proxy behind.
import { TcpProxy } from './tcpProxy.ts';
import type { ProxyReply, ProxyRequest } from './tcpProxyProcess.ts';

const proxy = await TcpProxy.start(JSON.parse(process.argv[2]!) as string | number);

function run(req: ProxyRequest): unknown {
  switch (req.op) {
    case 'sever': return proxy.sever();
    case 'block': return proxy.block();
    case 'unblock': return proxy.unblock();
    case 'cutOnNextFromTarget': return proxy.cutOnNextFromTarget(req.minBytes);
    case 'disarm': return proxy.disarm();
    case 'freeze': return proxy.freeze();
    case 'stats': return { accepted: proxy.accepted, cut: proxy.cut, lostInFlight: proxy.lostInFlight, live: proxy.live };
  }
}

process.on('message', (req: ProxyRequest) => {
  let reply: ProxyReply;
  try {
    reply = { id: req.id, result: run(req) };
  } catch (e) {
    reply = { id: req.id, error: String(e) };
  }
  process.send!(reply);
});
process.on('disconnect', () => {
  void proxy.close().finally(() => process.exit(0));
});
process.send!({ id: 0, result: proxy.port } satisfies ProxyReply);
