// Parsers for Windows Update, winget and softwareupdate, and for the installed-software lists of Windows and macOS, on
// recorded outputs in the tools' real formats (test/agent/fixtures/): none of these tools exists on this Debian machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSoftwareUpdateList, parseWindowsUpdate, parseWingetUpgrade } from '../../src-main/agent/patchParsers.ts';
import { parseSystemProfilerApps, parseWindowsSoftware } from '../../src-main/agent/software.ts';
import { PatchReport } from '../../src-main/agent/protocol.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const valid = (updates: unknown) => expect(PatchReport.safeParse({ manager: 'winget', scannedAt: new Date().toISOString(), updates }).success).toBe(true);

describe('Windows Update (the scan script\'s JSON from the Windows Update Agent API)', () => {
  it('takes MsrcSeverity where Microsoft rates the update, else the category; KB or update id = revision; reboot behaviour', () => {
    const u = parseWindowsUpdate(fixture('windows-update-scan.json'))!;
    expect(u.map((x) => [x.externalId, x.severity, x.requiresReboot])).toEqual([
      ['KB5041585=1', 'critical', true],
      ['KB5041974=201', 'important', false],
      ['KB2267602=200', 'low', false], // definition update, unrated
      ['KB890830=1', 'moderate', false], // update rollup, unrated
      ['5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e8f=1', 'low', true], // a driver: no KB, may request a reboot
      ['KB5043080=3', 'important', false], // "Critical Updates" category, empty MsrcSeverity
    ]);
    // UTF-8 survives (the script sets the output encoding; a BOM may lead).
    expect(u[1]!.title).toBe('2024-08 Kumulatives Update für .NET Framework 3.5 und 4.8.1 für Windows 11, version 23H2 für x64 (KB5041974)');
    valid(u);
  });

  it('one update (ConvertTo-Json of a single object), none, and output that is not the script\'s', () => {
    expect(parseWindowsUpdate('{"Title":"Update (KB1234567)","UpdateID":"x","RevisionNumber":2,"KBArticleIDs":"1234567","MsrcSeverity":"Low","RebootBehavior":0}'))
      .toEqual([{ externalId: 'KB1234567=2', title: 'Update (KB1234567)', severity: 'low', requiresReboot: false }]);
    expect(parseWindowsUpdate('[]\r\n')).toEqual([]);
    expect(parseWindowsUpdate('')).toBeNull(); // the script always prints an array
    expect(parseWindowsUpdate('New-Object : Retrieving the COM class factory for component … failed: 80070422')).toBeNull();
    expect(parseWindowsUpdate('[{"Title":')).toBeNull();
  });
});

describe('winget upgrade (fixed-width table)', () => {
  it('reads both tables by header positions, past spinners, CRLF and wide characters; skips truncated ids and versions', () => {
    const u = parseWingetUpgrade(fixture('winget-upgrade.txt'))!;
    expect(u.map((x) => x.externalId)).toEqual([
      'Mozilla.Firefox=130.0.1', '7zip.7zip=24.08', 'Microsoft.VCRedist.2015+.x64=14.40.33810.0', 'Microsoft.VisualStudioCode=1.93.0',
      'Tencent.QQ.NT=9.9.15.27597', 'Zoom.Zoom=6.2.0.46690', 'Notepad++.Notepad++=8.7',
      // WindowsSDK (versions cut with …) and Python.Launcher (id cut with …) cannot be installed exactly: left out.
      'Discord.Discord=1.0.9162', // "require explicit targeting": still upgradable by id
    ]);
    expect(u[4]).toEqual({ externalId: 'Tencent.QQ.NT=9.9.15.27597', title: '腾讯QQ 9.9.12.26299 → 9.9.15.27597 (winget)', severity: 'low', requiresReboot: false });
    expect(u[6]!.title).toBe('Notepad++ (64-bit x64) < 8.6.9 → 8.7 (winget)');
    expect(u.every((x) => x.severity === 'low' && !x.requiresReboot)).toBe(true); // winget rates nothing
    valid(u);
  });

  it('nothing to upgrade is an empty list; anything else unreadable is a failed scan', () => {
    expect(parseWingetUpgrade(fixture('winget-upgrade-none.txt'))).toEqual([]);
    expect(parseWingetUpgrade('No applicable upgrade found.\r\n')).toEqual([]);
    expect(parseWingetUpgrade('Unrecognized command: \'upgrade\'\r\nwinget v1.0.0\r\n')).toBeNull();
  });
});

describe('softwareupdate --list', () => {
  it('macOS 10.15+: label=version, Recommended and restart flags, security responses important', () => {
    expect(parseSoftwareUpdateList(fixture('softwareupdate-list.txt'))).toEqual([
      { externalId: 'macOS Sonoma 14.6.1-23G93=14.6.1', title: 'macOS Sonoma 14.6.1 (1409 MB, restart)', severity: 'important', requiresReboot: true },
      { externalId: 'Safari17.6SonomaAuto-17.6=17.6', title: 'Safari 17.6 (154 MB)', severity: 'moderate', requiresReboot: false },
      { externalId: 'Command Line Tools for Xcode-15.3=15.3', title: 'Command Line Tools for Xcode 15.3 (691 MB)', severity: 'moderate', requiresReboot: false },
      { externalId: 'macOS Sonoma 14.6.1 (a)-23G93a=14.6.1a', title: 'Rapid Security Response macOS Sonoma 14.6.1 (a) (103 MB, restart)', severity: 'important', requiresReboot: true },
      { externalId: 'macOS Sequoia 15.0-24A335=15.0', title: 'macOS Sequoia 15.0 (6426 MB, restart)', severity: 'low', requiresReboot: true }, // not recommended: a major upgrade
    ]);
  });

  it('the older format ([recommended] [restart]), nothing available, and an unreadable answer', () => {
    expect(parseSoftwareUpdateList(fixture('softwareupdate-list-legacy.txt'))).toEqual([
      { externalId: 'Security Update 2019-004-10.13.6=10.13.6', title: 'Security Update 2019-004 10.13.6 (restart)', severity: 'important', requiresReboot: true },
      { externalId: 'Safari12.1.1HighSierraAuto-12.1.1=12.1.1', title: 'Safari 12.1.1', severity: 'moderate', requiresReboot: false },
      { externalId: 'iTunesX-12.8.2=12.8.2', title: 'iTunes 12.8.2', severity: 'low', requiresReboot: false },
    ]);
    expect(parseSoftwareUpdateList('Software Update Tool\n\nFinding available software\n\nNo new software available.\n')).toEqual([]);
    expect(parseSoftwareUpdateList('softwareupdate: unrecognized option `--lst\'\n')).toBeNull();
  });
});

describe('installed software', () => {
  it('Windows: the registry Uninstall keys as JSON (one object or an array)', () => {
    const s = parseWindowsSoftware(fixture('windows-software.json'));
    expect(s).toHaveLength(7);
    expect(s[0]).toEqual({ name: 'Mozilla Firefox (x64 en-US)', version: '128.0.3', publisher: 'Mozilla' });
    expect(s.find((x) => x.name === 'Dentrix G7')).toEqual({ name: 'Dentrix G7', version: '', publisher: null });
    expect(parseWindowsSoftware('{"DisplayName":"7-Zip","DisplayVersion":"24.08","Publisher":"Igor Pavlov"}')).toEqual([{ name: '7-Zip', version: '24.08', publisher: 'Igor Pavlov' }]);
    expect(parseWindowsSoftware('')).toEqual([]);
  });

  it('macOS: system_profiler SPApplicationsDataType -json, publisher from Apple or the Developer ID', () => {
    expect(parseSystemProfilerApps(fixture('system-profiler-apps.json'))).toEqual([
      { name: 'Safari', version: '17.6', publisher: 'Apple' },
      { name: 'Firefox', version: '130.0.1', publisher: 'Mozilla Corporation' },
      { name: 'Microsoft Teams', version: '24215.1007.3082.1590', publisher: 'Microsoft Corporation' },
      { name: 'Slack', version: '4.39.95', publisher: null },
      { name: 'legacy-backup-helper', version: '', publisher: null },
    ]);
  });
});
