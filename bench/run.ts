// `npm run bench`: each benchmark prints the figures its issue names. `npm run bench -- NAME` runs one.
const BENCHES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  stdio: () => import('./stdio.js'),
  graders: () => import('./graders.js'),
  ledger: () => import('./ledger.js'),
  agents: () => import('./agents.js'),
  reliability: () => import('./reliability.js'),
  alerts: () => import('./alerts.js'),
  ratelimit: () => import('./ratelimit.js'),
  import: () => import('./import.js'),
  predict: () => import('./predict.js'),
  immune: () => import('./immune.js'),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await (await load()).run();
}
