/**
 * Whether a process with this pid exists, for rows in the shared database owned by a server
 * process (two clients on one machine run two servers): rows of a dead owner are recovered (the rule: InstanceIdentity.ownerIsGone).
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
