/**
 * Whether a process with this pid exists, for rows in the shared database owned by a server
 * process (two clients on one machine run two servers): rows of a dead owner are recovered.
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether a row's owner is gone, seen by the owner instance `self`: another instance in this very
 * process (a restarted server in tests) or a process that no longer exists. Rows written before
 * owners were recorded (pid null) count as gone.
 */
export function ownerIsGone(owner: { pid: number | null; instance: string | null }, self: string): boolean {
  if (owner.pid === null) return true;
  return owner.instance !== self && (owner.pid === process.pid || !processIsAlive(owner.pid));
}
