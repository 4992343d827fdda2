// Static data for the demo MSP fleet: tenants, device specs, hardware models, software, alerts, patches, scripts.
// seed.ts combines these with a seeded PRNG; nothing here is random.

export type Os = 'windows' | 'macos' | 'linux';
export type Role = 'ws' | 'srv';
export type HwClass = 'desktop' | 'laptop' | 'server' | 'tower' | 'nuc' | 'mac' | 'vm';
export type Hypervisor = 'hyperv' | 'vmware' | 'proxmox';
export type SerialKind = 'dell' | 'hp' | 'lenovo' | 'apple' | 'asus' | 'vmware' | 'hyperv' | 'none';
export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type PatchSeverity = 'critical' | 'important' | 'moderate' | 'low';

export interface Platform { os: Os; versions: string[]; sw: string }
export interface HwModel {
  mfr: string; model: string; cpu: string; cores: number; mem: number[]; disks: number[];
  /** Primary NIC name on Windows and on Linux. */
  nic: [string, string];
  serial: SerialKind; oui: string; bios?: string;
  /** Extra Windows software this hardware implies (guest tools). */
  winSw?: string[];
}
export interface DeviceSpec { host: string; group: string; platform: PlatformKey; hw: HwClass; tags: string[]; sw: string[] }
export interface TenantSpec {
  slug: string; name: string; domain: string; subnet: string; hv: Hypervisor; createdDaysAgo: number; alerts: number;
  devices: DeviceSpec[];
  window: { name: string; days: number[]; startMinute: number; durationMinutes: number };
  incidents: { title: string; severity: 'p1' | 'p2' | 'p3' | 'p4'; status: 'open' | 'monitoring'; hoursAgo: number }[];
}
export interface AlertTemplate {
  sev: AlertSeverity; title: string; msg: string; fix: string; n: [number, number];
  os?: Os[]; role?: Role; tag?: string; hw?: HwClass; online?: true;
  /** 'disk-free': n is % free on the primary volume; 'disk-used': n is % used. */
  disk?: 'free' | 'used';
}
export interface PatchSpec {
  ext: string; title: string; os: Os; sev: PatchSeverity; reboot: boolean; daysAgo: number;
  applies: RegExp;
  /** Present when the patch is an OS version: devices whose os_version matches already have it. */
  current?: RegExp;
}
export interface ScriptSpec { tenant: string | null; name: string; description: string; language: 'powershell' | 'bash' | 'python'; body: string }

export const PLATFORMS = {
  'w11-23h2': { os: 'windows', versions: ['Windows 11 Pro 23H2'], sw: 'win-ws' },
  'w11-24h2': { os: 'windows', versions: ['Windows 11 Pro 24H2'], sw: 'win-ws' },
  ws2022: { os: 'windows', versions: ['Windows Server 2022 Standard'], sw: 'win-srv' },
  sonoma: { os: 'macos', versions: ['macOS Sonoma 14.6.1', 'macOS Sonoma 14.7', 'macOS Sonoma 14.7.1'], sw: 'mac' },
  sequoia: { os: 'macos', versions: ['macOS Sequoia 15.0.1', 'macOS Sequoia 15.1', 'macOS Sequoia 15.1.1'], sw: 'mac' },
  ubuntu22: { os: 'linux', versions: ['Ubuntu 22.04.5 LTS'], sw: 'ubuntu22' },
  ubuntu24: { os: 'linux', versions: ['Ubuntu 24.04.1 LTS'], sw: 'ubuntu24' },
  debian12: { os: 'linux', versions: ['Debian GNU/Linux 12 (bookworm)'], sw: 'debian12' },
} satisfies Record<string, Platform>;
export type PlatformKey = keyof typeof PLATFORMS;

const XEON_4314 = 'Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz';
export const HARDWARE: Record<Exclude<HwClass, 'vm'>, HwModel[]> & { vm: Record<Hypervisor, HwModel> } = {
  desktop: [
    { mfr: 'Dell Inc.', model: 'OptiPlex 7010', cpu: '13th Gen Intel(R) Core(TM) i5-13500', cores: 14, mem: [16, 32], disks: [512], nic: ['Ethernet', 'eno1'], serial: 'dell', oui: 'B0:7B:25', bios: 'Dell Inc. 1.18.0' },
    { mfr: 'HP', model: 'HP EliteDesk 800 G9 Small Form Factor PC', cpu: '12th Gen Intel(R) Core(TM) i5-12500', cores: 6, mem: [16], disks: [256], nic: ['Ethernet', 'eno1'], serial: 'hp', oui: '3C:52:82', bios: 'HP U21 Ver. 02.17.00' },
    { mfr: 'LENOVO', model: 'ThinkCentre M90q Gen 4', cpu: '13th Gen Intel(R) Core(TM) i7-13700T', cores: 16, mem: [16, 32], disks: [512], nic: ['Ethernet', 'eno1'], serial: 'lenovo', oui: '8C:16:45', bios: 'LENOVO M4CKT3AA' },
  ],
  laptop: [
    { mfr: 'Dell Inc.', model: 'Latitude 5440', cpu: '13th Gen Intel(R) Core(TM) i5-1345U', cores: 10, mem: [16], disks: [512], nic: ['Wi-Fi', 'wlp0s20f3'], serial: 'dell', oui: 'B0:7B:25', bios: 'Dell Inc. 1.15.1' },
    { mfr: 'HP', model: 'HP EliteBook 840 14 inch G10 Notebook PC', cpu: '13th Gen Intel(R) Core(TM) i7-1365U', cores: 10, mem: [16, 32], disks: [512], nic: ['Wi-Fi', 'wlp0s20f3'], serial: 'hp', oui: '3C:52:82', bios: 'HP V70 Ver. 01.06.00' },
    { mfr: 'LENOVO', model: 'ThinkPad T14 Gen 4', cpu: '13th Gen Intel(R) Core(TM) i7-1355U', cores: 10, mem: [16, 32], disks: [1024], nic: ['Wi-Fi', 'wlp0s20f3'], serial: 'lenovo', oui: '8C:16:45', bios: 'LENOVO R2FET56W (1.36)' },
  ],
  server: [
    { mfr: 'Dell Inc.', model: 'PowerEdge R650xs', cpu: XEON_4314, cores: 16, mem: [128, 256], disks: [480, 3840], nic: ['Embedded NIC 1', 'eno12399'], serial: 'dell', oui: 'B0:26:28', bios: 'Dell Inc. 1.13.2' },
  ],
  tower: [
    { mfr: 'Dell Inc.', model: 'PowerEdge T150', cpu: 'Intel(R) Xeon(R) E-2314 CPU @ 2.80GHz', cores: 4, mem: [32], disks: [480, 8000], nic: ['Ethernet', 'eno8303'], serial: 'dell', oui: 'B0:26:28', bios: 'Dell Inc. 1.9.1' },
  ],
  nuc: [
    { mfr: 'ASUSTeK COMPUTER INC.', model: 'NUC13ANHi5', cpu: '13th Gen Intel(R) Core(TM) i5-1340P', cores: 12, mem: [16], disks: [512], nic: ['Ethernet', 'enp86s0'], serial: 'asus', oui: '48:21:0B', bios: 'ANRPL357.0031.2024.0207.1420' },
  ],
  mac: [
    { mfr: 'Apple Inc.', model: 'MacBook Pro (14-inch, Nov 2023)', cpu: 'Apple M3 Pro', cores: 11, mem: [18, 36], disks: [512], nic: ['en0', 'en0'], serial: 'apple', oui: '3C:A6:F6' },
    { mfr: 'Apple Inc.', model: 'MacBook Pro (16-inch, 2021)', cpu: 'Apple M1 Pro', cores: 10, mem: [16, 32], disks: [1000], nic: ['en0', 'en0'], serial: 'apple', oui: '3C:A6:F6' },
    { mfr: 'Apple Inc.', model: 'MacBook Air (13-inch, M2, 2022)', cpu: 'Apple M2', cores: 8, mem: [8, 16], disks: [256], nic: ['en0', 'en0'], serial: 'apple', oui: '3C:A6:F6' },
    { mfr: 'Apple Inc.', model: 'MacBook Air (15-inch, M3, 2024)', cpu: 'Apple M3', cores: 8, mem: [16, 24], disks: [512], nic: ['en0', 'en0'], serial: 'apple', oui: '3C:A6:F6' },
  ],
  vm: {
    hyperv: { mfr: 'Microsoft Corporation', model: 'Virtual Machine', cpu: XEON_4314, cores: 4, mem: [8, 16], disks: [127, 500], nic: ['Ethernet', 'eth0'], serial: 'hyperv', oui: '00:15:5D', bios: 'Microsoft Corporation Hyper-V UEFI Release v4.1' },
    vmware: { mfr: 'VMware, Inc.', model: 'VMware7,1', cpu: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', cores: 4, mem: [8, 16], disks: [100, 500], nic: ['Ethernet0', 'ens192'], serial: 'vmware', oui: '00:50:56', bios: 'VMware, Inc. VMW71.00V.21100432.B64.2301110304', winSw: ['VMware Tools;12.4.5.23787635;VMware, Inc.'] },
    proxmox: { mfr: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)', cpu: 'AMD EPYC 7313P 16-Core Processor', cores: 4, mem: [8, 16], disks: [64, 250], nic: ['Ethernet', 'ens18'], serial: 'none', oui: 'BC:24:11', bios: 'SeaBIOS rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org', winSw: ['QEMU guest agent;107.0.1;Red Hat, Inc.', 'Virtio-win-driver-installer;0.1.262;Red Hat, Inc.'] },
  },
};

// "name;version;publisher"; a leading '?' marks a package only some devices have.
const MS = 'Microsoft Corporation';
const UB = 'Ubuntu Developers';
export const SOFTWARE: Record<string, string[]> = {
  'win-ws': [
    'Google Chrome;131.0.6778.86;Google LLC', `Microsoft Edge;131.0.2903.70;${MS}`,
    `Microsoft 365 Apps for business - en-us;16.0.18129.20158;${MS}`, `Microsoft Teams;24295.605.3225.8804;${MS}`,
    'Adobe Acrobat Reader (64-bit);24.004.20272;Adobe', '7-Zip 24.08 (x64);24.08;Igor Pavlov',
    `Microsoft Visual C++ 2015-2022 Redistributable (x64);14.40.33810.0;${MS}`,
    '?Zoom Workplace (64-bit);6.2.11.53769;Zoom Video Communications, Inc.', '?Notepad++ (64-bit x64);8.7.1;Notepad++ Team',
    '?VLC media player;3.0.21;VideoLAN', '?Mozilla Firefox (x64 en-US);132.0.2;Mozilla', `?Microsoft OneDrive;24.201.1006.0005;${MS}`,
    '?Java 8 Update 431 (64-bit);8.0.4310.10;Oracle Corporation', `?Microsoft Windows Desktop Runtime - 8.0.11 (x64);8.0.11.34221;${MS}`,
    '?Greenshot 1.2.10.6;1.2.10.6;Greenshot',
  ],
  'win-srv': [
    `Microsoft Edge;131.0.2903.70;${MS}`, `Microsoft Edge WebView2 Runtime;131.0.2903.70;${MS}`,
    '7-Zip 24.08 (x64);24.08;Igor Pavlov', '?Notepad++ (64-bit x64);8.7.1;Notepad++ Team',
    `PowerShell 7-x64;7.4.6.0;${MS}`, `Microsoft Visual C++ 2015-2022 Redistributable (x64);14.40.33810.0;${MS}`,
    'Veeam Agent for Microsoft Windows;6.2.0.121;Veeam Software Group GmbH', `Microsoft .NET Runtime - 8.0.11 (x64);8.0.11.34221;${MS}`,
    '?Google Chrome;131.0.6778.86;Google LLC', `?Windows Admin Center;2.4.2311.0;${MS}`,
  ],
  mac: [
    'Google Chrome;131.0.6778.86;Google LLC', `Microsoft Word;16.91;${MS}`, `Microsoft Excel;16.91;${MS}`, `Microsoft Outlook;16.91;${MS}`,
    `Microsoft Teams;24295.606.3238.6194;${MS}`, `Microsoft Defender;101.24092.0004;${MS}`, '1Password;8.10.54;AgileBits Inc.',
    `?Microsoft PowerPoint;16.91;${MS}`, '?Zoom Workplace;6.2.11.43613;Zoom Video Communications, Inc.',
    '?Slack;4.41.105;Slack Technologies, LLC', '?Adobe Acrobat Reader;24.004.20272;Adobe Inc.', `?Microsoft OneDrive;24.204.1013;${MS}`,
  ],
  ubuntu22: [
    `openssh-server;1:8.9p1-3ubuntu0.10;${UB}`, `openssl;3.0.2-0ubuntu1.18;${UB}`, `curl;7.81.0-1ubuntu1.18;${UB}`,
    `sudo;1.9.9-1ubuntu2.4;${UB}`, `systemd;249.11-0ubuntu3.12;${UB}`, `python3;3.10.6-1~22.04.1;${UB}`,
    'linux-image-5.15.0-125-generic;5.15.0-125.135;Canonical Kernel Team', `unattended-upgrades;2.8ubuntu1;${UB}`,
    `?rsyslog;8.2112.0-2ubuntu2.2;${UB}`, `?vim;2:8.2.3995-1ubuntu2.21;${UB}`, `?htop;3.0.5-7build2;${UB}`,
  ],
  ubuntu24: [
    `openssh-server;1:9.6p1-3ubuntu13.5;${UB}`, `openssl;3.0.13-0ubuntu3.4;${UB}`, `curl;8.5.0-2ubuntu10.5;${UB}`,
    `sudo;1.9.15p5-3ubuntu5;${UB}`, `systemd;255.4-1ubuntu8.4;${UB}`, `python3;3.12.3-0ubuntu2;${UB}`,
    'linux-image-6.8.0-48-generic;6.8.0-48.48;Canonical Kernel Team', `unattended-upgrades;2.9.1+nmu4ubuntu1;${UB}`,
    `?rsyslog;8.2312.0-3ubuntu9;${UB}`, `?vim;2:9.1.0016-1ubuntu7.4;${UB}`, `?htop;3.3.0-4build1;${UB}`,
  ],
  debian12: [
    'openssh-server;1:9.2p1-2+deb12u3;Debian', 'openssl;3.0.15-1~deb12u1;Debian', 'curl;7.88.1-10+deb12u8;Debian',
    'sudo;1.9.13p3-1+deb12u1;Debian', 'systemd;252.31-1~deb12u1;Debian', 'python3;3.11.2-1+b1;Debian',
    'linux-image-6.1.0-26-amd64;6.1.112-1;Debian', 'unattended-upgrades;2.9.1+nmu3;Debian',
    '?rsyslog;8.2302.0-1;Debian', '?vim;2:9.0.1378-2;Debian', '?htop;3.2.2-2;Debian',
  ],
};

/** Line-of-business software on each tenant's Windows workstations. */
export const TENANT_WS_SOFTWARE: Record<string, string[]> = {
  'acme-dental': ['Dentrix;24.3.0.1;Henry Schein One', 'DEXIS Imaging Suite;10.4.2;DEXIS', `Microsoft ODBC Driver 17 for SQL Server;17.10.6.1;${MS}`],
  'northwind-legal': ['Worldox GX4;4.9.2;World Software Corporation', 'Clio Launcher;2.4.1;Themis Solutions Inc.', '?PDF-XChange Editor;10.4.2.390;PDF-XChange Co Ltd', '?Cisco Secure Client - AnyConnect VPN;5.1.6.103;Cisco Systems, Inc.'],
  'globex-logistics': ['SAP GUI for Windows 8.00;8.00.10;SAP SE', 'Zebra Setup Utilities;1.1.9.1325;Zebra Technologies', '?BarTender 2022 R8;11.3.8.222;Seagull Scientific'],
};

const SQL2019 = [`Microsoft SQL Server 2019 (64-bit);15.0.4395.2;${MS}`, `SQL Server Management Studio;20.2.30.0;${MS}`];
const NGINX24 = [`nginx;1.24.0-2ubuntu7.1;${UB}`, `certbot;2.9.0-1;${UB}`];
const DOCKER24 = ['docker-ce;5:27.3.1-1~ubuntu.24.04~noble;Docker Inc.', 'docker-ce-cli;5:27.3.1-1~ubuntu.24.04~noble;Docker Inc.', 'containerd.io;1.7.23-1;Docker Inc.', 'docker-compose-plugin;2.29.7-1~ubuntu.24.04~noble;Docker Inc.'];

const d = (host: string, group: string, platform: PlatformKey, hw: HwClass, tags: string[] = [], sw: string[] = []): DeviceSpec =>
  ({ host, group, platform, hw, tags, sw });

export const TENANTS: TenantSpec[] = [
  {
    slug: 'acme-dental', name: 'Acme Dental Group', domain: 'acmedental.com', subnet: '192.168.10', hv: 'hyperv', createdDaysAgo: 720, alerts: 14,
    devices: [
      d('ACME-FD-WS01', 'Front Desk', 'w11-24h2', 'desktop'), d('ACME-FD-WS02', 'Front Desk', 'w11-23h2', 'desktop'),
      d('ACME-OP-WS01', 'Operatories', 'w11-23h2', 'desktop'), d('ACME-OP-WS02', 'Operatories', 'w11-23h2', 'desktop'),
      d('ACME-OP-WS03', 'Operatories', 'w11-24h2', 'desktop'), d('ACME-OP-WS04', 'Operatories', 'w11-24h2', 'desktop'),
      d('ACME-DR-MBP01', 'Workstations', 'sonoma', 'mac'), d('ACME-OM-MBA01', 'Workstations', 'sequoia', 'mac'),
      d('ACME-DC01', 'Servers', 'ws2022', 'vm', ['dc']),
      d('ACME-DTX-SQL01', 'Servers', 'ws2022', 'server', ['sql'], [...SQL2019, 'Dentrix Server;24.3.0.1;Henry Schein One']),
      d('ACME-IMG-LNX01', 'Servers', 'ubuntu22', 'tower', [], [`orthanc;1.10.1+dfsg-1;${UB}`, `postgresql-14;14.13-0ubuntu0.22.04.1;${UB}`]),
      d('ACME-BKP-LNX02', 'Servers', 'debian12', 'tower', ['backup'], ['restic;0.14.0-1+b5;Debian', 'rsync;3.2.7-1;Debian', 'smartmontools;7.3-1+b1;Debian']),
    ],
    window: { name: 'Weekend overnight patching', days: [6, 0], startMinute: 120, durationMinutes: 240 },
    incidents: [
      { title: 'Operatory PCs intermittently lose connection to the Dentrix database', severity: 'p2', status: 'monitoring', hoursAgo: 30 },
      { title: 'Phishing email reported by front desk (invoice lure)', severity: 'p3', status: 'open', hoursAgo: 5 },
    ],
  },
  {
    slug: 'northwind-legal', name: 'Northwind Legal LLP', domain: 'northwindlegal.com', subnet: '10.20.1', hv: 'vmware', createdDaysAgo: 540, alerts: 13,
    devices: [
      d('NWL-ATY-WS01', 'Attorneys', 'w11-24h2', 'laptop'), d('NWL-ATY-WS02', 'Attorneys', 'w11-24h2', 'laptop'),
      d('NWL-ATY-WS03', 'Attorneys', 'w11-23h2', 'desktop'), d('NWL-ATY-MBP04', 'Attorneys', 'sequoia', 'mac'),
      d('NWL-PL-WS01', 'Paralegals', 'w11-23h2', 'desktop'), d('NWL-PL-WS02', 'Paralegals', 'w11-23h2', 'desktop'),
      d('NWL-RMT-MBA01', 'Remote', 'sonoma', 'mac'),
      d('NWL-DC01', 'Servers', 'ws2022', 'server', ['dc'], [`Microsoft Entra Connect Sync;2.4.27.0;${MS}`]),
      d('NWL-FS01', 'Servers', 'ws2022', 'vm', ['files']),
      d('NWL-WDX01', 'Servers', 'ws2022', 'vm', ['sql'], ['Worldox GX4 Server;4.9.2;World Software Corporation', `Microsoft SQL Server 2019 Express;15.0.4395.2;${MS}`]),
      d('NWL-VPN-LNX01', 'Servers', 'ubuntu24', 'vm', ['vpn'], [`wireguard-tools;1.0.20210914-1ubuntu4;${UB}`, `fail2ban;1.0.2-3ubuntu0.1;${UB}`]),
      d('NWL-WEB-LNX02', 'Servers', 'debian12', 'vm', ['web'], ['nginx;1.22.1-9;Debian', 'certbot;2.1.0-4;Debian']),
    ],
    window: { name: 'Wednesday evening maintenance', days: [3], startMinute: 1320, durationMinutes: 180 },
    incidents: [
      { title: 'Worldox indexing service crashing on NWL-WDX01', severity: 'p2', status: 'open', hoursAgo: 20 },
      { title: 'Remote attorneys report VPN drops every ~30 minutes', severity: 'p3', status: 'monitoring', hoursAgo: 70 },
    ],
  },
  {
    slug: 'globex-logistics', name: 'Globex Logistics', domain: 'globexlogistics.com', subnet: '10.30.8', hv: 'proxmox', createdDaysAgo: 400, alerts: 13,
    devices: [
      d('GLX-WH-WS01', 'Warehouse', 'w11-23h2', 'desktop'), d('GLX-WH-WS02', 'Warehouse', 'w11-24h2', 'desktop'),
      d('GLX-WH-LNX03', 'Warehouse', 'ubuntu22', 'nuc', ['docker'], ['docker-ce;5:27.3.1-1~ubuntu.22.04~jammy;Docker Inc.', 'containerd.io;1.7.23-1;Docker Inc.', `mosquitto;2.0.11-1ubuntu1.1;${UB}`]),
      d('GLX-WH-LNX04', 'Warehouse', 'debian12', 'nuc', ['print'], ['cups;2.4.2-3+deb12u8;Debian', 'cups-filters;1.28.17-3+deb12u1;Debian']),
      d('GLX-OF-WS01', 'Office', 'w11-24h2', 'laptop'), d('GLX-OF-WS02', 'Office', 'w11-24h2', 'laptop'),
      d('GLX-OF-MBP03', 'Office', 'sonoma', 'mac'), d('GLX-DSP-WS01', 'Dispatch', 'w11-23h2', 'desktop'),
      d('GLX-DC01', 'Servers', 'ws2022', 'vm', ['dc']),
      d('GLX-ERP-SQL01', 'Servers', 'ws2022', 'server', ['sql'], SQL2019),
      d('GLX-WEB-LNX01', 'Servers', 'ubuntu24', 'vm', ['web'], NGINX24),
      d('GLX-DOCK-LNX02', 'Servers', 'ubuntu24', 'vm', ['docker'], DOCKER24),
    ],
    window: { name: 'Sunday early-morning patching', days: [0], startMinute: 240, durationMinutes: 120 },
    incidents: [
      { title: 'Warehouse handheld scanners cannot post picks to ERP', severity: 'p1', status: 'open', hoursAgo: 3 },
      { title: 'Nightly backup of GLX-ERP-SQL01 failing', severity: 'p2', status: 'open', hoursAgo: 40 },
    ],
  },
];

export const ALERT_TEMPLATES: AlertTemplate[] = [
  { sev: 'critical', title: 'Disk space below 10% on C:', msg: 'C: on {host} has {n}% free space left (threshold 10%). Largest folders: C:\\Windows\\SoftwareDistribution, C:\\Users.', fix: 'Cleared the Windows Update download cache and temp files; C: back above 30% free.', n: [2, 9], os: ['windows'], disk: 'free' },
  { sev: 'critical', title: 'Backup job failed', msg: 'Veeam Agent job "{host} nightly" failed: the backup repository is unreachable (The network path was not found). Last successful backup {n} days ago.', fix: 'NAS share was offline after a firmware update; re-enabled the share and re-ran the job successfully.', n: [2, 6], os: ['windows'], role: 'srv' },
  { sev: 'critical', title: 'Root filesystem above 95%', msg: '/ on {host} is {n}% used; /var/log is the largest consumer.', fix: 'Vacuumed journald to 500 MB and removed rotated logs; / now 61% used.', n: [95, 99], os: ['linux'], disk: 'used' },
  { sev: 'high', title: 'SMART predictive failure on disk 0', msg: 'Disk 0 on {host} reports Reallocated_Sector_Ct = {n}; SMART overall status: predictive failure. Plan a replacement.', fix: 'Drive replaced under warranty; RAID rebuild completed.', n: [8, 64], role: 'srv', os: ['windows', 'linux'] },
  { sev: 'high', title: 'Service stopped: Print Spooler', msg: 'The Print Spooler service on {host} stopped unexpectedly; {n} automatic restart attempts failed.', fix: 'Cleared stuck jobs from the spool folder and restarted the Spooler service.', n: [2, 3], os: ['windows'], role: 'ws' },
  { sev: 'high', title: 'Multiple failed logons', msg: '{n} failed logons (Event ID 4625) for account "administrator" on {host} in the last 15 minutes.', fix: 'Source was a multifunction printer with stale scan-to-folder credentials; credentials updated.', n: [25, 140], os: ['windows'], role: 'srv' },
  { sev: 'high', title: 'BitLocker protection suspended', msg: 'BitLocker on C: of {host} has been suspended for {n} days; the drive is not protected at rest.', fix: 'Resumed protection with Resume-BitLocker after the BIOS update completed.', n: [3, 12], os: ['windows'], role: 'ws' },
  { sev: 'high', title: 'nginx service down', msg: 'nginx.service failed on {host} (exit code 1); HTTPS check on port 443 failing for {n} minutes.', fix: 'A new vhost file had a syntax error; reverted it and reloaded nginx.', n: [4, 30], tag: 'web' },
  { sev: 'medium', title: 'Antivirus definitions out of date', msg: 'Microsoft Defender security intelligence on {host} is {n} days old (threshold 3 days).', fix: 'Forced a signature update; definitions current.', n: [4, 15], os: ['windows', 'macos'] },
  { sev: 'medium', title: 'High CPU usage', msg: 'CPU on {host} has averaged {n}% for the last 30 minutes.', fix: 'A stuck indexing process was restarted; CPU back under 20%.', n: [88, 99], online: true },
  { sev: 'medium', title: 'TLS certificate expiring', msg: 'The certificate for portal.{domain} served by {host} expires in {n} days.', fix: 'Renewed the certificate and reloaded the web service.', n: [5, 21], tag: 'web' },
  { sev: 'medium', title: 'Pending reboot for updates', msg: '{host} has had a pending reboot for {n} days; installed updates are not active until it restarts.', fix: 'Rebooted during the maintenance window.', n: [5, 20], os: ['windows'] },
  { sev: 'medium', title: 'Available memory low', msg: 'Available memory on {host} has been below 5% for {n} minutes.', fix: 'Browser with 60+ tabs closed after talking to the user; memory normal.', n: [15, 90], online: true },
  { sev: 'low', title: 'Uptime over 30 days', msg: '{host} has not been restarted for {n} days.', fix: 'Restarted in the maintenance window.', n: [31, 94] },
  { sev: 'low', title: 'macOS update deferred', msg: 'A macOS security update for {host} has been deferred {n} times by the user.', fix: 'User installed the update after a reminder.', n: [2, 7], os: ['macos'] },
  { sev: 'low', title: 'Local Administrator account enabled', msg: 'The built-in Administrator account on {host} is enabled; policy expects it disabled ({n} logons this month).', fix: 'Disabled the account; LAPS-managed admin is used instead.', n: [0, 4], os: ['windows'], role: 'ws' },
  { sev: 'low', title: 'Clock drift detected', msg: 'The clock on {host} is {n} seconds out of sync with the time source.', fix: 'Resynced time and fixed the NTP server setting.', n: [40, 300] },
  { sev: 'info', title: 'RMM agent updated', msg: 'The monitoring agent on {host} updated itself to version 6.4.{n}.', fix: 'Informational.', n: [1, 9] },
  { sev: 'info', title: 'New software installed', msg: 'Zoom Workplace 6.2.11 was installed on {host} by a local user ({n} MB).', fix: 'Approved software; no action needed.', n: [180, 260], os: ['windows', 'macos'], role: 'ws' },
  { sev: 'info', title: 'Device back online', msg: '{host} reconnected after {n} minutes offline.', fix: 'Informational.', n: [6, 180], online: true },
];

export const PATCHES: PatchSpec[] = [
  { ext: 'KB5044284', title: 'Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5044284)', os: 'windows', sev: 'critical', reboot: true, daysAgo: 35, applies: /24H2/ },
  { ext: 'KB5044285', title: 'Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5044285)', os: 'windows', sev: 'critical', reboot: true, daysAgo: 35, applies: /23H2/ },
  { ext: 'KB5044281', title: 'Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5044281)', os: 'windows', sev: 'critical', reboot: true, daysAgo: 35, applies: /Server 2022/ },
  { ext: 'KB5044033', title: 'Cumulative Update for .NET Framework 3.5 and 4.8.1 for Windows 11 (KB5044033)', os: 'windows', sev: 'important', reboot: false, daysAgo: 35, applies: /Windows 11/ },
  { ext: 'KB5044029', title: 'Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 for Microsoft server operating system version 21H2 (KB5044029)', os: 'windows', sev: 'important', reboot: true, daysAgo: 35, applies: /Server 2022/ },
  { ext: 'KB4052623', title: 'Update for Microsoft Defender Antivirus antimalware platform - KB4052623 (Version 4.18.24090.11)', os: 'windows', sev: 'moderate', reboot: false, daysAgo: 20, applies: /Windows/ },
  { ext: 'KB890830', title: 'Windows Malicious Software Removal Tool x64 - v5.129 (KB890830)', os: 'windows', sev: 'low', reboot: false, daysAgo: 35, applies: /Windows/ },
  { ext: 'macOS-15.1.1', title: 'macOS Sequoia 15.1.1', os: 'macos', sev: 'important', reboot: true, daysAgo: 12, applies: /Sequoia/, current: /15\.1\.1$/ },
  { ext: 'macOS-14.7.1', title: 'macOS Sonoma 14.7.1', os: 'macos', sev: 'important', reboot: true, daysAgo: 40, applies: /Sonoma/, current: /14\.7\.1$/ },
  { ext: 'Safari-18.1.1', title: 'Safari 18.1.1', os: 'macos', sev: 'moderate', reboot: false, daysAgo: 12, applies: /macOS/ },
  { ext: 'USN-7088-1', title: 'Linux kernel security update (linux-image-generic)', os: 'linux', sev: 'critical', reboot: true, daysAgo: 18, applies: /Ubuntu/ },
  { ext: 'DSA-5782-1', title: 'Linux kernel security update (linux-image-amd64 6.1.115-1)', os: 'linux', sev: 'critical', reboot: true, daysAgo: 14, applies: /Debian/ },
  { ext: 'CVE-2024-6387', title: 'OpenSSH "regreSSHion" remote code execution in sshd (openssh-server)', os: 'linux', sev: 'critical', reboot: false, daysAgo: 140, applies: /./ },
  { ext: 'CVE-2024-6119', title: 'OpenSSL denial of service in X.509 name checks (openssl, libssl3)', os: 'linux', sev: 'important', reboot: false, daysAgo: 70, applies: /./ },
  { ext: 'CVE-2024-9681', title: 'curl HSTS subdomain overwrite (curl, libcurl4)', os: 'linux', sev: 'low', reboot: false, daysAgo: 9, applies: /./ },
];

export const SCRIPTS: ScriptSpec[] = [
  { tenant: null, name: 'Clear temp files', language: 'powershell', description: 'Deletes files older than 7 days from the user and Windows temp folders and reports the space freed.', body: String.raw`$cutoff = (Get-Date).AddDays(-7)
$freed = 0
foreach ($path in @($env:TEMP, "$env:SystemRoot\Temp")) {
  Get-ChildItem -LiteralPath $path -Recurse -Force -File -ErrorAction SilentlyContinue |
    Where-Object { $_.LastWriteTime -lt $cutoff } |
    ForEach-Object {
      $size = $_.Length
      try { Remove-Item -LiteralPath $_.FullName -Force -ErrorAction Stop; $freed += $size } catch { }
    }
}
"Freed {0:N1} MB" -f ($freed / 1MB)
` },
  { tenant: null, name: 'Restart Print Spooler', language: 'powershell', description: 'Stops the spooler, clears stuck jobs and starts it again.', body: String.raw`Stop-Service -Name Spooler -Force
Remove-Item -Path "$env:SystemRoot\System32\spool\PRINTERS\*" -Force -ErrorAction SilentlyContinue
Start-Service -Name Spooler
Get-Service -Name Spooler | Select-Object Name, Status
` },
  { tenant: null, name: 'Get BitLocker status', language: 'powershell', description: 'Lists BitLocker protection and encryption state for every volume.', body: String.raw`Get-BitLockerVolume |
  Select-Object MountPoint, VolumeStatus, ProtectionStatus, EncryptionPercentage, EncryptionMethod |
  Format-Table -AutoSize
` },
  { tenant: 'acme-dental', name: 'Restart Dentrix services', language: 'powershell', description: 'Restarts every Windows service whose display name starts with Dentrix.', body: String.raw`$services = Get-Service -DisplayName 'Dentrix*' -ErrorAction SilentlyContinue
if (-not $services) { Write-Error 'No Dentrix services found'; exit 1 }
$services | Restart-Service -Force -PassThru | Select-Object Name, DisplayName, Status
` },
  { tenant: null, name: 'Check disk usage', language: 'bash', description: 'Shows usage of real filesystems and flags any above the threshold (default 90%).', body: String.raw`#!/usr/bin/env bash
set -euo pipefail
threshold=90
if [ $# -gt 0 ]; then threshold=$1; fi
df -hP -x tmpfs -x devtmpfs -x squashfs -x overlay |
  awk -v t="$threshold" 'NR == 1 { print; next } { use = $5; sub("%", "", use); print $0 (use + 0 >= t ? "  <-- above " t "%" : "") }'
` },
  { tenant: null, name: 'Restart nginx', language: 'bash', description: 'Validates the nginx configuration, restarts the service and confirms it is active.', body: String.raw`#!/usr/bin/env bash
set -euo pipefail
nginx -t
systemctl restart nginx
systemctl is-active --quiet nginx
echo "nginx active since $(systemctl show -p ActiveEnterTimestamp --value nginx)"
` },
  { tenant: 'globex-logistics', name: 'Clear CUPS print queue', language: 'bash', description: 'Cancels all queued label jobs and restarts CUPS on the warehouse print server.', body: String.raw`#!/usr/bin/env bash
set -euo pipefail
echo "Jobs queued before: $(lpstat -o | wc -l)"
cancel -a -x
systemctl restart cups
echo "Jobs queued after: $(lpstat -o | wc -l)"
lpstat -p
` },
  { tenant: null, name: 'Collect installed packages', language: 'python', description: 'Prints installed packages (dpkg or rpm) as JSON.', body: String.raw`#!/usr/bin/env python3
"""Print installed packages as a JSON list of {name, version}."""
import json
import shutil
import subprocess

if shutil.which("dpkg-query"):
    cmd = ["dpkg-query", "-W"]
elif shutil.which("rpm"):
    cmd = ["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"]
else:
    raise SystemExit("no supported package manager (dpkg or rpm) found")

out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
packages = []
for line in out.splitlines():
    name, _, version = line.partition("\t")
    packages.append({"name": name, "version": version})
print(json.dumps(sorted(packages, key=lambda p: p["name"]), indent=2))
` },
  { tenant: null, name: 'Check certificate expiry', language: 'python', description: 'Connects to host[:port] targets and reports days until the TLS certificate expires; exit 1 if under 14 days.', body: String.raw`#!/usr/bin/env python3
"""Usage: check_cert.py host[:port] ...  (default localhost:443)"""
import socket
import ssl
import sys
import time


def days_left(host, port):
    ctx = ssl.create_default_context()
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            not_after = tls.getpeercert()["notAfter"]
    return int((ssl.cert_time_to_seconds(not_after) - time.time()) // 86400)


status = 0
for target in sys.argv[1:] or ["localhost"]:
    host, _, port = target.partition(":")
    try:
        days = days_left(host, int(port or 443))
        print(f"{target}: {days} days left")
        if days < 14:
            status = max(status, 1)
    except OSError as exc:
        print(f"{target}: error: {exc}")
        status = 2
sys.exit(status)
` },
];
