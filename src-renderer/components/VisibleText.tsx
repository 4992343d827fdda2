// Text as it really is: every invisible, bidirectional or control character is shown as its escaped code point, and a
// look-alike letter is marked with its code point, so what a technician reads is what runs (Trojan Source). The same
// scanner flags the request on the server.
import { isInvisibleKind, visibleSegments } from '../../src-main/console/contract.ts';

export function VisibleText({ text, hostname = false }: { text: string; hostname?: boolean }) {
  const segments = visibleSegments(text, { hostname });
  if (segments.length === 1 && !segments[0]!.flag) return <>{text}</>;
  return (
    <>
      {segments.map((s, i) => (s.flag
        ? (
          <mark key={i} className="hidden-char" title={`${s.flag.codePoint} ${s.flag.name}`} data-testid="hidden-char" data-code-point={s.flag.codePoint}>
            {isInvisibleKind(s.flag.kind) ? null : s.text}⟨{s.flag.codePoint}⟩
          </mark>
        )
        : s.text))}
    </>
  );
}
