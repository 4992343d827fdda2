/**
 * The first statement of a long background worker's source (the integrity check: about 2 s of CPU at a million audit
 * entries): the thread lowers its own scheduling priority, so that on a busy or small machine (a one-vCPU VM, a server
 * pinned to a core) the kernel gives request handling nearly all of the CPU while the check runs, instead of half.
 * Linux only: there a thread's nice value is its own (setpriority on "this process" changes only the calling thread);
 * on macOS and Windows the same call would lower the whole process.
 */
export const YIELD_TO_REQUESTS = `if (process.platform === 'linux') { try { require('node:os').setPriority(19); } catch {} }`;
