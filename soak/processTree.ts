// The language server and the processes under it, read from /proc (Linux): who they are (device
// host, Tint host, probe) and their resident memory. RSS counts pages shared between processes
// (the Dawn library) once per process, as `ps` does.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessMemory {
  pid: number;
  ppid: number;
  /** 'server', 'deviceHost webgpu 1', 'tintHost', 'probe', or the command's first words. */
  role: string;
  rssMiB: number;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // it exited between the listing and the read
  }
}

function parentOf(pid: number): number | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

function rssOf(pid: number): number | undefined {
  const status = readProc(pid, 'status');
  const match = status === undefined ? null : /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

function roleOf(pid: number): string {
  const args = (readProc(pid, 'cmdline') ?? '').split('\0').filter((a) => a !== '');
  const script = args.findIndex((a) => /(deviceHost|tintHost|probe|server)\.js$/.test(a));
  if (script < 0) return args.slice(0, 2).join(' ') || `pid ${pid}`;
  const name = (args[script] ?? '').replace(/^.*\//, '').replace(/\.js$/, '');
  // A device host's role is its backend and device (`deviceHost webgpu 0`); its options (the
  // message rings' paths and sizes) name this run's files, not the role.
  const operands = args.slice(script + 1).filter((a) => !a.startsWith('--'));
  return name === 'deviceHost' ? ['deviceHost', ...operands].join(' ') : name;
}

/** `root` and every process below it, root first; an empty list once root has exited. */
export function processTree(root: number): ProcessMemory[] {
  const rootRss = rssOf(root);
  if (rootRss === undefined) return [];
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid !== undefined) parents.set(pid, ppid);
  }
  const result: ProcessMemory[] = [{ pid: root, ppid: parents.get(root) ?? 0, role: 'server', rssMiB: rootRss }];
  const inTree = new Set([root]);
  // Children before grandchildren: repeat until no process joins (the tree is shallow).
  for (let added = true; added;) {
    added = false;
    for (const [pid, ppid] of parents) {
      if (inTree.has(pid) || !inTree.has(ppid)) continue;
      const rss = rssOf(pid);
      inTree.add(pid);
      added = true;
      if (rss !== undefined) result.push({ pid, ppid, role: roleOf(pid), rssMiB: rss });
    }
  }
  return result;
}
