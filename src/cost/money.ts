/** "$5.00", "$0.0375", "$0.000375": enough digits that small amounts never read as zero. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0.00';
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  const digits = Math.abs(usd) >= 0.01 ? 4 : 6;
  let s = usd.toFixed(digits);
  while (s.endsWith('0') && s.split('.')[1]!.length > 2) s = s.slice(0, -1);
  return `$${s}`;
}
